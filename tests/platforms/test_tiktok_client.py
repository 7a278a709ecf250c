"""TikTokClient against the in-process sandbox: walks, resumes, filters, faults, call counts."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Collection, Iterator
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.errors import (
    MalformedResponseError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamForbiddenError,
    UpstreamUnavailableError,
)
from gateway.platforms.base import AccountRef, AdPlatform, AdSetQuery, AdSetStatus, Platform
from gateway.platforms.inprocess import TransportUpstream
from gateway.platforms.tiktok import TikTokClient, status_of
from gateway.sandbox.control import FaultKind, SandboxControl
from gateway.sandbox.tiktok import TikTokSeed, build_seed, client_for, create_app
from gateway.sandbox.transport import SandboxTransport


def ids_with(seed: TikTokSeed, account: AccountRef, statuses: Collection[AdSetStatus]) -> list[str]:
    """The seeded ad groups the client's table maps into ``statuses``, in listing order."""
    return seed.adset_ids_where(account.external_id, lambda row: status_of(row)[0] in statuses)


BASE = "http://sandbox.test/tiktok"
ADGROUPS = "/adgroup/get/"
ALL = AdSetQuery()


@pytest.fixture(scope="module")
def seed() -> TikTokSeed:
    return build_seed(1200)


@pytest.fixture
def control() -> SandboxControl:
    return SandboxControl()


@pytest.fixture
async def http(seed: TikTokSeed, control: SandboxControl) -> AsyncIterator[TransportUpstream]:
    app = Starlette(routes=[Mount("/tiktok", app=create_app(seed, control))])
    async with TransportUpstream(SandboxTransport(app)) as client:
        yield client


@pytest.fixture
def client(http: TransportUpstream) -> TikTokClient:
    return client_for(http, BASE)


@pytest.fixture
def large(seed: TikTokSeed) -> AccountRef:
    return seed.large_account


async def walk(
    client: TikTokClient, account: AccountRef, query: AdSetQuery, sizes: Iterator[int]
) -> list[str]:
    """Every id, consuming each page only partly (the next size) and resuming from there."""
    ids: list[str] = []
    token: str | None = None
    while True:
        page = await client.list_adsets(account, query, start=token, count=next(sizes))
        assert len(page.resume_points) == len(page.rows) + 1
        consume = min(len(page.rows), max(1, len(page.rows) * 2 // 3))
        if page.resume_points[-1] is None:
            consume = len(page.rows)
        ids.extend(r.external_id for r in page.rows[:consume])
        token = page.resume_after(consume)
        if token is None:
            return ids


def cycle(*sizes: int) -> Iterator[int]:
    while True:
        yield from sizes


@pytest.mark.parametrize("sizes", [(200,), (1, 200, 37, 100), (7, 150, 63)])
async def test_full_walk_with_partial_consumption_returns_every_id_once_in_seed_order(
    client: TikTokClient, large: AccountRef, seed: TikTokSeed, sizes: tuple[int, ...]
) -> None:
    ids = await walk(client, large, ALL, cycle(*sizes))

    assert ids == seed.adset_ids(large.external_id)


async def test_plain_walk_ends_with_none_and_reports_the_exact_total(
    client: TikTokClient, large: AccountRef, seed: TikTokSeed
) -> None:
    ids: list[str] = []
    token: str | None = None
    totals = set()
    while True:
        page = await client.list_adsets(large, ALL, start=token, count=200)
        ids += [r.external_id for r in page.rows]
        totals.add(page.total)
        token = page.resume_points[-1]
        if token is None:
            break
    assert ids == seed.adset_ids(large.external_id)
    assert totals == {1200}
    # every intermediate resume point continues right after its row
    again = await client.list_adsets(large, ALL, start=page.resume_points[3], count=2)
    assert [r.external_id for r in again.rows] == ids[len(ids) - len(page.rows) + 3 :][:2]


async def test_deleted_rows_are_included_by_default(
    client: TikTokClient, large: AccountRef
) -> None:
    page = await client.list_adsets(large, ALL, start=None, count=1200)

    statuses = {r.status for r in page.rows}
    assert statuses == set(AdSetStatus)
    assert {r.platform_status for r in page.rows} >= {
        "ADGROUP_STATUS_DELETE",
        "ADGROUP_STATUS_CAMPAIGN_DELETE",
    }


async def test_warm_client_costs_one_upstream_call_per_listing(
    client: TikTokClient, large: AccountRef, control: SandboxControl
) -> None:
    # Given a first call that also fetched the advertiser's currency
    first = await client.list_adsets(large, ALL, start=None, count=100)
    assert control.log.count("/advertiser/info/") == 1
    control.log.clear()

    # When listing arbitrary windows afterwards
    for start, count in [(first.resume_points[37], 100), (first.resume_points[100], 200)]:
        await client.list_adsets(large, ALL, start=start, count=count)
    deleted = AdSetQuery(statuses=frozenset({AdSetStatus.DELETED}))
    await client.list_adsets(large, deleted, start=None, count=50)

    # Then each cost exactly one adgroup/get call, and no account lookup
    assert control.log.by_endpoint() == {"GET /tiktok/open_api/v1.3/adgroup/get/": 3}


async def test_a_repeated_page_is_not_decoded_again_though_its_request_id_is_new(
    client: TikTokClient, large: AccountRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await client.list_adsets(large, ALL, start=None, count=100)
    decoded: list[bytes] = []

    class CountingOrjson:
        """orjson for the gateway's HTTP module only (the sandbox in-process uses its own)."""

        JSONDecodeError = orjson.JSONDecodeError

        @staticmethod
        def loads(body: bytes) -> object:
            decoded.append(body)
            return orjson.loads(body)

    monkeypatch.setattr("gateway.platforms.http.orjson", CountingOrjson)
    looked_up: list[int] = []
    map_rows = client._mapped.map_rows

    def counting(context: Any, raws: Any, mapper: Any) -> Any:
        looked_up.append(len(raws))
        return map_rows(context, raws, mapper)

    monkeypatch.setattr(client._mapped, "map_rows", counting)
    again = await client.list_adsets(large, ALL, start=None, count=100)

    # The sandbox, like TikTok, gives every answer a request_id of its own: the rows are the
    # same, so the answer is not decoded and its rows are the records mapped before, taken
    # whole (no lookup per row).
    assert decoded == []
    assert looked_up == []
    assert [a is b for a, b in zip(again.rows, first.rows, strict=True)] == [True] * 100


async def test_cold_client_fetches_currency_alongside_the_page(
    client: TikTokClient, seed: TikTokSeed, control: SandboxControl
) -> None:
    japan = seed.accounts[2]

    page = await client.list_adsets(japan, ALL, start=None, count=5)

    assert control.log.count(ADGROUPS) == 1 and control.log.count("/advertiser/info/") == 1
    budgets = [r.daily_budget or r.lifetime_budget for r in page.rows]
    assert {b.currency for b in budgets if b is not None} == {"JPY"}


@pytest.mark.parametrize(
    "statuses",
    [
        frozenset({AdSetStatus.DELETED}),
        frozenset({AdSetStatus.PAUSED}),
        frozenset(set(AdSetStatus) - {AdSetStatus.DELETED}),
    ],
)
async def test_exact_status_filters_are_pushed_down_with_a_total(
    client: TikTokClient,
    large: AccountRef,
    seed: TikTokSeed,
    control: SandboxControl,
    statuses: frozenset[AdSetStatus],
) -> None:
    expected = ids_with(seed, large, statuses)
    query = AdSetQuery(statuses=statuses)

    page = await client.list_adsets(large, query, start=None, count=30)

    assert [r.external_id for r in page.rows] == expected[:30]
    assert page.total == len(expected)
    assert {r.status for r in page.rows} <= statuses
    assert await walk(client, large, query, cycle(45, 200)) == expected
    filtering = _filtering(_last_listing(control))
    assert filtering["primary_status"] != "STATUS_ALL"


@pytest.mark.parametrize(
    "statuses",
    [
        frozenset({AdSetStatus.ACTIVE}),
        frozenset({AdSetStatus.ARCHIVED, AdSetStatus.REJECTED}),
        frozenset({AdSetStatus.IN_REVIEW}),
    ],
)
async def test_other_status_filters_are_applied_locally_without_gaps(
    client: TikTokClient,
    large: AccountRef,
    seed: TikTokSeed,
    statuses: frozenset[AdSetStatus],
) -> None:
    expected = ids_with(seed, large, statuses)

    page = await client.list_adsets(large, AdSetQuery(statuses=statuses), start=None, count=20)
    ids = await walk(client, large, AdSetQuery(statuses=statuses), cycle(20, 7, 120))

    assert len(page.rows) == min(20, len(expected))
    assert page.total is None
    assert ids == expected


async def test_local_filter_keeps_fetching_until_count_rows_match(
    client: TikTokClient, large: AccountRef, seed: TikTokSeed, control: SandboxControl
) -> None:
    # in_review rows are rare: 20 of them need several upstream pages
    query = AdSetQuery(statuses=frozenset({AdSetStatus.IN_REVIEW}))
    expected = ids_with(seed, large, {AdSetStatus.IN_REVIEW})
    assert len(expected) > 20

    page = await client.list_adsets(large, query, start=None, count=20)

    assert [r.external_id for r in page.rows] == expected[:20]
    assert control.log.count(ADGROUPS) > 1


async def test_campaign_filter_is_pushed_down(
    client: TikTokClient, large: AccountRef, seed: TikTokSeed, control: SandboxControl
) -> None:
    rows = seed.advertisers[large.external_id].adgroups
    campaign_id = rows[0]["campaign_id"]
    expected = [r["adgroup_id"] for r in rows if r["campaign_id"] == campaign_id]

    page = await client.list_adsets(
        large, AdSetQuery(campaign_external_id=campaign_id), start=None, count=200
    )

    assert [r.external_id for r in page.rows] == expected
    assert page.total == len(expected)
    assert page.resume_points[-1] is None
    assert _filtering(_last_listing(control)) == {
        "primary_status": "STATUS_ALL",
        "campaign_ids": [campaign_id],
    }


async def test_empty_status_set_and_zero_count_make_no_call(
    client: TikTokClient, large: AccountRef, control: SandboxControl
) -> None:
    none = await client.list_adsets(large, AdSetQuery(statuses=frozenset()), start=None, count=10)
    zero = await client.list_adsets(large, ALL, start="o5", count=0)

    assert (list(none.rows), list(none.resume_points), none.total) == ([], [None], 0)
    assert (list(zero.rows), list(zero.resume_points)) == ([], ["o5"])
    assert control.log.entries == []


async def test_resume_past_the_end_is_empty(client: TikTokClient, large: AccountRef) -> None:
    page = await client.list_adsets(large, ALL, start="o1200", count=10)

    assert (list(page.rows), list(page.resume_points)) == ([], [None])


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("500", UpstreamUnavailableError),
        ("throttle", RateLimitedError),
        ("auth", UpstreamAuthError),
        ("malformed", MalformedResponseError),
        ("drop", UpstreamUnavailableError),
    ],
)
async def test_each_fault_becomes_the_right_error(
    client: TikTokClient,
    large: AccountRef,
    control: SandboxControl,
    kind: FaultKind,
    error: type[UpstreamError],
) -> None:
    await client.get_account(large)  # warm: the fault hits the listing call itself
    control.fail_next(1, kind)

    with pytest.raises(error) as info:
        await client.list_adsets(large, ALL, start=None, count=10)

    assert info.value.platform == "tiktok_ads"
    assert info.value.account_id == large.external_id
    assert "tt-sandbox" not in str(info.value)


async def test_throttle_has_no_documented_retry_after(
    client: TikTokClient, large: AccountRef, control: SandboxControl
) -> None:
    control.fail_next(1, "throttle")

    with pytest.raises(RateLimitedError) as info:
        await client.get_account(large)

    assert info.value.retry_after is None
    assert info.value.upstream_code == "40100"


async def test_slow_answers_still_arrive(
    client: TikTokClient, large: AccountRef, control: SandboxControl
) -> None:
    control.slow_ms = 20
    control.fail_next(2, "slow")

    page = await client.list_adsets(large, ALL, start=None, count=3)

    assert len(page.rows) == 3


async def test_wrong_token_is_an_auth_error(client: TikTokClient, large: AccountRef) -> None:
    bad = dataclasses.replace(large, credentials={"access_token": "not-a-token"})

    with pytest.raises(UpstreamAuthError) as info:
        await client.list_adsets(bad, ALL, start=None, count=10)

    assert "not-a-token" not in str(info.value)


async def test_missing_token_fails_before_any_call(
    client: TikTokClient, large: AccountRef, control: SandboxControl
) -> None:
    with pytest.raises(UpstreamAuthError):
        await client.get_account(dataclasses.replace(large, credentials={}))
    assert control.log.entries == []


async def test_token_of_another_advertiser_is_forbidden(
    client: TikTokClient, seed: TikTokSeed
) -> None:
    other = dataclasses.replace(seed.accounts[1], credentials=seed.accounts[2].credentials)

    with pytest.raises(UpstreamForbiddenError) as info:
        await client.list_adsets(other, ALL, start=None, count=10)

    assert info.value.upstream_code == "40001"


async def test_real_quota_throttles_with_40100(seed: TikTokSeed, large: AccountRef) -> None:
    app = create_app(seed, SandboxControl(), quota_per_second=2)
    async with TransportUpstream(SandboxTransport(app)) as http:
        client = TikTokClient(http, base_url="http://sandbox.test")
        await client.list_adsets(large, ALL, start=None, count=1)  # 2 calls: page + account

        with pytest.raises(RateLimitedError):
            await client.list_adsets(large, ALL, start=None, count=1)


async def test_get_account_is_cached_for_fifteen_minutes(
    http: TransportUpstream, large: AccountRef, control: SandboxControl
) -> None:
    now = [1000.0]
    client = TikTokClient(http, base_url=BASE, clock=lambda: now[0])

    info = await client.get_account(large)
    now[0] += 899
    await client.get_account(large)
    assert control.log.count("/advertiser/info/") == 1
    assert client.cached_account(large) == info
    now[0] += 2
    await client.get_account(large)

    assert control.log.count("/advertiser/info/") == 2
    assert (info.name, info.currency, info.timezone) == ("Acme US", "USD", "America/New_York")
    assert info.platform is Platform.TIKTOK_ADS


async def test_get_campaigns_batches_100_ids_and_includes_deleted(
    client: TikTokClient, large: AccountRef, seed: TikTokSeed, control: SandboxControl
) -> None:
    campaigns = seed.advertisers[large.external_id].campaigns
    wanted = [c["campaign_id"] for c in campaigns] + ["1"]

    found = await client.get_campaigns(large, wanted)

    assert list(found) == [c["campaign_id"] for c in campaigns]
    assert control.log.count("/campaign/get/") == -(-len(wanted) // 100)
    assert any(c.platform_status == "CAMPAIGN_STATUS_DELETE" for c in found.values())


async def test_list_campaigns_walks_all_deleted_included(
    client: TikTokClient, large: AccountRef, seed: TikTokSeed
) -> None:
    records = await client.list_campaigns(large)

    raw = seed.advertisers[large.external_id].campaigns
    assert [c.external_id for c in records] == [c["campaign_id"] for c in raw]
    cbo = next(c for c in raw if c.get("budget_optimize_on"))
    mapped = next(c for c in records if c.external_id == cbo["campaign_id"])
    assert mapped.daily_budget is not None and mapped.daily_budget.currency == "USD"


def campaign_reads(control: SandboxControl) -> list[str]:
    """``all`` (an advertiser's campaigns) or ``ids`` (by ID) for each campaign read."""
    return [
        "ids" if "campaign_ids" in unquote(e.query) else "all"
        for e in control.log.entries
        if e.path.endswith("/campaign/get/")
    ]


async def test_warmed_campaigns_are_served_without_a_call_for_a_minute(
    http: TransportUpstream, large: AccountRef, seed: TikTokSeed, control: SandboxControl
) -> None:
    now = [1000.0]
    client = TikTokClient(http, base_url=BASE, clock=lambda: now[0])
    ids = [c["campaign_id"] for c in seed.advertisers[large.external_id].campaigns]
    assert not client.campaigns_warm(large)
    # when the advertiser's campaigns are read ahead, twice at once
    await asyncio.gather(*(client.warm_campaigns(large) for _ in range(2)))
    # then that was one call, and every campaign is served from it
    assert campaign_reads(control) == ["all"]
    assert client.campaigns_warm(large)
    found = await client.get_campaigns(large, ids)
    assert list(found) == ids
    assert campaign_reads(control) == ["all"]
    assert client.cached_campaigns(large, ids) == found
    # and a minute later they are read again, by ID when named
    now[0] += 60
    assert not client.campaigns_warm(large)
    assert list(await client.get_campaigns(large, ids[:2])) == ids[:2]
    assert campaign_reads(control) == ["all", "ids"]


async def test_campaigns_past_the_first_call_of_a_warm_are_read_by_id(
    client: TikTokClient,
    large: AccountRef,
    seed: TikTokSeed,
    control: SandboxControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an advertiser with more campaigns than one call returns
    monkeypatch.setattr("gateway.platforms.tiktok.client.MAX_PAGE_SIZE", 5)
    ids = [c["campaign_id"] for c in seed.advertisers[large.external_id].campaigns]
    assert len(ids) > 5
    await client.warm_campaigns(large)
    # then the others are still found, read by ID
    found = await client.get_campaigns(large, ids)
    assert list(found) == ids
    assert campaign_reads(control) == ["all", "ids"]


async def test_a_failed_warm_is_not_remembered(
    client: TikTokClient, large: AccountRef, control: SandboxControl
) -> None:
    control.fail_next(1, "500")
    with pytest.raises(UpstreamError):
        await client.warm_campaigns(large)
    assert not client.campaigns_warm(large)
    await client.warm_campaigns(large)
    assert client.campaigns_warm(large)


async def test_malformed_rows_become_malformed_response_error(large: AccountRef) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data: dict[str, object]
        if "advertiser/info" in request.url.path:
            data = {"list": [{"advertiser_id": large.external_id, "currency": "USD"}]}
        else:
            row = {"adgroup_id": "1", "campaign_id": "2", "operation_status": "ENABLE"}
            row["budget"] = "lots"
            data = {
                "list": [row],
                "page_info": {"page": 1, "page_size": 10, "total_number": 1, "total_page": 1},
            }
        return httpx.Response(200, content=orjson.dumps({"code": 0, "data": data}))

    async with TransportUpstream(httpx.MockTransport(handler)) as http:
        client = TikTokClient(http, base_url="http://fake.test")
        with pytest.raises(MalformedResponseError):
            await client.list_adsets(large, ALL, start=None, count=10)


async def test_page_info_disagreeing_with_the_list_is_malformed(large: AccountRef) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data: dict[str, object] = {
            "list": [],
            "page_info": {"page": 1, "page_size": 10, "total_number": 50, "total_page": 5},
        }
        if "advertiser/info" in request.url.path:
            data = {"list": [{"advertiser_id": large.external_id, "currency": "USD"}]}
        return httpx.Response(200, content=orjson.dumps({"code": 0, "data": data}))

    async with TransportUpstream(httpx.MockTransport(handler)) as http:
        client = TikTokClient(http, base_url="http://fake.test")
        with pytest.raises(MalformedResponseError):
            await client.list_campaigns(large)


async def test_requests_use_the_wire_format(
    client: TikTokClient, large: AccountRef, control: SandboxControl
) -> None:
    page = await client.list_adsets(large, ALL, start=None, count=1)
    await client.list_adsets(large, ALL, start=page.resume_points[1], count=150)

    query = parse_qs(_last_listing(control))
    assert query["advertiser_id"] == [large.external_id]
    assert "adgroup_id" in orjson.loads(query["fields"][0])
    # offset 1, 150 rows: the smallest page holding rows 1..150 is page 1 of 151
    assert (query["page"], query["page_size"]) == (["1"], ["151"])


def _last_listing(control: SandboxControl) -> str:
    return [e.query for e in control.log.entries if e.path.endswith(ADGROUPS)][-1]


def _filtering(raw_query: str) -> dict[str, object]:
    value = orjson.loads(parse_qs(raw_query)["filtering"][0])
    assert isinstance(value, dict)
    return value


async def test_client_satisfies_the_platform_protocol(client: TikTokClient) -> None:
    platform: AdPlatform = client  # checked by mypy

    assert platform.platform is Platform.TIKTOK_ADS
    await platform.aclose()  # closes nothing it does not own
