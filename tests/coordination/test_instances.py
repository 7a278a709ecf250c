"""Two gateway apps on one coordination state behave as one gateway towards the platforms:
a throttle seen by one is honoured by the other, and a call budget holds across both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.coordination import Coordinator
from gateway.platforms.base import Platform
from gateway.platforms.factory import CallBudget
from gateway.sandbox.suite import SandboxSuite
from tests.gateway.conftest import ADSETS, AUTH, KEY

META_ONLY = {"platforms": "meta_ads", "limit": "5"}


async def start(
    suite: SandboxSuite, coordinator: Coordinator, settings: Settings
) -> AsyncIterator[list[httpx.AsyncClient]]:
    apps = [
        create_app(settings, transport=suite.transport(), coordinator=coordinator) for _ in range(2)
    ]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")
        for app in apps
    ]
    try:
        yield clients
    finally:
        for client in clients:
            await client.aclose()
        for app in apps:
            # The coordinator is the test's: closed by its fixture, not by each app.
            runtime = app.state.runtime
            for platform_client in runtime.clients.values():
                await platform_client.aclose()
            for pool in runtime.http:
                await pool.aclose()
            await runtime.authenticator.aclose()
            await runtime.store.close()


@pytest.fixture
async def pair(
    suite: SandboxSuite, coordinator: Coordinator
) -> AsyncIterator[list[httpx.AsyncClient]]:
    suite.reset()
    async for clients in start(suite, coordinator, suite.settings(key=KEY)):
        yield clients
    suite.reset()


@pytest.fixture
async def budgeted_pair(
    suite: SandboxSuite, coordinator: Coordinator
) -> AsyncIterator[list[httpx.AsyncClient]]:
    suite.reset()
    settings = suite.settings(key=KEY)
    platforms = dict(settings.platforms)
    platforms[Platform.META_ADS] = replace(
        platforms[Platform.META_ADS], budget=CallBudget(calls=4, per_seconds=3600)
    )
    async for clients in start(suite, coordinator, replace(settings, platforms=platforms)):
        yield clients
    suite.reset()


async def test_a_throttle_seen_by_one_instance_means_no_call_from_the_other(
    suite: SandboxSuite, pair: list[httpx.AsyncClient]
) -> None:
    first, second = pair
    meta = suite.controls[Platform.META_ADS]
    # given the first instance met Meta's throttle (a regain time of minutes)
    meta.fail_next(1, "throttle")
    throttled = await first.get(ADSETS, params=META_ONLY, headers=AUTH)
    assert throttled.status_code == 503
    assert throttled.json()["error"]["code"] == "upstream_throttled"
    [throttled_call] = [e for e in meta.log.entries if e.fault == "throttle"]
    account = throttled_call.path.split("/")[3]
    assert account.startswith("act_")
    meta.log.clear()
    # when the second instance, which never called Meta, is asked for the same rows
    again = await second.get(ADSETS, params=META_ONLY, headers=AUTH)
    # then it answers the same 503 and Retry-After without calling the throttled account
    assert again.status_code == 503
    assert again.json()["error"]["code"] == "upstream_throttled"
    assert abs(int(again.headers["retry-after"]) - int(throttled.headers["retry-after"])) <= 1
    assert meta.log.count(account) == 0


async def test_a_call_budget_holds_across_both_instances(
    suite: SandboxSuite, budgeted_pair: list[httpx.AsyncClient]
) -> None:
    meta = suite.controls[Platform.META_ADS]
    account = suite.accounts[Platform.META_ADS][0].external_id
    # when both instances are asked, in turn, for more pages than the budget allows
    answers = [
        await budgeted_pair[i % 2].get(ADSETS, params=META_ONLY, headers=AUTH) for i in range(8)
    ]
    # then the account received exactly its budget of requests (listings and the account
    # read each instance's first listing needs), and the rest were told when to come back
    assert meta.log.count(account) == 4
    refused = [a for a in answers if a.status_code == 503]
    assert refused
    for answer in refused:
        assert answer.json()["error"]["code"] == "upstream_throttled"
        assert int(answer.headers["retry-after"]) >= 1
