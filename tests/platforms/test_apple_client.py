"""AppleClient over the in-process Apple sandbox: walks, filters, errors, call counts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.errors import (
    InvalidInputError,
    MalformedResponseError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamForbiddenError,
    UpstreamUnavailableError,
)
from gateway.observability import context
from gateway.observability.metrics import Metrics
from gateway.observability.tracing import Tracing
from gateway.platforms.apple import AppleClient
from gateway.platforms.apple import client as client_module
from gateway.platforms.apple import mapping as apple_mapping
from gateway.platforms.base import (
    AccountRef,
    AdPlatform,
    AdSetQuery,
    AdSetStatus,
    Money,
)
from gateway.platforms.inprocess import TransportUpstream
from gateway.resilience.budget import calling_account
from gateway.sandbox.apple import build_seed, client_for, create_app, sandbox_state
from gateway.sandbox.apple.seed import AppleSeed
from gateway.sandbox.control import FaultKind, SandboxControl
from gateway.sandbox.transport import SandboxTransport
from tests.gated import Gated, until

SEED = build_seed()
LARGE = SEED.large_account
SMALL = SEED.accounts[1]
ALL = AdSetQuery()


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Env:
    seed: AppleSeed
    control: SandboxControl
    client: AppleClient
    http: TransportUpstream
    app: Starlette


async def _env(quota: int | None = None) -> AsyncIterator[Env]:
    control = SandboxControl()
    sandbox = create_app(SEED, control, quota_per_minute=quota)
    root = Starlette(routes=[Mount("/apple", app=sandbox)])
    async with TransportUpstream(SandboxTransport(root)) as http:
        yield Env(SEED, control, client_for(http, "http://sandbox.test/apple"), http, root)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async for e in _env():
        yield e


def api_calls(env: Env) -> int:
    return env.control.log.count("/v1/")


def statuses(*values: AdSetStatus) -> AdSetQuery:
    return AdSetQuery(statuses=frozenset(values))


async def walk(
    client: AppleClient, account: AccountRef, query: AdSetQuery, sizes: Sequence[int]
) -> list[str]:
    """Walk the whole listing, cycling page sizes and consuming only part of some pages."""
    ids: list[str] = []
    token: str | None = None
    step = 0
    while True:
        count = sizes[step % len(sizes)]
        page = await client.list_adsets(account, query, start=token, count=count)
        assert len(page.resume_points) == len(page.rows) + 1
        # Consume every third page only partly, then resume from the matching point.
        used = len(page.rows) if step % 3 else (len(page.rows) + 1) // 2
        ids.extend(r.external_id for r in page.rows[:used])
        token = page.resume_after(used)
        step += 1
        if token is None:
            return ids


def test_client_satisfies_the_platform_protocol(env: Env) -> None:
    client: AdPlatform = env.client
    assert client.platform.value == "apple_ads"


@pytest.mark.parametrize("sizes", [[200], [7, 50, 333], [1000], [1500]])
async def test_full_walk_returns_every_id_once_in_seed_order(env: Env, sizes: list[int]) -> None:
    ids = await walk(env.client, LARGE, ALL, sizes)

    assert ids == env.seed.adset_ids(LARGE.external_id)
    assert len(ids) == 1200


async def test_default_listing_includes_deleted_rows_after_live_ones(env: Env) -> None:
    page = await env.client.list_adsets(SMALL, ALL, start=None, count=1000)

    found = [r.status for r in page.rows]
    assert AdSetStatus.DELETED in found
    first_deleted = found.index(AdSetStatus.DELETED)
    assert all(s is AdSetStatus.DELETED for s in found[first_deleted:])
    assert [r.external_id for r in page.rows] == env.seed.adset_ids(SMALL.external_id)
    # Both phases were read in this call, so the exact total is known.
    assert page.total == len(page.rows)
    assert page.resume_points[-1] is None


async def test_first_page_reads_both_phases_at_once_for_an_exact_total(env: Env) -> None:
    # Given a warm client (token and campaigns cached)
    await env.client.list_adsets(LARGE, ALL, start=None, count=100)
    env.control.log.clear()

    # When the default listing starts
    page = await env.client.list_adsets(LARGE, ALL, start=None, count=100)

    # Then the live and the deleted phase were both asked once, giving the exact total
    assert len(page.rows) == 100
    assert page.total == 1200
    assert env.control.log.by_endpoint() == {"POST /apple/v1/adgroups/query": 2}
    live = len([r for r in env.seed.data[LARGE.external_id].adgroups if not r["deleted"]])
    assert page.resume_points[0] == f"0:0;{live},{1200 - live}"
    assert page.resume_points[100] == f"0:100;{live},{1200 - live}"


async def test_later_pages_keep_the_total_from_their_token(env: Env) -> None:
    first = await env.client.list_adsets(LARGE, ALL, start=None, count=10)

    later = await env.client.list_adsets(LARGE, ALL, start=first.resume_after(4), count=10)

    assert later.total == 1200
    assert [r.external_id for r in later.rows] == env.seed.adset_ids(LARGE.external_id)[4:14]


async def test_a_page_crossing_into_deleted_rows_continues_in_the_second_phase(env: Env) -> None:
    ids = env.seed.adset_ids(LARGE.external_id)
    live = len([r for r in env.seed.data[LARGE.external_id].adgroups if not r["deleted"]])
    first = await env.client.list_adsets(LARGE, ALL, start=None, count=live - 3)
    env.control.log.clear()

    page = await env.client.list_adsets(LARGE, ALL, start=first.resume_after(live - 3), count=8)

    assert [r.external_id for r in page.rows] == ids[live - 3 : live + 5]
    assert page.resume_points[3] is not None
    assert page.resume_points[3].startswith("1:0")
    assert env.control.log.count("/v1/adgroups/query") == 2


async def test_warm_client_lists_with_exactly_one_upstream_call(env: Env) -> None:
    first = await env.client.list_adsets(LARGE, ALL, start=None, count=50)
    env.control.log.clear()

    page = await env.client.list_adsets(LARGE, ALL, start=first.resume_after(50), count=50)

    assert len(page.rows) == 50
    assert env.control.log.by_endpoint() == {"POST /apple/v1/adgroups/query": 1}


async def test_a_page_reads_its_campaigns_itself_once_a_minute(env: Env) -> None:
    # given a cold client: the first page reads the campaigns its rows name, in one query
    page = await env.client.list_adsets(LARGE, ALL, start=None, count=30)
    assert env.control.log.count("/v1/campaigns/query") == 1
    # when the same page is asked again within the minute: no campaign query at all
    again = await env.client.list_adsets(LARGE, ALL, start=None, count=30)
    assert env.control.log.count("/v1/campaigns/query") == 1
    assert again.rows == page.rows
    # then each row carries its campaign's geo and placements
    by_campaign = {r.campaign_external_id: r.targeting for r in page.rows}
    campaigns = env.seed.data[LARGE.external_id].campaigns_by_id
    for cid, targeting in by_campaign.items():
        raw = campaigns[int(cid)]["targeting"]
        assert targeting.geo == tuple(raw["countryOrRegion"]["include"])
        assert targeting.placements == tuple(p.lower() for p in raw["supplyPlacement"]["include"])


@asynccontextmanager
async def clocked(clock: Clock) -> AsyncIterator[tuple[AppleClient, SandboxControl]]:
    """A client and its sandbox sharing ``clock``, so a test can move time for both."""
    control = SandboxControl()
    app = create_app(SEED, control, clock=clock)
    async with TransportUpstream(SandboxTransport(app)) as http:
        yield (
            AppleClient(
                http,
                base_url="http://sandbox.test",
                token_url="http://sandbox.test/auth/oauth2/token",
                clock=clock,
            ),
            control,
        )


async def test_a_repeated_page_keeps_its_records_until_its_campaigns_are_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    async with clocked(clock) as (client, _):
        first = await client.list_adsets(LARGE, ALL, start=None, count=30)
        mapped: list[int] = []
        looked_up = apple_mapping.campaign_ids

        def campaign_ids(rows: list[Mapping[str, Any]]) -> list[str]:
            mapped.append(len(rows))
            return looked_up(rows)

        monkeypatch.setattr(client_module, "campaign_ids", campaign_ids)
        # when the same rows come again: they are the records of the page before, unmapped
        again = await client.list_adsets(LARGE, ALL, start=None, count=30)
        assert mapped == []
        assert [a is b for a, b in zip(again.rows, first.rows, strict=True)] == [True] * 30
        # a page of other rows is mapped
        await client.list_adsets(LARGE, ALL, start=None, count=29)
        assert mapped == [29]
        # when a campaign's countries change, and its catalog is read again (a day later)
        changed = first.rows[0].campaign_external_id
        campaign = SEED.data[LARGE.external_id].campaigns_by_id[int(changed)]
        monkeypatch.setitem(campaign["targeting"]["countryOrRegion"], "include", ["FR"])
        clock.now += 25 * 3600
        later = await client.list_adsets(LARGE, ALL, start=None, count=30)
        # then the same rows are mapped again, with the campaign as it now is
        assert mapped == [29, 30]
        assert {r.targeting.geo for r in later.rows if r.campaign_external_id == changed} == {
            ("FR",)
        }


async def test_a_cold_page_reads_its_ad_groups_and_campaigns_side_by_side(env: Env) -> None:
    # given a client with its token but no campaigns yet, and an upstream that takes a while
    await env.client.tokens.token(LARGE)
    env.control.latency_ms = 10
    gated = Gated(SandboxTransport(env.app))
    client = client_for(TransportUpstream(gated), "http://sandbox.test/apple")
    await client.tokens.token(LARGE)
    gated.events.clear()
    # when a first page is asked for
    page = await client.list_adsets(LARGE, ALL, start=None, count=30)
    # then the campaign catalog was read alongside both ad-group phases, not after them
    assert gated.overlapping("/v1/adgroups/query", "/v1/campaigns/query")
    assert gated.started("/v1/adgroups/query") == 2
    assert gated.started("/v1/campaigns/query") == 1
    assert all(r.targeting.geo for r in page.rows)


@asynccontextmanager
async def gated_clocked(clock: Clock) -> AsyncIterator[tuple[AppleClient, Gated]]:
    """A client and its sandbox sharing ``clock``, over a ``Gated`` transport."""
    gated = Gated(SandboxTransport(create_app(SEED, SandboxControl(), clock=clock)))
    async with TransportUpstream(gated) as http:
        client = AppleClient(
            http,
            base_url="http://sandbox.test",
            token_url="http://sandbox.test/auth/oauth2/token",
            clock=clock,
        )
        try:
            yield client, gated
        finally:
            await client.aclose()


async def test_after_a_minute_campaigns_are_read_again_while_pages_go_on() -> None:
    clock = Clock()
    async with gated_clocked(clock) as (client, gated):
        first = await client.list_adsets(LARGE, ALL, start=None, count=30)
        clock.now += 59
        await client.list_adsets(LARGE, ALL, start=None, count=30)
        assert gated.started("/v1/campaigns/query") == 1
        # when a page comes after the minute, while the campaign read it starts is held
        clock.now += 2
        gated.hold("/v1/campaigns/query")
        asked = asyncio.ensure_future(client.list_adsets(LARGE, ALL, start=None, count=30))
        await until(asked.done)
        page = asked.result()
        # then the page did not wait for it: its rows map with the campaigns read before
        assert gated.started("/v1/campaigns/query") == 2
        assert gated.ended("/v1/campaigns/query") == 1
        assert page.rows == first.rows
        # and the read completes in the background, for the next pages
        gated.release("/v1/campaigns/query")
        await until(lambda: gated.ended("/v1/campaigns/query") == 2)
        await client.list_adsets(LARGE, ALL, start=None, count=30)
        assert gated.started("/v1/campaigns/query") == 2


async def test_campaigns_read_more_than_a_day_ago_are_read_before_mapping() -> None:
    clock = Clock()
    async with gated_clocked(clock) as (client, gated):
        await client.list_adsets(LARGE, ALL, start=None, count=30)
        clock.now += 24 * 3600
        gated.hold("/v1/campaigns/query")
        page = asyncio.ensure_future(client.list_adsets(LARGE, ALL, start=None, count=30))
        await until(lambda: gated.ended("/v1/adgroups/query") == 4)
        await asyncio.sleep(0.01)
        assert not page.done()  # the ad groups are in; the page waits for its campaigns
        gated.release("/v1/campaigns/query")
        assert len((await page).rows) == 30
    assert gated.started("/v1/campaigns/query") == 2


@dataclass
class Refusing(httpx.AsyncBaseTransport):
    """Passes requests on to ``inner``, except that while ``refusing`` is set, a request whose
    path contains it gets a 503 (counted in ``refused``)."""

    inner: httpx.AsyncBaseTransport
    refusing: str | None = None
    refused: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.refusing is not None and self.refusing in request.url.path:
            self.refused += 1
            return httpx.Response(503, json={"error": {"errors": [{"message": "down"}]}})
        return await self.inner.handle_async_request(request)


async def test_a_failing_campaign_read_backs_off_then_is_awaited_after_ten_minutes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    refusing = Refusing(SandboxTransport(create_app(SEED, SandboxControl(), clock=clock)))
    async with TransportUpstream(refusing) as http:
        client = AppleClient(
            http,
            base_url="http://sandbox.test",
            token_url="http://sandbox.test/auth/oauth2/token",
            clock=clock,
        )
        try:
            first = await client.list_adsets(LARGE, ALL, start=None, count=30)
            read_at = clock.now
            # given campaigns that can no longer be read, once the catalog is past its minute
            refusing.refusing = "/v1/campaigns/query"
            clock.now += 61
            with caplog.at_level(logging.WARNING, logger="gateway.platforms.apple"):
                page = await client.list_adsets(LARGE, ALL, start=None, count=30)
                await until(lambda: "campaigns of account" in caplog.text)
            # then the page mapped with the old catalog, and the failed read was logged
            assert page.rows == first.rows
            assert refusing.refused == 1
            assert LARGE.external_id in caplog.text
            # when pages follow within 30 s of the failure: no read is tried for them
            for _ in range(5):
                clock.now += 5
                assert (await client.list_adsets(LARGE, ALL, start=None, count=30)).rows
                await asyncio.sleep(0.01)
            assert refusing.refused == 1
            # past 30 s, one page tries again in the background
            clock.now += 6
            assert (await client.list_adsets(LARGE, ALL, start=None, count=30)).rows
            await until(lambda: refusing.refused == 2)
            # ten minutes after the last good read, a page waits for the read and fails
            clock.now = read_at + 10 * 60
            with pytest.raises(UpstreamUnavailableError):
                await client.list_adsets(LARGE, ALL, start=None, count=30)
            assert refusing.refused == 3
            # and once campaigns can be read again, the page gets them
            refusing.refusing = None
            again = await client.list_adsets(LARGE, ALL, start=None, count=30)
            assert again.rows == first.rows
            clock.now += 1
            await client.list_adsets(LARGE, ALL, start=None, count=30)
            assert refusing.refused == 3
        finally:
            await client.aclose()


async def test_a_background_campaign_read_counts_for_no_request() -> None:
    clock = Clock()
    async with gated_clocked(clock) as (client, gated):
        await client.list_adsets(LARGE, ALL, start=None, count=30)
        clock.now += 61
        # when a request's page starts a background read of the campaigns
        scope = context.RequestScope("request", Metrics(), Tracing())
        entered = context.enter(scope)
        try:
            before = gated.started("/v1/adgroups/query")
            await client.list_adsets(LARGE, ALL, start=None, count=30)
            await until(lambda: gated.ended("/v1/campaigns/query") == 2)
        finally:
            context.leave(entered)
        # then the request counts its own ad-group queries only
        assert scope.upstream_calls == gated.started("/v1/adgroups/query") - before == 2


@dataclass
class Witness(httpx.AsyncBaseTransport):
    """Passes requests on to ``inner``, noting for each the account a resilient call was
    for (``calling_account``: the call budget it takes from) and whether a request is current."""

    inner: httpx.AsyncBaseTransport
    seen: list[tuple[str, str | None, bool]] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        in_request = context.current() is not None
        self.seen.append((request.url.path, calling_account.get(), in_request))
        return await self.inner.handle_async_request(request)


async def test_a_background_campaign_read_keeps_the_account_it_is_for() -> None:
    clock = Clock()
    witness = Witness(SandboxTransport(create_app(SEED, SandboxControl(), clock=clock)))
    async with TransportUpstream(witness) as http:
        client = AppleClient(
            http,
            base_url="http://sandbox.test",
            token_url="http://sandbox.test/auth/oauth2/token",
            clock=clock,
        )
        try:
            await client.list_adsets(LARGE, ALL, start=None, count=30)
            clock.now += 61
            entered = context.enter(context.RequestScope("request", Metrics(), Tracing()))
            account = calling_account.set(LARGE.external_id)
            try:
                await client.list_adsets(LARGE, ALL, start=None, count=30)
                await until(lambda: len(witness.seen) == 7)
            finally:
                calling_account.reset(account)
                context.leave(entered)
            # the background read is no part of the request, but still for the account
            later = [seen for seen in witness.seen[4:] if seen[0] == "/v1/campaigns/query"]
            assert later == [("/v1/campaigns/query", LARGE.external_id, False)]
        finally:
            await client.aclose()


async def test_concurrent_cold_pages_of_one_account_share_one_campaign_query(env: Env) -> None:
    # given a cold client and slow upstream answers, so that every page misses the cache
    env.control.latency_ms = 20
    # when many pages of the same account are asked for at once
    pages = await asyncio.gather(
        *(env.client.list_adsets(LARGE, ALL, start=None, count=30) for _ in range(8))
    )
    # then the campaigns they all need were read once, and every page was mapped with them
    assert env.control.log.count("/v1/campaigns/query") == 1
    assert all(p.rows == pages[0].rows for p in pages)
    assert all(r.targeting.geo for r in pages[0].rows)


async def test_a_cancelled_campaign_read_is_taken_over_by_the_pages_waiting_for_it(
    env: Env,
) -> None:
    # given a cold client whose first page is cancelled while it reads the campaigns
    env.control.latency_ms = 20
    first = asyncio.ensure_future(env.client.get_campaigns(LARGE, ["4001001100"]))
    await asyncio.sleep(0.005)
    second = asyncio.ensure_future(env.client.get_campaigns(LARGE, ["4001001100"]))
    await asyncio.sleep(0.005)
    first.cancel()
    # when the other caller goes on: it reads the campaign itself and gets it
    found = await second
    assert first.cancelled()
    assert list(found) == ["4001001100"]


@pytest.mark.parametrize(
    ("query", "allowed"),
    [
        (statuses(AdSetStatus.ACTIVE), {AdSetStatus.ACTIVE}),
        (statuses(AdSetStatus.PAUSED), {AdSetStatus.PAUSED}),
        (statuses(AdSetStatus.DELETED), {AdSetStatus.DELETED}),
        (
            statuses(AdSetStatus.ACTIVE, AdSetStatus.PAUSED),
            {AdSetStatus.ACTIVE, AdSetStatus.PAUSED},
        ),
        (
            statuses(AdSetStatus.PAUSED, AdSetStatus.DELETED, AdSetStatus.ARCHIVED),
            {AdSetStatus.PAUSED, AdSetStatus.DELETED},
        ),
    ],
)
async def test_status_filters_match_the_default_walk_restricted(
    env: Env, query: AdSetQuery, allowed: set[AdSetStatus]
) -> None:
    everything = await env.client.list_adsets(SMALL, ALL, start=None, count=1000)
    expected = [r.external_id for r in everything.rows if r.status in allowed]

    ids = await walk(env.client, SMALL, query, [4, 9])
    page = await env.client.list_adsets(SMALL, query, start=None, count=1000)

    assert ids == expected
    assert page.total == len(expected)


async def test_single_phase_filters_report_exact_totals_on_any_page(env: Env) -> None:
    page = await env.client.list_adsets(LARGE, statuses(AdSetStatus.ACTIVE), start=None, count=10)

    assert page.total is not None
    assert page.total == sum(
        1
        for r in env.seed.data[LARGE.external_id].adgroups
        if not r["deleted"] and r["status"] == "ENABLED"
    )


async def test_statuses_apple_lacks_match_nothing_without_a_call(env: Env) -> None:
    page = await env.client.list_adsets(
        LARGE, statuses(AdSetStatus.ARCHIVED, AdSetStatus.IN_REVIEW), start=None, count=10
    )

    assert (list(page.rows), list(page.resume_points), page.total) == ([], [None], 0)
    assert env.control.log.count() == 0


async def test_campaign_filter_pushes_down_and_keeps_deleted_rows(env: Env) -> None:
    rows = env.seed.data[LARGE.external_id].adgroups
    campaign = rows[0]["campaignId"]
    mine = [r for r in rows if r["campaignId"] == campaign]
    expected = [str(r["id"]) for r in mine if not r["deleted"]]
    expected += [str(r["id"]) for r in mine if r["deleted"]]

    ids = await walk(env.client, LARGE, AdSetQuery(campaign_external_id=str(campaign)), [60])

    assert ids == expected
    assert len(expected) > len([r for r in mine if not r["deleted"]])  # deleted ones included


async def test_unknown_campaign_id_matches_nothing(env: Env) -> None:
    page = await env.client.list_adsets(
        LARGE, AdSetQuery(campaign_external_id="999"), start=None, count=10
    )
    assert list(page.rows) == []
    assert page.resume_points[-1] is None


async def test_unreadable_resume_token_is_invalid_input(env: Env) -> None:
    with pytest.raises(InvalidInputError):
        await env.client.list_adsets(LARGE, ALL, start="after:12", count=10)


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("500", UpstreamUnavailableError),
        ("throttle", RateLimitedError),
        ("malformed", MalformedResponseError),
        ("drop", UpstreamUnavailableError),
    ],
)
async def test_each_fault_becomes_its_error(
    env: Env, kind: FaultKind, error: type[Exception]
) -> None:
    await env.client.get_account(LARGE)  # the token is fetched before the fault
    env.control.fail_next(1, kind)

    with pytest.raises(error) as caught:
        await env.client.list_adsets(LARGE, ALL, start=None, count=10)

    assert getattr(caught.value, "platform", None) == "apple_ads"
    assert getattr(caught.value, "account_id", None) == LARGE.external_id
    if isinstance(caught.value, RateLimitedError):
        assert caught.value.retry_after == 7
        assert caught.value.upstream_code == "RATE_LIMIT_EXCEEDED"


async def test_slow_response_still_succeeds(env: Env) -> None:
    env.control.slow_ms = 10
    env.control.fail_next(1, "slow")

    page = await env.client.list_adsets(LARGE, ALL, start=None, count=5)

    assert len(page.rows) == 5


async def test_one_rejected_token_is_refreshed_and_the_call_retried(env: Env) -> None:
    await env.client.get_account(LARGE)
    env.control.log.clear()
    env.control.fail_next(1, "auth")

    page = await env.client.list_adsets(LARGE, statuses(AdSetStatus.PAUSED), start=None, count=5)

    assert len(page.rows) == 5
    assert env.control.log.count("/oauth2/token") == 1
    assert env.control.log.count("/v1/adgroups/query") == 2


async def test_a_token_revoked_upstream_is_replaced_transparently(env: Env) -> None:
    await env.client.get_account(LARGE)
    state = sandbox_state(env.app.routes[0].app)  # type: ignore[attr-defined]
    state.revoke_all()

    page = await env.client.list_adsets(LARGE, ALL, start=None, count=5)

    assert len(page.rows) == 5


async def test_a_second_401_is_an_auth_error() -> None:
    # Given an API that rejects every token (the token endpoint itself works)
    control = SandboxControl()
    sandbox = SandboxTransport(create_app(SEED, control))
    api_calls: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if "/v1/" in request.url.path:
            api_calls.append(request.headers["authorization"])
            body = {"error": {"code": "UNAUTHORIZED", "message": "Invalid token.", "details": []}}
            return httpx.Response(401, json=body)
        return await sandbox.handle_async_request(request)

    async with TransportUpstream(httpx.MockTransport(handler)) as http:
        client = client_for(http, "http://sandbox.test")

        # When listing
        with pytest.raises(UpstreamAuthError) as caught:
            await client.list_adsets(LARGE, statuses(AdSetStatus.ACTIVE), start=None, count=5)

    # Then the call was retried once with a fresh token, then reported
    assert caught.value.upstream_code == "UNAUTHORIZED"
    assert len(api_calls) == 2
    assert api_calls[0] != api_calls[1]
    assert control.log.count("/oauth2/token") == 2


async def test_wrong_credentials_are_an_auth_error(env: Env) -> None:
    other_user = SEED.accounts[2].credentials
    account = replace(LARGE, credentials={**LARGE.credentials, "key_id": other_user["key_id"]})

    with pytest.raises(UpstreamAuthError):
        await env.client.list_adsets(account, ALL, start=None, count=5)


async def test_an_account_the_user_cannot_reach_is_forbidden(env: Env) -> None:
    account = replace(LARGE, external_id=SEED.accounts[2].external_id)

    with pytest.raises(UpstreamForbiddenError):
        await env.client.list_adsets(account, ALL, start=None, count=5)


async def test_quota_exhaustion_reports_the_platform_wait() -> None:
    async for env in _env(quota=3):
        for _ in range(3):
            await env.client.get_campaigns(LARGE, ["1"])

        with pytest.raises(RateLimitedError) as caught:
            await env.client.get_campaigns(LARGE, ["4001001100"])

        assert caught.value.retry_after is not None
        assert 0 < caught.value.retry_after <= 60


async def test_get_campaigns_batches_ids_and_includes_deleted(env: Env) -> None:
    data = env.seed.data[LARGE.external_id]
    ids = [str(c["id"]) for c in data.campaigns]

    found = await env.client.get_campaigns(LARGE, [*ids, "12345", "not-an-id"])

    assert list(found) == ids
    assert env.control.log.count("/v1/campaigns/query") == 1
    deleted = [c for c in data.campaigns if c["deleted"]]
    assert deleted
    assert found[str(deleted[0]["id"])].platform_status == "DELETED"
    first = found[ids[0]]
    assert first.daily_budget == Money(250.0, "USD")
    assert first.countries == ("US",)


async def test_get_campaigns_serves_repeats_from_its_cache(env: Env) -> None:
    ids = [str(c["id"]) for c in env.seed.data[LARGE.external_id].campaigns]
    await env.client.get_campaigns(LARGE, ids[:2])

    await env.client.get_campaigns(LARGE, ids[:2])
    await env.client.get_campaigns(LARGE, ids[:3])

    assert env.control.log.count("/v1/campaigns/query") == 2


async def test_list_campaigns_walks_all_including_deleted(env: Env) -> None:
    campaigns = await env.client.list_campaigns(LARGE)

    expected = [str(c["id"]) for c in env.seed.data[LARGE.external_id].campaigns]
    assert [c.external_id for c in campaigns] == expected
    assert any(c.platform_status == "DELETED" for c in campaigns)


async def test_get_account_is_cached_for_fifteen_minutes() -> None:
    clock = Clock()
    async with clocked(clock) as (client, control):
        assert client.cached_account(SMALL) is None
        info = await client.get_account(SMALL)
        clock.now += 14 * 60
        assert await client.get_account(SMALL) == info
        assert client.cached_account(SMALL) == info
        clock.now += 2 * 60
        assert client.cached_account(SMALL) is None
        await client.get_account(SMALL)

    assert (info.name, info.currency, info.timezone) == (
        "Acme Fitness — EU",
        "EUR",
        "Europe/Berlin",
    )
    assert control.log.count("/v1/ad-accounts/") == 2


async def test_small_upstream_page_cap_still_fills_the_page() -> None:
    async for env in _env():
        client = AppleClient(
            env.http,
            base_url="http://sandbox.test/apple",
            token_url="http://sandbox.test/apple/auth/oauth2/token",
            max_page_size=40,
        )
        page = await client.list_adsets(LARGE, ALL, start=None, count=100)

        assert len(page.rows) == 100
        # The first page of each phase (40 rows each, at once), then two more live pages.
        assert env.control.log.count("/v1/adgroups/query") == 4
        assert [r.external_id for r in page.rows] == SEED.adset_ids(LARGE.external_id)[:100]
