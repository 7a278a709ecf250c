"""After an outage longer than every cache, each platform's accounts answer again within one
breaker cool-down: the probe let through must be able to succeed on its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from gateway.platforms.base import Platform
from gateway.platforms.readahead import ReadAhead
from gateway.resilience.client import ResilientPlatform
from gateway.sandbox.suite import SandboxSuite
from tests.apps import gateway_with_deadline
from tests.gateway.conftest import ADSETS, AUTH


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def app(suite: SandboxSuite) -> AsyncIterator[Starlette]:
    async with gateway_with_deadline(suite, 2.0) as app:
        yield app


def resilient(app: Starlette, platform: Platform) -> ResilientPlatform:
    """The app's resilient client of ``platform``, under the read-ahead that wraps it."""
    client = app.state.runtime.clients[platform]
    if isinstance(client, ReadAhead):
        client = client.inner
    assert isinstance(client, ResilientPlatform)
    return client


def breaker_clock(app: Starlette, platform: Platform) -> Clock:
    """Drive the process-wide breaker and throttle state with a clock the test moves."""
    client = resilient(app, platform)
    clock = Clock()
    client.state.breakers.clock = clock
    client.state.throttles.clock = clock
    return clock


@pytest.mark.parametrize("platform", list(Platform))
async def test_an_account_answers_again_within_one_cooldown_after_a_long_outage(
    suite: SandboxSuite, app: Starlette, platform: Platform
) -> None:
    # given a fresh gateway (every cache cold, as after an outage longer than the caches)
    # whose platform fails every call until an account's circuit is open
    clock = breaker_clock(app, platform)
    breakers = resilient(app, platform).state.breakers
    keys = [(platform.value, a.external_id) for a in suite.accounts[platform]]
    params = {"platforms": platform.value, "limit": "5"}
    suite.controls[platform].fail_next(100_000, "500")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as http:
        for _ in range(10):
            failing = await http.get(ADSETS, params=params, headers=AUTH)
            assert failing.status_code == 502
            if any(breakers.state(k) == "open" for k in keys):
                break
        assert any(breakers.state(k) == "open" for k in keys)
        # when the platform heals and one cool-down passes
        suite.reset()
        clock.now += breakers.cooldown + 1
        recovered = await http.get(ADSETS, params=params, headers=AUTH)
        # then the probe succeeds, the page is served and every circuit is closed
        assert recovered.status_code == 200, recovered.text
        assert recovered.json()["items"]
        assert all(breakers.state(k) == "closed" for k in keys)
