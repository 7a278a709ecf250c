"""Redis unreachable: requests never fail; local state is used, with one warning per outage,
and shared state is used again once Redis answers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.app import close_runtime, create_app
from gateway.coordination import FallbackCoordinator, RedisCoordinator
from gateway.sandbox.suite import SandboxSuite
from tests.coordination.proxy import CuttableProxy
from tests.gateway.conftest import ADSETS, AUTH, KEY
from tests.loopback import closed_port

WARNINGS = "gateway.coordination"


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == WARNINGS and r.levelno == logging.WARNING
    ]


async def test_a_gateway_on_a_closed_redis_port_serves_requests_and_warns_once(
    suite: SandboxSuite, caplog: pytest.LogCaptureFixture
) -> None:
    suite.reset()
    settings = replace(suite.settings(key=KEY), redis=f"redis://127.0.0.1:{closed_port()}/0")
    app = create_app(settings, transport=suite.transport())
    caplog.set_level(logging.WARNING, logger=WARNINGS)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw.test"
        ) as http:
            answers = [
                await http.get(ADSETS, params={"limit": "5"}, headers=AUTH) for _ in range(5)
            ]
            metrics = (await http.get("/metrics")).text
    finally:
        await close_runtime(app.state.runtime)
        suite.reset()
    assert [a.status_code for a in answers] == [200] * 5
    assert len(outage_warnings(caplog)) == 1
    assert "redis unreachable" in outage_warnings(caplog)[0]
    assert "\ngateway_shared_state_degraded 1.0\n" in metrics


@pytest.fixture
async def proxy(redis_prefix: tuple[str, str]) -> AsyncIterator[CuttableProxy]:
    target = urlsplit(redis_prefix[0])
    cuttable = CuttableProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await cuttable.start()
    yield cuttable
    await cuttable.cut()


async def test_a_cut_redis_falls_back_to_local_state_and_comes_back(
    redis_prefix: tuple[str, str], proxy: CuttableProxy, caplog: pytest.LogCaptureFixture
) -> None:
    url, prefix = redis_prefix
    db = urlsplit(url).path or "/0"
    through_proxy = FallbackCoordinator(
        RedisCoordinator.from_url(f"redis://127.0.0.1:{proxy.port}{db}", prefix),
        retry_every=0.2,
    )
    direct = RedisCoordinator.from_url(url, prefix)
    caplog.set_level(logging.WARNING, logger=WARNINGS)
    try:
        # given shared state while Redis answers
        await through_proxy.set_throttled("meta_ads:act_1", time.time() + 60)
        assert (await direct.account_state("meta_ads:act_1")).throttled_until is not None
        # when the connection to Redis is cut, every call still answers, from local state
        await proxy.cut()
        for _ in range(20):
            grant = await through_proxy.take("key:k", capacity=100, per_seconds=60)
            assert grant.granted
        await through_proxy.set_throttled("meta_ads:act_2", time.time() + 60)
        assert (await through_proxy.account_state("meta_ads:act_2")).throttled_until is not None
        assert through_proxy.degraded
        assert len(outage_warnings(caplog)) == 1
        # and when Redis is back, state is shared again
        await proxy.restore()
        await asyncio.sleep(0.3)
        await through_proxy.set_throttled("meta_ads:act_3", time.time() + 60)
        assert not through_proxy.degraded
        assert (await direct.account_state("meta_ads:act_3")).throttled_until is not None
        messages = outage_warnings(caplog)
        assert len(messages) == 2
        assert "reachable again" in messages[1]
    finally:
        await through_proxy.aclose()
        await direct.aclose()
