"""Every fault of every platform, through the whole gateway: retried where a retry can help,
stated where it cannot, within the deadline, and nothing internal in a response or a log."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from gateway.platforms.base import Platform
from gateway.sandbox.control import FaultKind
from gateway.sandbox.suite import SandboxSuite
from tests.apps import gateway_with_deadline
from tests.gateway.conftest import ADSETS, AUTH

DEADLINE = 2.0
#: Listing calls one first page makes per account: Apple reads live and deleted ad groups at once.
FIRST_PAGE_CALLS = {Platform.META_ADS: 1, Platform.TIKTOK_ADS: 1, Platform.APPLE_ADS: 2}
PATHS = {
    Platform.META_ADS: "/adsets",
    Platform.TIKTOK_ADS: "/adgroup/get/",
    Platform.APPLE_ADS: "/adgroups/query",
}


@pytest.fixture
async def app(suite: SandboxSuite) -> AsyncIterator[Starlette]:
    async with gateway_with_deadline(suite, DEADLINE) as app:
        yield app


@pytest.fixture
async def http(suite: SandboxSuite, app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as client:
        # warm: tokens and account currencies cached, so a page costs one call per account;
        # account sizes forgotten, so a first page asks every account (as after a start)
        assert (await client.get(ADSETS, headers=AUTH)).status_code == 200
        forget_sizes(app)
        suite.reset()
        yield client


def forget_sizes(app: Starlette) -> None:
    """Make the next first page ask every account, so that each platform's fault is met."""
    app.state.runtime.service.forget_sizes()


def listing_calls(suite: SandboxSuite, platform: Platform) -> list[FaultKind | None]:
    """The fault (or None) of every listing call the platform received, in order."""
    return [e.fault for e in suite.controls[platform].log.entries if PATHS[platform] in e.path]


@pytest.mark.parametrize("platform", list(Platform))
@pytest.mark.parametrize("kind", ["500", "malformed", "drop"])
async def test_transient_faults_are_retried_and_the_page_is_complete(
    suite: SandboxSuite,
    app: Starlette,
    http: httpx.AsyncClient,
    platform: Platform,
    kind: FaultKind,
) -> None:
    reference = (await http.get(ADSETS, headers=AUTH)).json()
    forget_sizes(app)
    suite.reset()
    suite.controls[platform].fail_next(1, kind)
    response = await http.get(ADSETS, headers=AUTH)
    assert response.status_code == 200
    assert response.json() == reference
    calls = listing_calls(suite, platform)
    assert calls.count(kind) == 1
    assert calls.index(kind) < len(calls) - 1  # a clean call followed the fault: the retry


@pytest.mark.parametrize("platform", list(Platform))
async def test_persistent_failure_is_a_502_after_three_attempts(
    suite: SandboxSuite, http: httpx.AsyncClient, platform: Platform
) -> None:
    suite.controls[platform].fail_next(1000, "500")
    response = await http.get(ADSETS, params={"limit": "5"}, headers=AUTH)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"
    accounts = len(suite.accounts[platform])
    assert len(listing_calls(suite, platform)) == 3 * accounts * FIRST_PAGE_CALLS[platform]


async def test_tiktok_throttle_is_waited_out_once_then_retried(
    suite: SandboxSuite, http: httpx.AsyncClient
) -> None:
    suite.controls[Platform.TIKTOK_ADS].fail_next(1, "throttle")
    started = time.monotonic()
    response = await http.get(ADSETS, headers=AUTH)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started >= 0.9  # TikTok states no wait: a one-second block
    assert listing_calls(suite, Platform.TIKTOK_ADS).count("throttle") == 1


@pytest.mark.parametrize(("platform", "wait"), [(Platform.META_ADS, 300), (Platform.APPLE_ADS, 7)])
async def test_a_long_platform_wait_is_a_503_and_the_account_is_left_alone(
    suite: SandboxSuite, http: httpx.AsyncClient, platform: Platform, wait: int
) -> None:
    suite.controls[platform].fail_next(1, "throttle")
    response = await http.get(ADSETS, params={"limit": "5"}, headers=AUTH)
    assert response.status_code == 503
    body = response.json()["error"]
    assert body["code"] == "upstream_throttled"
    assert wait - 2 <= int(response.headers["retry-after"]) <= wait
    throttled = [s for s in body["sources"] if s["status"] == "throttled"]
    assert len(throttled) == 1
    # the next request calls nobody: the throttled account is left alone until its regain
    # time, and the others are not asked for rows that would be thrown away
    suite.reset()
    again = await http.get(ADSETS, params={"limit": "5"}, headers=AUTH)
    assert again.status_code == 503
    assert sum(len(c.log.entries) for c in suite.controls.values()) == 0
    assert again.json()["error"]["sources"][0]["status"] == "throttled"


@pytest.mark.parametrize("platform", list(Platform))
async def test_a_slow_body_is_cut_at_the_deadline(
    suite: SandboxSuite, http: httpx.AsyncClient, platform: Platform
) -> None:
    control = suite.controls[platform]
    control.slow_ms = 5000
    control.fail_next(1, "slow")
    started = time.monotonic()
    response = await http.get(ADSETS, params={"limit": "5"}, headers=AUTH)
    elapsed = time.monotonic() - started
    control.slow_ms = 2000
    assert response.status_code == 502
    assert elapsed < DEADLINE + 1.0
    failed = [s for s in response.json()["error"]["sources"] if s["status"] == "failed"]
    assert [s["platform"] for s in failed] == [platform.value]


@pytest.mark.parametrize("platform", [Platform.META_ADS, Platform.TIKTOK_ADS])
async def test_an_expired_token_is_not_retried(
    suite: SandboxSuite, http: httpx.AsyncClient, platform: Platform
) -> None:
    suite.controls[platform].fail_next(1, "auth")
    response = await http.get(ADSETS, params={"limit": "5"}, headers=AUTH)
    assert response.status_code == 502
    refused = [s for s in response.json()["error"]["sources"] if s["status"] == "refused"]
    assert [s["code"] for s in refused] == ["upstream_auth_failed"]
    assert listing_calls(suite, platform).count("auth") == 1


async def test_an_expired_apple_token_is_refreshed_once(
    suite: SandboxSuite, http: httpx.AsyncClient
) -> None:
    suite.controls[Platform.APPLE_ADS].fail_next(1, "auth")
    response = await http.get(ADSETS, headers=AUTH)
    assert response.status_code == 200
    log = suite.controls[Platform.APPLE_ADS].log
    assert log.count("/auth/oauth2/token") == 1


async def test_no_token_stack_trace_or_secret_in_responses_or_logs(
    suite: SandboxSuite, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [
        value
        for account in suite.all_accounts()
        for key, value in account.credentials.items()
        if key in {"access_token", "private_key_pem"}
    ]
    bodies: list[str] = []
    for platform in Platform:
        for kind in ("500", "throttle", "malformed", "drop", "auth"):
            suite.controls[platform].fail_next(2, kind)
            response = await http.get(ADSETS, params={"limit": "3"}, headers=AUTH)
            assert response.status_code in {200, 502, 503}
            bodies.append(response.text)
            suite.reset()
    graphql = await http.post(
        "/graphql", json={"query": '{ node(id: "adg_X") { id } }'}, headers=AUTH
    )
    bodies.append(graphql.text)
    everything = "\n".join(bodies + [r.getMessage() for r in caplog.records])
    for secret in secrets:
        assert secret not in everything
    assert "Traceback" not in everything
    assert "access_token=" not in everything
