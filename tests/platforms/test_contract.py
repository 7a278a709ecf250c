"""One contract suite, run against every platform client over its own sandbox.

A platform is done when it passes: complete walks however pages are cut, filters that agree
with an unfiltered walk, deleted rows by default, one upstream call per warm page, and every
failure translated into our error types.

Each platform runs three ways: the bare client over the in-process transport; the client
inside the resilient wrapper, built by production's wiring (``build_clients``) from a
configuration, in-process; and the same over real sockets, the sandbox served by uvicorn on
127.0.0.1 with an ephemeral port and the configuration written by ``gateway sandbox
--write-config`` pointing at it. The sandboxes answer status filters from their own tables
(transcribed from the platforms' docs), so "a filter agrees with the unfiltered walk" checks
the client's push-down against the platform's meaning, not against itself.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.app import build_clients
from gateway.config import load_settings
from gateway.errors import (
    MalformedResponseError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamUnavailableError,
)
from gateway.platforms.base import (
    AccountRef,
    AdPlatform,
    AdSetQuery,
    AdSetRecord,
    AdSetStatus,
    Platform,
)
from gateway.platforms.inprocess import TransportUpstream
from gateway.resilience.client import ResilienceState
from gateway.sandbox.control import FaultKind, SandboxControl
from gateway.sandbox.suite import PREFIXES, SandboxSuite
from gateway.sandbox.transport import SandboxTransport
from tests.loopback import on_loopback

PLATFORMS = ["meta", "tiktok", "apple"]
MODES = ["bare", "resilient", "socket"]
BASE = "http://sandbox.test"
PLATFORM_OF = {
    "meta": Platform.META_ADS,
    "tiktok": Platform.TIKTOK_ADS,
    "apple": Platform.APPLE_ADS,
}


@cache
def seed_of(name: str) -> Any:
    return importlib.import_module(f"gateway.sandbox.{name}").build_seed()


@dataclass
class Harness:
    client: AdPlatform
    control: SandboxControl
    seed: Any
    #: Calls one failure takes: the resilient client retries up to its max attempts.
    attempts: int = 1

    @property
    def large(self) -> AccountRef:
        account: AccountRef = self.seed.large_account
        return account

    def fail(self, kind: FaultKind) -> None:
        """Make the next call fail with ``kind`` however often the client retries it (an
        Apple page may take two upstream requests an attempt)."""
        self.control.fail_next(self.attempts if self.attempts == 1 else 2 * self.attempts, kind)


@asynccontextmanager
async def production_client(
    platform: Platform,
    app: Starlette,
    control: SandboxControl,
    seed: Any,
    tmp: Path,
    *,
    sockets: bool,
) -> AsyncIterator[tuple[AdPlatform, int]]:
    """The platform's client as production builds it: ``gateway sandbox --write-config``'s
    configuration for the sandbox (served on a loopback port when ``sockets``, else reached
    in-process), loaded and wired by ``build_clients``."""
    async with (
        on_loopback(app) if sockets else _in_process() as base_url,
        _wired(platform, app, control, seed, base_url, tmp, sockets) as built,
    ):
        yield built


@asynccontextmanager
async def _in_process() -> AsyncIterator[str]:
    yield BASE


@asynccontextmanager
async def _wired(
    platform: Platform,
    app: Starlette,
    control: SandboxControl,
    seed: Any,
    base_url: str,
    tmp: Path,
    sockets: bool,
) -> AsyncIterator[tuple[AdPlatform, int]]:
    suite = SandboxSuite(
        controls={platform: control},
        accounts={p: list(seed.accounts) if p is platform else [] for p in Platform},
        app=app,
        seeds={platform: seed},
    )
    config = tmp / "sandbox.toml"
    config.write_text(suite.config_toml(base_url), encoding="utf-8")
    settings = load_settings(config, {})
    transport = None if sockets else SandboxTransport(app)
    clients, pools = build_clients(settings, transport, ResilienceState())
    try:
        yield clients[platform], settings.platforms[platform].max_attempts
    finally:
        for client in clients.values():
            await client.aclose()
        for http in pools:
            await http.aclose()


@pytest.fixture(params=[(p, m) for m in MODES for p in PLATFORMS], ids="-".join)
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    name, mode = request.param
    module = importlib.import_module(f"gateway.sandbox.{name}")
    seed = seed_of(name)
    control = SandboxControl()
    platform = PLATFORM_OF[name]
    app = Starlette(routes=[Mount(PREFIXES[platform], app=module.create_app(seed, control))])
    if mode == "bare":
        async with TransportUpstream(SandboxTransport(app)) as http:
            client = module.client_for(http, f"{BASE}{PREFIXES[platform]}")
            yield Harness(client, control, seed)
            await client.aclose()
    else:
        sockets = mode == "socket"
        async with production_client(platform, app, control, seed, tmp_path, sockets=sockets) as (
            client,
            attempts,
        ):
            yield Harness(client, control, seed, attempts)


async def walk(
    h: Harness, account: AccountRef, query: AdSetQuery, counts: list[int], keep: float = 1.0
) -> list[AdSetRecord]:
    """Walk an account with page sizes cycling through ``counts``, consuming ``keep`` of each
    page (at least one row) before resuming from that row."""
    rows: list[AdSetRecord] = []
    start: str | None = None
    for step in range(10_000):
        count = counts[step % len(counts)]
        page = await h.client.list_adsets(account, query, start=start, count=count)
        assert len(page.resume_points) == len(page.rows) + 1
        assert len(page.rows) <= count
        used = max(1, int(len(page.rows) * keep)) if page.rows else 0
        rows.extend(page.rows[:used])
        start = page.resume_after(used)
        if start is None:
            assert used == len(page.rows)
            return rows
        assert page.rows, "an empty page must end the walk"
    raise AssertionError("walk did not end")


async def test_full_walk_returns_every_ad_set_once_in_platform_order(harness: Harness) -> None:
    rows = await walk(harness, harness.large, AdSetQuery(), [200])
    ids = [r.external_id for r in rows]
    assert len(ids) == len(set(ids))
    assert ids == harness.seed.adset_ids(harness.large.external_id)
    assert len(ids) >= 1200
    times = [t for r in rows for t in (r.start_time, r.end_time, r.created_at) if t is not None]
    assert times
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)


@pytest.mark.parametrize(
    ("counts", "keep"), [([7, 200, 13, 1, 150], 0.5), ([1000], 1.0), ([3], 0.34)]
)
async def test_partial_pages_resume_without_gaps_or_duplicates(
    harness: Harness, counts: list[int], keep: float
) -> None:
    account = harness.large if counts != [3] else harness.seed.accounts[-1]
    full = await walk(harness, account, AdSetQuery(), [200])
    rows = await walk(harness, account, AdSetQuery(), [min(c, 200) for c in counts], keep)
    assert [r.external_id for r in rows] == [r.external_id for r in full]


async def test_deleted_rows_are_included_by_default(harness: Harness) -> None:
    rows = await walk(harness, harness.large, AdSetQuery(), [200])
    assert any(r.status is AdSetStatus.DELETED for r in rows)
    assert any(r.status is AdSetStatus.ACTIVE for r in rows)
    assert any(r.status is AdSetStatus.PAUSED for r in rows)


STATUS_SETS = [
    {AdSetStatus.ACTIVE},
    {AdSetStatus.DELETED},
    {AdSetStatus.PAUSED},
    {AdSetStatus.ACTIVE, AdSetStatus.PAUSED},
    {AdSetStatus.ARCHIVED, AdSetStatus.IN_REVIEW, AdSetStatus.REJECTED, AdSetStatus.DELETED},
]


@pytest.mark.parametrize("statuses", STATUS_SETS, ids=lambda s: "+".join(sorted(s)))
async def test_status_filter_agrees_with_the_unfiltered_walk(
    harness: Harness, statuses: set[AdSetStatus]
) -> None:
    full = await walk(harness, harness.large, AdSetQuery(), [200])
    query = AdSetQuery(statuses=frozenset(statuses))
    rows = await walk(harness, harness.large, query, [200, 37], keep=0.7)
    expected = [r.external_id for r in full if r.status in statuses]
    assert [r.external_id for r in rows] == expected
    first = await harness.client.list_adsets(harness.large, query, start=None, count=5)
    assert first.total in (None, len(expected))


async def test_campaign_filter_agrees_with_the_unfiltered_walk(harness: Harness) -> None:
    full = await walk(harness, harness.large, AdSetQuery(), [200])
    campaign = full[len(full) // 2].campaign_external_id
    query = AdSetQuery(campaign_external_id=campaign)
    rows = await walk(harness, harness.large, query, [4])
    expected = [r.external_id for r in full if r.campaign_external_id == campaign]
    assert [r.external_id for r in rows] == expected
    page = await harness.client.list_adsets(harness.large, query, start=None, count=200)
    assert page.total == len(expected)


async def test_unfiltered_total_is_exact(harness: Harness) -> None:
    page = await harness.client.list_adsets(harness.large, AdSetQuery(), start=None, count=10)
    assert page.total == len(harness.seed.adset_ids(harness.large.external_id))


async def test_a_warm_client_makes_one_upstream_call_per_page(harness: Harness) -> None:
    first = await harness.client.list_adsets(harness.large, AdSetQuery(), start=None, count=200)
    before = len(harness.control.log.entries)
    await harness.client.list_adsets(
        harness.large, AdSetQuery(), start=first.resume_after(150), count=200
    )
    assert len(harness.control.log.entries) - before == 1


async def test_campaigns_are_batched_and_unknown_ids_are_absent(harness: Harness) -> None:
    page = await harness.client.list_adsets(harness.large, AdSetQuery(), start=None, count=200)
    wanted = sorted({r.campaign_external_id for r in page.rows})
    before = len(harness.control.log.entries)
    campaigns = await harness.client.get_campaigns(harness.large, [*wanted, "999999999999"])
    assert sorted(campaigns) == wanted
    assert all(c.external_id == k for k, c in campaigns.items())
    assert len(harness.control.log.entries) - before <= max(1, -(-len(wanted) // 50))


async def test_account_info_has_currency(harness: Harness) -> None:
    info = await harness.client.get_account(harness.large)
    assert len(info.currency) == 3
    assert info.external_id == harness.large.external_id


FAULTS: list[tuple[FaultKind, type[UpstreamError]]] = [
    ("500", UpstreamUnavailableError),
    ("throttle", RateLimitedError),
    ("malformed", MalformedResponseError),
    ("drop", UpstreamUnavailableError),
]


@pytest.mark.parametrize(("kind", "error"), FAULTS)
async def test_faults_become_typed_errors(
    harness: Harness, kind: FaultKind, error: type[UpstreamError]
) -> None:
    await harness.client.list_adsets(harness.large, AdSetQuery(), start=None, count=1)  # warm
    harness.fail(kind)
    with pytest.raises(error) as info:
        await harness.client.list_adsets(harness.large, AdSetQuery(), start=None, count=10)
    assert info.value.account_id == harness.large.external_id
    assert info.value.platform == harness.client.platform.value


async def test_throttle_carries_the_platforms_wait_when_it_gives_one(harness: Harness) -> None:
    await harness.client.list_adsets(harness.large, AdSetQuery(), start=None, count=1)
    harness.fail("throttle")
    with pytest.raises(RateLimitedError) as info:
        await harness.client.list_adsets(harness.large, AdSetQuery(), start=None, count=10)
    if harness.client.platform.value != "tiktok_ads":  # TikTok documents no wait
        assert info.value.retry_after is not None
        assert info.value.retry_after > 0


async def test_wrong_credentials_are_an_auth_error(harness: Harness) -> None:
    bad = dict.fromkeys(harness.large.credentials, "wrong")
    if "private_key_pem" in bad:  # Apple: a valid key that is not the registered one
        other = ec.generate_private_key(ec.SECP256R1())
        bad = dict(harness.large.credentials)
        bad["private_key_pem"] = other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    account = replace(harness.large, credentials=bad)
    with pytest.raises(UpstreamAuthError):
        await harness.client.list_adsets(account, AdSetQuery(), start=None, count=10)
