"""MetaClient over the in-process Meta sandbox, and over hand-made Graph responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.errors import (
    InvalidInputError,
    MalformedResponseError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamBadRequestError,
    UpstreamError,
    UpstreamForbiddenError,
    UpstreamNotFoundError,
    UpstreamUnavailableError,
)
from gateway.platforms.base import AccountRef, AdSetQuery, AdSetRecord, AdSetStatus, Money
from gateway.platforms.inprocess import TransportUpstream
from gateway.platforms.meta import API_VERSION, MetaClient
from gateway.platforms.meta.mapping import ADSET_FIELDS
from gateway.sandbox.control import FaultKind, SandboxControl
from gateway.sandbox.meta import build_seed, create_app
from gateway.sandbox.meta.seed import MetaSeed
from gateway.sandbox.transport import SandboxTransport

BASE = "http://sandbox.test/meta"


@cache
def seed() -> MetaSeed:
    return build_seed()


class Recorder(httpx.AsyncBaseTransport):
    """Records every request and the most requests in flight at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


@dataclass
class Env:
    client: MetaClient
    control: SandboxControl
    recorder: Recorder
    clock: list[float]

    @property
    def large(self) -> AccountRef:
        return seed().large_account

    def params(self, index: int = -1) -> dict[str, str]:
        request = self.recorder.requests[index]
        return {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}


def make_env(**app_options: Any) -> tuple[Env, TransportUpstream]:
    control = SandboxControl()
    app = Starlette(routes=[Mount("/meta", app=create_app(seed(), control, **app_options))])
    recorder = Recorder(SandboxTransport(app))
    http = TransportUpstream(recorder)
    clock = [1000.0]
    client = MetaClient(http, base_url=BASE, api_version=API_VERSION, clock=lambda: clock[0])
    return Env(client, control, recorder, clock), http


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    environment, http = make_env()
    async with http:
        yield environment
        await environment.client.aclose()


async def walk(
    env: Env, account: AccountRef, query: AdSetQuery, counts: list[int], keep: float = 1.0
) -> list[AdSetRecord]:
    rows: list[AdSetRecord] = []
    start: str | None = None
    for step in range(5000):
        page = await env.client.list_adsets(
            account, query, start=start, count=counts[step % len(counts)]
        )
        used = max(1, int(len(page.rows) * keep)) if page.rows else 0
        rows.extend(page.rows[:used])
        start = page.resume_after(used)
        if start is None:
            return rows
    raise AssertionError("walk did not end")


# -- walks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "keep"), [([200], 1.0), ([50, 137], 1.0), ([200, 9], 0.6), ([60], 0.3)]
)
async def test_walks_return_every_id_once_in_seed_order(
    env: Env, counts: list[int], keep: float
) -> None:
    rows = await walk(env, env.large, AdSetQuery(), counts, keep)

    assert [r.external_id for r in rows] == seed().adset_ids(env.large.external_id)


async def test_resuming_mid_page_refetches_from_the_page_start_in_one_call(env: Env) -> None:
    ids = seed().adset_ids(env.large.external_id)
    first = await env.client.list_adsets(env.large, AdSetQuery(), start=None, count=200)
    second = await env.client.list_adsets(
        env.large, AdSetQuery(), start=first.resume_after(200), count=200
    )
    before = len(env.recorder.requests)

    page = await env.client.list_adsets(
        env.large, AdSetQuery(), start=second.resume_after(150), count=120
    )

    assert len(env.recorder.requests) == before + 1
    params = env.params()
    assert params["limit"] == "270"  # skip 150 + count 120
    assert "after" in params
    assert [r.external_id for r in page.rows] == ids[350:470]
    assert len(page.resume_points) == len(page.rows) + 1


async def test_a_resume_past_the_upstream_maximum_continues_on_the_next_page(env: Env) -> None:
    ids = seed().adset_ids(env.large.external_id)
    first = await env.client.list_adsets(env.large, AdSetQuery(), start=None, count=200)
    before = len(env.recorder.requests)

    page = await env.client.list_adsets(
        env.large, AdSetQuery(), start=first.resume_after(199), count=400
    )

    assert [r.external_id for r in page.rows] == ids[199:599]
    assert len(env.recorder.requests) == before + 2
    assert [env.params(i)["limit"] for i in (-2, -1)] == ["500", "99"]
    resumed = await env.client.list_adsets(
        env.large, AdSetQuery(), start=page.resume_after(300), count=3
    )
    assert [r.external_id for r in resumed.rows] == ids[499:502]


async def test_the_last_page_ends_the_walk_and_an_empty_account_is_one_empty_page(
    env: Env,
) -> None:
    empty = next(a for a in seed().accounts if not seed().adset_ids(a.external_id))
    page = await env.client.list_adsets(empty, AdSetQuery(), start=None, count=50)
    assert (list(page.rows), list(page.resume_points), page.total) == ([], [None], 0)

    small = seed().accounts[-1]
    ids = seed().adset_ids(small.external_id)
    page = await env.client.list_adsets(small, AdSetQuery(), start=None, count=500)
    assert [r.external_id for r in page.rows] == ids
    assert page.resume_points[-1] is None
    assert all(p is not None for p in page.resume_points[:-1])


async def test_bad_resume_tokens_are_invalid_input(env: Env) -> None:
    with pytest.raises(InvalidInputError):
        await env.client.list_adsets(env.large, AdSetQuery(), start="garbage", count=5)


# -- requests and call budget ---------------------------------------------------------------


async def test_the_listing_request_asks_for_every_status_with_a_bearer_token(env: Env) -> None:
    await env.client.list_adsets(env.large, AdSetQuery(), start=None, count=10)

    listing = next(r for r in env.recorder.requests if r.url.path.endswith("/adsets"))
    params = {k: v[0] for k, v in parse_qs(listing.url.query.decode()).items()}
    assert listing.url.path == "/meta/v25.0/act_100231457700182/adsets"
    assert params["fields"].split(",") == list(ADSET_FIELDS)
    assert params["summary"] == "total_count"
    assert "effective_status" not in params  # the edge's parameter rejects two AdSet values
    [rule] = orjson.loads(params["filtering"])
    assert (rule["field"], rule["operator"]) == ("adset.effective_status", "IN")
    assert set(rule["value"]) >= {"ARCHIVED", "DELETED", "ACTIVE", "IN_PROCESS", "WITH_ISSUES"}
    token = env.large.credentials["access_token"]
    assert listing.headers["authorization"] == f"Bearer {token}"
    assert all(token not in str(r.url) for r in env.recorder.requests)


async def test_a_cold_client_fetches_the_account_alongside_then_one_call_per_page(
    env: Env,
) -> None:
    first = await env.client.list_adsets(env.large, AdSetQuery(), start=None, count=200)
    assert env.control.log.by_endpoint() == {
        "GET /meta/v25.0/act_100231457700182": 1,
        "GET /meta/v25.0/act_100231457700182/adsets": 1,
    }
    for k in (200, 37, 0):
        before = len(env.control.log.entries)
        await env.client.list_adsets(env.large, AdSetQuery(), start=first.resume_after(k), count=50)
        assert len(env.control.log.entries) - before == 1


async def test_a_repeated_page_is_the_records_of_the_page_before_without_a_lookup_per_row(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await env.client.list_adsets(env.large, AdSetQuery(), start=None, count=50)
    looked_up: list[int] = []
    map_rows = env.client._mapped.map_rows

    def counting(context: Any, raws: Any, mapper: Any) -> Any:
        looked_up.append(len(raws))
        return map_rows(context, raws, mapper)

    monkeypatch.setattr(env.client._mapped, "map_rows", counting)
    again = await env.client.list_adsets(env.large, AdSetQuery(), start=None, count=50)
    assert looked_up == []
    assert [a is b for a, b in zip(again.rows, first.rows, strict=True)] == [True] * 50
    # another window of the same answer is looked up row by row (and found by identity)
    fewer = await env.client.list_adsets(env.large, AdSetQuery(), start=None, count=49)
    assert looked_up == [49]
    assert [a is b for a, b in zip(fewer.rows, first.rows[:49], strict=True)] == [True] * 49


async def test_account_info_is_cached_for_fifteen_minutes(env: Env) -> None:
    assert env.client.cached_account(env.large) is None
    info = await env.client.get_account(env.large)
    assert env.client.cached_account(env.large) == info
    assert (info.currency, info.timezone, info.name) == (
        "USD",
        "America/Los_Angeles",
        "Acme Outdoor US",
    )
    env.clock[0] += 899
    await env.client.get_account(env.large)
    assert env.control.log.count("/act_", method="GET") == 1
    env.clock[0] += 2
    assert env.client.cached_account(env.large) is None
    await env.client.get_account(env.large)
    assert env.control.log.count("/act_", method="GET") == 2


# -- filters --------------------------------------------------------------------------------


async def test_deleted_and_archived_rows_are_included_by_default(env: Env) -> None:
    rows = await walk(env, env.large, AdSetQuery(), [500])
    statuses = {r.status for r in rows}
    assert statuses == set(AdSetStatus) - {AdSetStatus.REJECTED}  # ad sets are never rejected
    raw = {r.platform_status for r in rows}
    assert {"DELETED", "ARCHIVED", "CAMPAIGN_PAUSED", "IN_PROCESS", "WITH_ISSUES"} <= raw


async def test_status_filters_are_pushed_down_with_an_exact_total(env: Env) -> None:
    wanted = frozenset({AdSetStatus.IN_REVIEW, AdSetStatus.REJECTED})
    query = AdSetQuery(statuses=wanted)
    full = await walk(env, env.large, AdSetQuery(), [500])
    expected = [r.external_id for r in full if r.status in wanted]

    page = await env.client.list_adsets(env.large, query, start=None, count=10)
    rows = await walk(env, env.large, query, [10, 3], keep=0.5)

    assert expected
    assert page.total == len(expected)
    assert orjson.loads(env.params()["filtering"]) == [
        {
            "field": "adset.effective_status",
            "operator": "IN",
            "value": ["PENDING_REVIEW", "IN_PROCESS", "PREAPPROVED", "DISAPPROVED"],
        }
    ]
    assert [r.external_id for r in rows] == expected


async def test_the_campaign_filter_is_pushed_down(env: Env) -> None:
    full = await walk(env, env.large, AdSetQuery(), [500])
    campaign = full[100].campaign_external_id
    wanted = frozenset({AdSetStatus.ACTIVE, AdSetStatus.DELETED})
    query = AdSetQuery(campaign_external_id=campaign, statuses=wanted)

    rows = await walk(env, env.large, query, [2])

    assert orjson.loads(env.params()["filtering"]) == [
        {
            "field": "adset.effective_status",
            "operator": "IN",
            "value": ["ACTIVE", "WITH_ISSUES", "DELETED"],
        },
        {"field": "campaign.id", "operator": "EQUAL", "value": campaign},
    ]
    assert [r.external_id for r in rows] == [
        r.external_id for r in full if r.campaign_external_id == campaign and r.status in wanted
    ]


async def test_an_empty_status_set_matches_nothing_without_a_call(env: Env) -> None:
    page = await env.client.list_adsets(
        env.large, AdSetQuery(statuses=frozenset()), start=None, count=10
    )
    assert (list(page.rows), page.total, env.recorder.requests) == ([], 0, [])


async def test_budgets_use_the_account_currency(env: Env) -> None:
    jpy = seed().accounts[1]
    rows = await walk(env, jpy, AdSetQuery(), [100])
    budgets = [r.daily_budget or r.lifetime_budget for r in rows]
    assert all(b is None or b.currency == "JPY" for b in budgets)
    raw = {a["id"]: a for a in seed().account(jpy.external_id).adsets}
    daily = next(r for r in rows if r.daily_budget is not None)
    assert daily.daily_budget == Money(float(raw[daily.external_id]["daily_budget"]), "JPY")
    assert any(r.daily_budget is None and r.lifetime_budget is None for r in rows)


# -- campaigns ------------------------------------------------------------------------------


async def test_get_campaigns_batches_fifty_ids_concurrently(env: Env) -> None:
    campaigns = seed().account(env.large.external_id).campaigns
    known = [c["id"] for c in campaigns[:55]]
    assert len(known) == 55
    wanted = [*known, "999999999999999"]
    await env.client.get_account(env.large)
    env.control.latency_ms = 20
    before = len(env.recorder.requests)

    found = await env.client.get_campaigns(env.large, wanted)

    assert list(found) == known
    batches = env.recorder.requests[before:]
    assert [len(parse_qs(r.url.query.decode())["ids"][0].split(",")) for r in batches] == [50, 6]
    assert env.recorder.max_in_flight == 2
    record = found[campaigns[0]["id"]]
    assert record.name == campaigns[0]["name"]
    assert record.account_external_id == env.large.external_id


async def test_campaigns_of_another_account_are_absent(env: Env) -> None:
    other = seed().data[1].campaigns[0]["id"]
    assert await env.client.get_campaigns(env.large, [other]) == {}


async def test_list_campaigns_includes_deleted_and_archived(env: Env) -> None:
    campaigns = await env.client.list_campaigns(env.large)
    expected = [c["id"] for c in seed().account(env.large.external_id).campaigns]
    assert [c.external_id for c in campaigns] == expected
    assert {"DELETED", "ARCHIVED", "PAUSED", "ACTIVE"} <= {c.platform_status for c in campaigns}
    assert any(c.daily_budget is not None for c in campaigns)


def campaign_reads(env: Env, before: int = 0) -> list[str]:
    """``edge`` (an account's campaigns) or ``ids`` (by ID) for each campaign read since
    request ``before``."""
    out = []
    for request in env.recorder.requests[before:]:
        if request.url.path.endswith("/campaigns"):
            out.append("edge")
        elif "ids" in parse_qs(request.url.query.decode()):
            out.append("ids")
    return out


async def test_warmed_campaigns_are_served_without_a_call_for_a_minute(env: Env) -> None:
    ids = [c["id"] for c in seed().account(env.large.external_id).campaigns]
    assert not env.client.campaigns_warm(env.large)
    # when the account's campaigns are read ahead, twice at once
    await asyncio.gather(*(env.client.warm_campaigns(env.large) for _ in range(2)))
    # then that was one call, and every campaign is served from it
    assert campaign_reads(env) == ["edge"]
    assert env.client.campaigns_warm(env.large)
    found = await env.client.get_campaigns(env.large, ids)
    assert list(found) == ids
    assert found == {c.external_id: c for c in await env.client.list_campaigns(env.large)}
    assert env.client.cached_campaigns(env.large, [*ids, "999"]) == found
    before = len(env.recorder.requests)
    await env.client.warm_campaigns(env.large)
    assert campaign_reads(env, before) == []
    # and a minute later they are read again, by ID when named
    env.clock[0] += 60
    assert not env.client.campaigns_warm(env.large)
    assert env.client.cached_campaigns(env.large, ids) == {}
    before = len(env.recorder.requests)
    again = await env.client.get_campaigns(env.large, ids[:3])
    assert list(again) == ids[:3]
    assert campaign_reads(env, before) == ["ids"]


async def test_campaigns_read_by_id_are_served_from_memory_too(env: Env) -> None:
    ids = [c["id"] for c in seed().account(env.large.external_id).campaigns[:4]]
    first = await env.client.get_campaigns(env.large, ids[:2])
    before = len(env.recorder.requests)
    second = await env.client.get_campaigns(env.large, ids)
    assert list(second) == ids
    assert {k: second[k] for k in first} == first
    # only the two not read before are asked for
    assert campaign_reads(env, before) == ["ids"]
    asked = parse_qs(env.recorder.requests[-1].url.query.decode())["ids"][0].split(",")
    assert sorted(asked) == sorted(ids[2:])


async def test_campaigns_past_the_first_call_of_a_warm_are_read_by_id(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an account with more campaigns than one call of its campaigns edge returns
    monkeypatch.setattr("gateway.platforms.meta.client.MAX_LIMIT", 10)
    ids = [c["id"] for c in seed().account(env.large.external_id).campaigns]
    assert len(ids) > 10
    await env.client.warm_campaigns(env.large)
    assert campaign_reads(env) == ["edge"]
    # then the others are still found, read by ID
    found = await env.client.get_campaigns(env.large, ids)
    assert list(found) == ids
    assert campaign_reads(env) == ["edge", "ids"]
    asked = parse_qs(env.recorder.requests[-1].url.query.decode())["ids"][0].split(",")
    assert len(asked) == len(ids) - 10


async def test_a_failed_warm_is_not_remembered(env: Env) -> None:
    env.control.fail_next(1, "500")
    with pytest.raises(UpstreamUnavailableError):
        await env.client.warm_campaigns(env.large)
    assert not env.client.campaigns_warm(env.large)
    await env.client.warm_campaigns(env.large)
    assert env.client.campaigns_warm(env.large)


# -- failures -------------------------------------------------------------------------------

FAULTS: list[tuple[FaultKind, type[UpstreamError]]] = [
    ("500", UpstreamUnavailableError),
    ("throttle", RateLimitedError),
    ("malformed", MalformedResponseError),
    ("drop", UpstreamUnavailableError),
    ("auth", UpstreamAuthError),
]


@pytest.mark.parametrize(("kind", "error"), FAULTS)
async def test_sandbox_faults_become_typed_errors(
    env: Env, kind: FaultKind, error: type[UpstreamError]
) -> None:
    await env.client.get_account(env.large)
    env.control.fail_next(1, kind)

    with pytest.raises(error) as info:
        await env.client.list_adsets(env.large, AdSetQuery(), start=None, count=10)

    assert info.value.platform == "meta_ads"
    assert info.value.account_id == env.large.external_id
    if kind == "throttle":
        assert isinstance(info.value, RateLimitedError)
        assert info.value.retry_after == 300.0  # 5 minutes in the usage header


async def test_wrong_and_foreign_credentials(env: Env) -> None:
    wrong = replace(env.large, credentials={"access_token": "EAAGwrong"})
    with pytest.raises(UpstreamAuthError) as info:
        await env.client.list_adsets(wrong, AdSetQuery(), start=None, count=10)
    assert "EAAGwrong" not in str(info.value)

    foreign = replace(env.large, credentials=seed().accounts[1].credentials)
    with pytest.raises(UpstreamForbiddenError):
        await env.client.list_adsets(foreign, AdSetQuery(), start=None, count=10)

    unknown = replace(env.large, external_id="act_999")
    with pytest.raises(UpstreamNotFoundError):
        await env.client.get_account(unknown)

    missing = replace(env.large, credentials={})
    before = len(env.control.log.entries)
    with pytest.raises(UpstreamAuthError):
        await env.client.get_account(missing)
    assert len(env.control.log.entries) == before  # no token: nothing is sent


async def test_a_real_quota_throttles_with_the_wait_from_the_usage_header() -> None:
    environment, http = make_env(quota_per_minute=3)
    async with http:
        client = environment.client
        assert client.last_usage_pct(environment.large.external_id) is None
        await client.list_adsets(environment.large, AdSetQuery(), start=None, count=5)
        assert client.last_usage_pct(environment.large.external_id) == pytest.approx(67)
        await client.list_adsets(environment.large, AdSetQuery(), start=None, count=5)
        assert client.last_usage_pct(environment.large.external_id) == 100

        with pytest.raises(RateLimitedError) as info:
            await client.list_adsets(environment.large, AdSetQuery(), start=None, count=5)
        assert info.value.retry_after == 60.0
        assert info.value.upstream_code == "80004/2446079"


# -- hand-made Graph responses ----------------------------------------------------------------

ACCOUNT = AccountRef(
    platform=seed().large_account.platform,
    external_id="act_42",
    credentials={"access_token": "EAAGsecret"},
)
ACCOUNT_BODY = {"id": "act_42", "account_id": "42", "name": "A", "currency": "USD"}


def graph_error(code: int, subcode: int | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": f"(#{code}) nope", "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    return {"error": error}


def mock_client(
    adsets: Callable[[httpx.Request], httpx.Response],
) -> tuple[MetaClient, TransportUpstream]:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/adsets"):
            return adsets(request)
        return httpx.Response(200, json=ACCOUNT_BODY)

    http = TransportUpstream(httpx.MockTransport(handler))
    return MetaClient(http, base_url="https://graph.test", api_version=API_VERSION), http


async def list_once(response: httpx.Response) -> None:
    client, http = mock_client(lambda _: response)
    async with http:
        await client.list_adsets(ACCOUNT, AdSetQuery(), start=None, count=5)


BUC = {"42": [{"type": "ads_management", "call_count": 100, "estimated_time_to_regain_access": 3}]}


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "retry_after"),
    [
        (400, graph_error(190, 460), {}, UpstreamAuthError, None),
        (400, graph_error(104), {}, UpstreamAuthError, None),
        (403, graph_error(200), {}, UpstreamForbiddenError, None),
        (400, graph_error(10), {}, UpstreamForbiddenError, None),
        (400, graph_error(294), {}, UpstreamForbiddenError, None),
        (400, graph_error(100, 33), {}, UpstreamNotFoundError, None),
        (400, graph_error(100, 1487534), {}, UpstreamBadRequestError, None),
        (400, graph_error(2635), {}, UpstreamBadRequestError, None),
        (500, graph_error(1, 99), {}, UpstreamUnavailableError, None),
        (400, graph_error(2, is_transient=True), {}, UpstreamUnavailableError, None),
        (400, graph_error(1234, is_transient=True), {}, UpstreamUnavailableError, None),
        (503, {"error": "upstream"}, {}, UpstreamUnavailableError, None),
        (404, {"nothing": True}, {}, UpstreamNotFoundError, None),
        (400, graph_error(17, 2446079), {}, RateLimitedError, None),
        (
            400,
            graph_error(4),
            {"x-business-use-case-usage": orjson.dumps(BUC)},
            RateLimitedError,
            180.0,
        ),
        (
            400,
            graph_error(613),
            {"x-ad-account-usage": '{"acc_id_util_pct": 100, "reset_time_duration": 42}'},
            RateLimitedError,
            42.0,
        ),
        (
            400,
            graph_error(80000),
            {"x-business-use-case-usage": '{"7": [{"estimated_time_to_regain_access": 9}]}'},
            RateLimitedError,
            None,
        ),
        (400, graph_error(32), {"x-business-use-case-usage": "not json"}, RateLimitedError, None),
    ],
)
async def test_graph_errors_map_to_the_error_tree(
    status: int,
    body: Any,
    headers: dict[str, Any],
    error: type[UpstreamError],
    retry_after: float | None,
) -> None:
    with pytest.raises(error) as info:
        await list_once(httpx.Response(status, json=body, headers=headers))
    assert type(info.value) is error
    assert info.value.account_id == "act_42"
    if isinstance(info.value, RateLimitedError):
        assert info.value.retry_after == retry_after


async def test_error_messages_never_carry_the_token() -> None:
    body = graph_error(190)
    body["error"]["message"] = "Malformed access token EAAGsecret"
    with pytest.raises(UpstreamAuthError) as info:
        await list_once(httpx.Response(400, json=body))
    assert "EAAGsecret" not in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"id": "1"}},
        {"data": [["not", "an", "object"]]},
        {"data": [{"id": "1"}]},
        {"data": [], "paging": {"next": "https://graph.test/next"}},
        {"data": [], "summary": {"total_count": "many"}},
        ["a", "list"],
    ],
)
async def test_unexpected_bodies_are_malformed(body: Any) -> None:
    with pytest.raises(MalformedResponseError):
        await list_once(httpx.Response(200, json=body))


async def test_only_a_missing_next_ends_a_walk() -> None:
    pages = {
        None: {"data": [], "paging": {"cursors": {"after": "c1"}, "next": "https://x/1"}},
        "c1": {
            "data": [
                {"id": str(i), "name": "n", "campaign_id": "9", "effective_status": "ACTIVE"}
                for i in (3, 2)
            ],
            "paging": {"cursors": {"before": "c1b", "after": "c2"}, "next": "https://x/2"},
        },
        "c2": {
            "data": [{"id": "1", "name": "n", "campaign_id": "9", "effective_status": "PAUSED"}],
            "paging": {"cursors": {"before": "c2b", "after": "c3"}},
        },
    }

    def adsets(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("after")])

    client, http = mock_client(adsets)
    async with http:
        page = await client.list_adsets(ACCOUNT, AdSetQuery(), start=None, count=10)
    assert [r.external_id for r in page.rows] == ["3", "2", "1"]
    assert page.resume_points == ["|0", "c1|1", "c2|0", None]
    assert page.total is None


async def test_a_resumed_walk_across_pages_gives_the_position_after_every_row() -> None:
    def row(i: int) -> dict[str, str]:
        return {"id": str(i), "name": "n", "campaign_id": "9", "effective_status": "ACTIVE"}

    pages = {
        "c1": {
            "data": [row(i) for i in (1, 2, 3, 4)],
            "paging": {"cursors": {"after": "c2"}, "next": "https://x/2"},
        },
        "c2": {
            "data": [row(i) for i in (5, 6, 7)],
            "paging": {"cursors": {"after": "c3"}, "next": "https://x/3"},
        },
        "c3": {"data": [row(8)], "paging": {"cursors": {"after": "c4"}}},
    }

    def adsets(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params["after"]])

    client, http = mock_client(adsets)
    async with http:
        page = await client.list_adsets(ACCOUNT, AdSetQuery(), start="c1|2", count=6)
        mid = await client.list_adsets(ACCOUNT, AdSetQuery(), start=page.resume_after(3), count=2)
    assert [r.external_id for r in page.rows] == ["3", "4", "5", "6", "7", "8"]
    expected = ["c1|2", "c1|3", "c2|0", "c2|1", "c2|2", "c3|0", None]
    assert list(page.resume_points) == expected
    assert page.resume_points[-2] == "c3|0"
    assert page.resume_points[1:4] == expected[1:4]
    assert [r.external_id for r in mid.rows] == ["6", "7"]
    assert list(mid.resume_points) == ["c2|1", "c2|2", "c3|0"]
    with pytest.raises(IndexError):
        page.resume_points[7]


async def test_concurrent_pages_of_several_accounts(env: Env) -> None:
    pages = await asyncio.gather(
        *(env.client.list_adsets(a, AdSetQuery(), start=None, count=20) for a in seed().accounts)
    )
    assert [p.total for p in pages] == [
        len(seed().adset_ids(a.external_id)) for a in seed().accounts
    ]


async def test_concurrent_cold_pages_read_the_account_once(env: Env) -> None:
    # given a cold client and slow answers, so that every page starts before any returns
    env.control.latency_ms = 20
    # when several first pages of one account are asked for at once
    pages = await asyncio.gather(
        *(env.client.list_adsets(env.large, AdSetQuery(), start=None, count=5) for _ in range(6))
    )
    # then the account (its currency) was read once, alongside the pages
    account_reads = [e for e in env.control.log.entries if e.path.endswith(env.large.external_id)]
    assert len(account_reads) == 1
    assert env.control.log.count("/adsets") == 6
    assert all(p.rows == pages[0].rows for p in pages)
