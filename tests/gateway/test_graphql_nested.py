"""GraphQL's nested ``campaign`` and ``adAccount`` of a listed page: read at the same time as
the listing, the same answers and errors as fields loaded one by one, and no call more than
needed."""

from __future__ import annotations

import asyncio
import traceback
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import close_runtime, create_app
from gateway.auth import Principal
from gateway.platforms.base import Platform
from gateway.resilience.backoff import RetryPolicy
from gateway.sandbox.meta.errors import error_body
from gateway.sandbox.suite import SandboxSuite
from gateway.schema import build_schema
from gateway.schema.context import GraphQLContext
from tests.gateway.conftest import AUTH, KEY, PROJECT

NESTED = """
query Nested($projectId: ID!, $first: Int, $after: String, $filter: AdSetFilter) {
  adSets(projectId: $projectId, first: $first, after: $after, filter: $filter) {
    pageInfo { endCursor }
    edges { node {
      id platform
      campaign { id externalId name platformStatus objective adAccountId }
      adAccount { id externalId name platform currency timezone }
    } }
  }
}
"""

#: A page of Meta and TikTok rows (the large Meta account comes first, and fills an
#: unfiltered page on its own).
MIXED = {"status": ["ARCHIVED"]}

FLAT = """
query Flat($projectId: ID!, $first: Int, $after: String, $filter: AdSetFilter) {
  adSets(projectId: $projectId, first: $first, after: $after, filter: $filter) {
    pageInfo { endCursor }
    edges { node { id platform adAccount { id name } } }
  }
}
"""

BY_NODE = """
query ByNode($id: ID!) {
  node(id: $id) {
    ... on AdSet {
      campaign { id externalId name platformStatus objective adAccountId }
      adAccount { id externalId name platform currency timezone }
    }
    ... on Campaign { id externalId name platformStatus objective adAccountId }
  }
}
"""


@dataclass(frozen=True, slots=True)
class Call:
    """One upstream request: what it reads (``meta campaigns``, ``tiktok adsets``, ...) and
    of which account."""

    what: str
    account: str


def call_of(request: httpx.Request) -> Call:
    path = request.url.path
    query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
    if path.startswith("/meta/"):
        parts = path.split("/")[3:]  # after /meta/<version>/
        if parts == [""]:
            return Call("meta campaigns by id", "")
        kind = parts[1] if len(parts) > 1 else "account"
        return Call(f"meta {kind}", parts[0])
    if path.startswith("/tiktok/"):
        kind = path.rstrip("/").rsplit("/", 2)[-2]
        account = query.get("advertiser_id") or query.get("advertiser_ids", "")
        if kind == "campaign" and "campaign_ids" in query.get("filtering", ""):
            kind = "campaign by id"
        return Call(f"tiktok {kind}", account.strip('[]"'))
    account = request.headers.get("x-ap-context", "").removeprefix("adAccountId=")
    return Call(f"apple {path.rsplit('/', 2)[-2]}", account)


class Watch(httpx.AsyncBaseTransport):
    """Records each upstream request as it starts and as it ends; answers Meta's campaign
    reads with Meta's own 500 while ``fail_meta_campaigns`` is set, and holds each call for
    the seconds ``delay`` gives it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.events: list[tuple[str, Call]] = []
        self.fail_meta_campaigns = False
        self.delay: Callable[[Call], float] = lambda call: 0.0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        call = call_of(request)
        self.events.append(("start", call))
        try:
            if seconds := self.delay(call):
                await asyncio.sleep(seconds)
            if self.fail_meta_campaigns and call.what.startswith("meta campaigns"):
                body = error_body(1, "An unknown error occurred", subcode=99, transient=True)
                return httpx.Response(500, content=body, headers={"content-type": "text/json"})
            return await self.inner.handle_async_request(request)
        finally:
            self.events.append(("end", call))

    def calls(self) -> list[Call]:
        return [call for event, call in self.events if event == "start"]

    def index(self, event: str, call: Call) -> int:
        return self.events.index((event, call))

    def clear(self) -> None:
        self.events.clear()


@dataclass
class Nested:
    http: httpx.AsyncClient
    suite: SandboxSuite
    watch: Watch
    app: Starlette
    reads: list[Call] = field(default_factory=list)

    async def page(self, document: str = NESTED, **variables: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": document, "variables": {"projectId": PROJECT, **variables}},
            headers=AUTH,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def nested(suite: SandboxSuite) -> AsyncIterator[Nested]:
    suite.reset()
    watch = Watch(suite.transport())
    app = create_app(suite.settings(key=KEY), transport=watch)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as http:
        yield Nested(http, suite, watch, app)
    await close_runtime(app.state.runtime)
    suite.reset()


def listing_of(call: Call) -> Call:
    """The listing request of the account a campaign read is for."""
    what = {"meta campaigns": "meta adsets", "tiktok campaign": "tiktok adgroup"}[call.what]
    return Call(what, call.account)


async def test_campaigns_are_read_while_the_listing_is_in_flight(nested: Nested) -> None:
    # given upstream calls that take a while, and a gateway that has read nothing yet
    for platform in (Platform.META_ADS, Platform.TIKTOK_ADS):
        nested.suite.controls[platform].latency_ms = 150
    # when a page asks for its rows' campaigns
    body = await nested.page(first=200, filter=MIXED)
    assert "errors" not in body, body
    platforms = {e["node"]["platform"] for e in body["data"]["adSets"]["edges"]}
    assert {"META_ADS", "TIKTOK_ADS"} <= platforms
    # then each account's campaigns were asked for before its ad sets had arrived
    campaign_reads = [
        c for c in nested.watch.calls() if c.what in ("meta campaigns", "tiktok campaign")
    ]
    assert {c.what for c in campaign_reads} == {"meta campaigns", "tiktok campaign"}
    for read in campaign_reads:
        assert nested.watch.index("start", read) < nested.watch.index("end", listing_of(read))
    # and no campaign had to be read again by ID
    assert not [c for c in nested.watch.calls() if "by id" in c.what]


async def test_nested_objects_are_those_loaded_one_by_one(nested: Nested) -> None:
    nodes = []
    for platform in Platform:
        body = await nested.page(first=200, filter={"platforms": [platform.name]})
        assert "errors" not in body, body
        nodes += [e["node"] for e in body["data"]["adSets"]["edges"]]
    one_per_campaign = {n["campaign"]["id"]: n for n in nodes}
    assert len(one_per_campaign) > 10
    by_platform: dict[str, list[dict[str, Any]]] = {}
    for node in one_per_campaign.values():
        by_platform.setdefault(node["platform"], []).append(node)
    assert set(by_platform) == {"META_ADS", "TIKTOK_ADS", "APPLE_ADS"}
    for sample in by_platform.values():
        for node in sample[:3]:
            # the ad set's own node resolves its campaign and account through the loaders
            alone = (await nested.page(BY_NODE, id=node["id"]))["data"]["node"]
            assert alone == {"campaign": node["campaign"], "adAccount": node["adAccount"]}
            campaign = (await nested.page(BY_NODE, id=node["campaign"]["id"]))["data"]["node"]
            assert campaign == node["campaign"]
    assert all(n["adAccount"]["currency"] and n["adAccount"]["timezone"] for n in nodes)


async def test_a_warm_nested_page_calls_what_the_page_without_them_calls(
    nested: Nested,
) -> None:
    # given a gateway that has served the nested page once
    first = await nested.page(first=200)
    cursor = first["data"]["adSets"]["pageInfo"]["endCursor"]
    await nested.page(first=200, after=cursor)
    # when the same pages are asked for again, with and without nested fields
    counts = []
    for document in (NESTED, FLAT):
        nested.watch.clear()
        await nested.page(document, first=200)
        await nested.page(document, first=200, after=cursor)
        counts.append(sorted(c.what for c in nested.watch.calls()))
    # then the nested fields cost no call of their own
    assert counts[0] == counts[1]
    assert not [what for what in counts[0] if "campaign" in what]


async def test_a_cold_nested_page_reads_each_accounts_campaigns_once(nested: Nested) -> None:
    body = await nested.page(first=200, filter=MIXED)
    assert "errors" not in body, body
    calls = nested.watch.calls()
    listed = {c.account for c in calls if c.what in ("meta adsets", "tiktok adgroup")}
    for what in ("meta campaigns", "tiktok campaign"):
        reads = [c.account for c in calls if c.what == what]
        assert len(reads) == len(set(reads))  # once per account
        assert set(reads) <= listed  # only accounts the walk asked for rows
    assert not [c for c in calls if "by id" in c.what]


async def test_a_page_without_campaigns_reads_none(nested: Nested) -> None:
    # (Apple's listing reads its rows' campaigns itself, for their geo and placements.)
    for _ in range(2):
        body = await nested.page(FLAT, first=200, filter=MIXED)
        assert "errors" not in body, body
        calls = nested.watch.calls()
        assert not [c for c in calls if c.what.startswith(("meta campaigns", "tiktok campaign"))]
        nested.watch.clear()


INCLUDED = """
query Included($projectId: ID!, $first: Int, $filter: AdSetFilter, $campaigns: Boolean!) {
  adSets(projectId: $projectId, first: $first, filter: $filter) {
    edges { node { id campaign @include(if: $campaigns) { name } } }
  }
}
"""


async def test_campaigns_a_variable_includes_are_read_ahead_each_time_they_are(
    nested: Nested,
) -> None:
    # the same document, its campaigns left out, then included, then left out again
    for included in (False, True, False):
        nested.watch.clear()
        body = await nested.page(INCLUDED, first=200, filter=MIXED, campaigns=included)
        assert "errors" not in body, body
        reads = [
            c.what
            for c in nested.watch.calls()
            if c.what.startswith(("meta campaigns", "tiktok campaign"))
        ]
        nodes = [edge["node"] for edge in body["data"]["adSets"]["edges"]]
        if included:
            # read ahead with the listing, none one by one
            assert reads and not [what for what in reads if "by id" in what]
            assert all(node["campaign"]["name"] for node in nodes)
        else:
            assert not reads
            assert not [node for node in nodes if "campaign" in node]


async def test_failed_campaign_reads_are_errors_on_those_rows_only(nested: Nested) -> None:
    # given Meta failing every campaign read, ahead of the page or by ID
    nested.watch.fail_meta_campaigns = True
    body = await nested.page(first=200, filter=MIXED)
    edges = body["data"]["adSets"]["edges"]
    meta_rows = {i for i, e in enumerate(edges) if e["node"]["platform"] == "META_ADS"}
    assert meta_rows and len(meta_rows) < len(edges)
    # then each Meta row's campaign is null with an error at its path, as a failed load was
    errors = body["errors"]
    assert {tuple(e["path"]) for e in errors} == {
        ("adSets", "edges", i, "node", "campaign") for i in meta_rows
    }
    assert {e["extensions"]["code"] for e in errors} == {"upstream_unavailable"}
    assert {e["extensions"]["platform"] for e in errors} == {"meta_ads"}
    for i, edge in enumerate(edges):
        assert (edge["node"]["campaign"] is None) is (i in meta_rows)
        assert edge["node"]["adAccount"]["currency"]
    # and each account's failing campaigns cost no more than one read and its retries
    failing = Counter(c for c in nested.watch.calls() if c.what.startswith("meta campaigns"))
    assert failing
    assert max(failing.values()) <= RetryPolicy().max_attempts
    # and once Meta answers, the campaigns are there (the failure was not kept)
    nested.watch.fail_meta_campaigns = False
    again = await nested.page(first=200, filter=MIXED)
    assert "errors" not in again, again
    assert all(e["node"]["campaign"] for e in again["data"]["adSets"]["edges"])


PROJECT_AND_PAGE = """
query ProjectAndPage($projectId: ID!) {
  project(id: $projectId) { adAccounts { externalId currency } }
  adSets(projectId: $projectId, first: 20) { edges { node { adAccount { currency } } } }
}
"""


async def test_an_early_account_read_left_unused_does_not_fail_other_reads_of_it(
    nested: Nested,
) -> None:
    # given Apple account reads that take a while (Apple's listing needs none, so they are
    # still in flight when the listing is over), and a page whose rows all come from one Meta
    # account: the walk starts reading every account's details, and drops those without rows
    nested.watch.delay = lambda call: 0.3 if call.what == "apple ad-accounts" else 0.0
    # when the same request also asks for every account's details
    body = await nested.page(PROJECT_AND_PAGE)
    # then those reads are answered, not cancelled with the page's early reads
    assert "errors" not in body, body
    accounts = body["data"]["project"]["adAccounts"]
    assert len(accounts) > 1
    assert all(a["currency"] for a in accounts)
    edges = body["data"]["adSets"]["edges"]
    assert len(edges) == 20
    assert all(e["node"]["adAccount"]["currency"] for e in edges)


async def test_campaign_reads_of_accounts_without_rows_are_not_thrown_away(
    nested: Nested,
) -> None:
    # given campaign reads that take a while
    slow = ("meta campaigns", "tiktok campaign")
    nested.watch.delay = lambda call: 0.3 if call.what in slow else 0.0
    # when a cold page holds rows of one account only (the large Meta account's), while the
    # walk asked every account for rows and started reading their campaigns
    body = await nested.page(first=20)
    assert "errors" not in body, body
    assert len({e["node"]["adAccount"]["id"] for e in body["data"]["adSets"]["edges"]}) == 1
    # and the next page holds rows of other accounts
    body = await nested.page(first=200, filter=MIXED)
    assert "errors" not in body, body
    # then the campaigns read alongside the first page served the second: each account's were
    # asked for once
    reads = [c for c in nested.watch.calls() if c.what in slow]
    assert len({c.account for c in reads}) > 1
    assert len(reads) == len(set(reads))


@pytest.mark.parametrize("fast", [True, False])
async def test_a_failed_read_shared_by_rows_raises_with_a_short_traceback(
    nested: Nested, fast: bool
) -> None:
    # given Meta failing every campaign read, and a page of many Meta rows of few accounts
    nested.watch.fail_meta_campaigns = True
    service = nested.app.state.runtime.service
    context = GraphQLContext(
        principal=Principal(PROJECT, frozenset({"ads:read"})),
        service=service,
        loaders=service.loaders(PROJECT),
    )
    # when it is executed
    result = await build_schema(fast=fast).execute(
        NESTED, variable_values={"projectId": PROJECT, "first": 200}, context_value=context
    )
    # then each row's error is raised afresh: the last row's traceback is as short as the
    # first's, not one frame longer per row before it
    assert result.errors is not None
    assert len(result.errors) > 50
    originals = [e.original_error for e in result.errors]
    depths = [len(traceback.extract_tb(o.__traceback__)) for o in originals if o is not None]
    assert len(depths) == len(originals)
    assert max(depths) <= 10, depths


THROUGH_FRAGMENTS = """
query Fragments($projectId: ID!, $first: Int, $filter: AdSetFilter, $with: Boolean!) {
  adSets(projectId: $projectId, first: $first, filter: $filter) { ...Page }
}
fragment Page on AdSetConnection {
  edges { ... on AdSetEdge { node { id platform ...Parent @include(if: $with) } } }
}
fragment Parent on AdSet { campaign @skip(if: false) { name } }
"""


@pytest.mark.parametrize("with_campaigns", [True, False])
async def test_campaigns_asked_through_fragments_and_directives_are_read_with_the_page(
    nested: Nested, with_campaigns: bool
) -> None:
    body = await nested.page(THROUGH_FRAGMENTS, first=200, filter=MIXED, **{"with": with_campaigns})
    assert "errors" not in body, body
    nodes = [e["node"] for e in body["data"]["adSets"]["edges"]]
    assert {n["platform"] for n in nodes} >= {"META_ADS", "TIKTOK_ADS"}
    assert all(("campaign" in n) is with_campaigns for n in nodes)
    reads = [c.what for c in nested.watch.calls() if "campaign" in c.what]
    if with_campaigns:
        # read with the page, one call per account, none by ID afterwards
        assert {"meta campaigns", "tiktok campaign"} <= set(reads)
        assert not [what for what in reads if "by id" in what]
    else:
        assert not reads
