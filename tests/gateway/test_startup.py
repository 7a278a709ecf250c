"""Start-up: what a first request would otherwise pay is done before it comes.

The app's lifespan (``gateway.app.running``, as uvicorn runs it for ``gateway serve`` and
``gateway demo``) opens the network pools, builds a TLS context only for https upstreams and
off the event loop, and fetches Apple's access tokens; ``/readyz`` says ready once it is over.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import ssl
import threading
from collections.abc import Sequence

import httpx
import pytest

from gateway.app import create_app, running
from gateway.platforms.apple.client import AppleClient
from gateway.platforms.base import AccountRef
from gateway.platforms.pool import NetworkUpstream
from gateway.sandbox.suite import SandboxSuite
from tests.gated import Gated, until
from tests.gateway.conftest import ADSETS, AUTH, KEY
from tests.loopback import on_loopback

TOKEN = "/apple/auth/oauth2/token"


async def test_a_fresh_apps_first_page_is_one_round_of_concurrent_calls(
    suite: SandboxSuite,
) -> None:
    # given a fresh gateway over sandboxes that take a while to answer
    suite.reset()
    for control in suite.controls.values():
        control.latency_ms = 10
    gated = Gated(suite.transport())
    app = create_app(suite.settings(key=KEY), transport=gated)
    async with (
        running(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http,
    ):
        # when start-up is over: each Apple API user has its token already
        await until(lambda: app.state.runtime.startup.done)
        assert gated.ended(TOKEN) == 2
        gated.events.clear()
        # and the first page is asked for
        response = await http.get(ADSETS, params={"limit": 100}, headers=AUTH)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 100
    # then no token was fetched for it, and every call it made was sent before any answer
    # came: Apple's campaigns alongside its ad groups, each account's details alongside its
    # listing; the page took one upstream round trip
    assert gated.started(TOKEN) == 0
    assert gated.started("/apple/v1/campaigns/query") >= 1
    first_answer = gated.events.index(next(e for e in gated.events if e[0] == "end"))
    assert all(kind == "end" for kind, _ in gated.events[first_answer:])
    suite.reset()


async def test_readyz_waits_for_the_warm_up(suite: SandboxSuite) -> None:
    suite.reset()
    gated = Gated(suite.transport())
    gated.hold(TOKEN)
    app = create_app(suite.settings(key=KEY), transport=gated)
    async with (
        running(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http,
    ):
        # while Apple's token endpoint has not answered the start-up's requests
        await until(lambda: gated.started(TOKEN) == 2)
        pending = await http.get("/readyz")
        assert pending.status_code == 503
        assert pending.json()["checks"]["startup"] == "pending"
        assert (await http.get("/healthz")).status_code == 200  # alive all the same
        # once it has
        gated.release(TOKEN)
        await until(lambda: app.state.runtime.startup.done)
        ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["startup"] == "ok"


async def test_http_upstreams_get_open_pools_and_no_tls_context(suite: SandboxSuite) -> None:
    suite.reset()
    async with on_loopback(suite.app) as base:
        app = create_app(suite.settings(base, key=KEY))  # no transport: the network pools
        startup = app.state.runtime.startup
        async with (
            running(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http,
        ):
            assert [p.opened for p in startup.pools] == [True, True, True]
            response = await http.get(ADSETS, params={"limit": 100}, headers=AUTH)
            assert response.status_code == 200
    assert startup.tls.builds == 0


async def test_https_upstreams_share_one_tls_context_built_off_the_event_loop(
    suite: SandboxSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_in: list[threading.Thread] = []
    create = httpx.create_ssl_context

    def recording() -> ssl.SSLContext:
        built_in.append(threading.current_thread())
        return create()

    monkeypatch.setattr(httpx, "create_ssl_context", recording)
    app = create_app(suite.settings("https://127.0.0.1:9", key=KEY))  # nothing listens there
    startup = app.state.runtime.startup
    async with running(app):
        assert [p.opened for p in startup.pools] == [True, True, True]
        assert all(isinstance(p, NetworkUpstream) for p in startup.pools)
    assert startup.tls.builds == 1
    assert len(built_in) == 1
    assert built_in[0] is not threading.main_thread()


def warm_up_tasks() -> list[asyncio.Task[object]]:
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not me and "warm_up" in repr(t.get_coro())]


async def test_shutdown_during_the_warm_up_stops_it(suite: SandboxSuite) -> None:
    # given a warm-up still waiting for Apple's tokens
    suite.reset()
    gated = Gated(suite.transport())
    gated.hold(TOKEN)
    app = create_app(suite.settings(key=KEY), transport=gated)
    async with running(app):
        await until(lambda: gated.started(TOKEN) == 2)
        assert warm_up_tasks()
        # when the app shuts down
    # then nothing of it runs on
    assert not [t for t in warm_up_tasks() if not t.done()]
    gated.release(TOKEN)


async def test_a_failed_warm_up_is_logged_not_left_unread(
    suite: SandboxSuite, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # given a client whose warm-up fails outright
    async def failing(self: AppleClient, accounts: Sequence[AccountRef]) -> None:
        raise RuntimeError("warm-up broke")

    monkeypatch.setattr(AppleClient, "warm_up", failing)
    suite.reset()
    app = create_app(suite.settings(key=KEY), transport=suite.transport())
    with caplog.at_level(logging.WARNING):
        async with running(app):
            await until(lambda: app.state.runtime.startup.done)
        gc.collect()
        await asyncio.sleep(0)
    # then its error is logged by start-up, and asyncio finds no exception left unread
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "never retrieved" in m]
    failed = [r for r in caplog.records if r.exc_info and "warm-up broke" in str(r.exc_info[1])]
    assert failed
