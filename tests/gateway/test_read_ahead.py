"""Walks through REST with read-ahead: every row once, no more upstream calls than without it,
and the pages after the second taken from reads made while the client read the one before."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.ids import IdKind, derive_id
from gateway.platforms.base import AccountRef, Platform
from gateway.platforms.readahead import ReadAhead
from gateway.resilience.client import ResilientPlatform
from gateway.sandbox.suite import SandboxSuite
from tests.gateway.conftest import ADSETS, AUTH, KEY, started_gateway

META = Platform.META_ADS
ROUTE = "/v1/projects/{project_id}/ads/adsets"


@dataclass
class Walk:
    """What a walk listed, the upstream listing calls it made, and the read-aheads' outcomes."""

    ids: list[str]
    calls: dict[Platform, int]
    read_aheads: dict[tuple[str, str], float]


def listing_calls(suite: SandboxSuite) -> dict[Platform, int]:
    """Listing requests each sandbox received (Apple's ad groups, the others' ad sets)."""
    paths = {META: "/adsets", Platform.TIKTOK_ADS: "adgroup/get", Platform.APPLE_ADS: "adgroups"}
    return {p: suite.controls[p].log.count(path) for p, path in paths.items()}


async def reads_settled(app: Starlette) -> None:
    """Wait for the reads ahead under way in ``app`` to end (a busy machine may take longer
    than any fixed pause)."""
    clients = app.state.runtime.clients.values()
    reads = [r.task for c in clients if isinstance(c, ReadAhead) for r in c._reads.values()]
    await asyncio.gather(*reads, return_exceptions=True)


@dataclass
class Client:
    http: httpx.AsyncClient
    app: Starlette

    async def page(self, params: dict[str, str], cursor: str | None = None) -> dict[str, Any]:
        query = params if cursor is None else {**params, "cursor": cursor}
        response = await self.http.get(ADSETS, params=query, headers=AUTH)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@asynccontextmanager
async def gateway_app(suite: SandboxSuite, **changes: Any) -> AsyncIterator[Client]:
    """A started gateway over the sandboxes with ``changes`` to its settings, its start-up
    calls out of the sandboxes' logs. Meta's quota is out of play: the session's sandboxes
    have metered every call of the tests before, and a Meta account at 50 % usage is not read
    ahead (the one test of usage sets it itself)."""
    suite.controls[META].metered = False
    try:
        async with started_gateway(suite, replace(suite.settings(key=KEY), **changes)) as started:
            yield Client(started.http, started.app)
    finally:
        suite.controls[META].metered = True


async def read_ahead_counts(http: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    """``gateway_read_aheads_total`` by (platform, outcome)."""
    text = (await http.get("/metrics")).text
    return {
        (s.labels["platform"], s.labels["outcome"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "gateway_read_aheads_total"
    }


async def walk(suite: SandboxSuite, params: dict[str, str], *, read_ahead: bool) -> Walk:
    async with gateway_app(suite, read_ahead=read_ahead) as client:
        ids: list[str] = []
        cursor: str | None = None
        for _ in range(500):
            body = await client.page(params, cursor)
            ids += [item["adsetId"] for item in body["items"]]
            cursor = body["nextCursor"]
            if cursor is None:
                break
        await reads_settled(client.app)  # a read still under way would show in the logs
        return Walk(ids, listing_calls(suite), await read_ahead_counts(client.http))


def largest_meta(suite: SandboxSuite) -> AccountRef:
    """The Meta account with the most ad sets (1,200 in the test seeds)."""
    seed = suite.seeds[META]
    return max(suite.accounts[META], key=lambda a: len(seed.adset_ids(a.external_id)))


def large_meta_account(suite: SandboxSuite) -> str:
    """The public ID of ``largest_meta``."""
    return derive_id(IdKind.AD_ACCOUNT, META, largest_meta(suite).external_id)


@pytest.mark.parametrize(
    "shape",
    ["one large account at limit 200", "every account at limit 50", "active ones at limit 37"],
)
async def test_a_walk_lists_every_row_once_with_the_calls_of_a_walk_without_read_ahead(
    suite: SandboxSuite, shape: str
) -> None:
    params = {
        "one large account at limit 200": {
            "adAccountId": large_meta_account(suite),
            "limit": "200",
        },
        "every account at limit 50": {"limit": "50"},
        "active ones at limit 37": {"limit": "37", "status": "active"},
    }[shape]
    # given the same walk with read-ahead off and on
    plain = await walk(suite, params, read_ahead=False)
    ahead = await walk(suite, params, read_ahead=True)
    # then both list every row once, in the same order
    assert len(ahead.ids) == len(set(ahead.ids)) > 0
    assert ahead.ids == plain.ids
    # with the same upstream listing calls, of which some were read ahead and taken
    assert ahead.calls == plain.calls
    assert plain.read_aheads == {}
    hits = sum(n for (_, outcome), n in ahead.read_aheads.items() if outcome == "hit")
    assert hits >= 1
    assert {outcome for _, outcome in ahead.read_aheads} == {"hit"}


async def test_the_large_account_walk_takes_every_page_after_the_second_from_a_read(
    suite: SandboxSuite, caplog: pytest.LogCaptureFixture
) -> None:
    params = {"adAccountId": large_meta_account(suite), "limit": "200"}
    with caplog.at_level(logging.INFO, logger="gateway.requests"):
        done = await walk(suite, params, read_ahead=True)
    pages = [
        r
        for r in caplog.records
        if getattr(r, "event", None) == "request" and getattr(r, "route", None) == ROUTE
    ]
    calls_per_request: list[int] = [r.upstream_calls for r in pages]  # type: ignore[attr-defined]
    # 1,200 rows: six pages of 200
    assert len(done.ids) == 1200
    assert len(pages) == 6
    # the first and second pages call for themselves (the first reads the account's currency
    # too); every later one takes a read, which counts for no request (it ran outside them)
    assert calls_per_request[0] >= 1
    assert calls_per_request[1] == 1
    assert all(calls == 0 for calls in calls_per_request[2:])
    assert done.read_aheads == {("meta_ads", "hit"): len(calls_per_request) - 2}
    assert done.calls[META] == len(calls_per_request)


async def test_a_continuation_page_reads_the_next_one_unless_turned_off(
    suite: SandboxSuite,
) -> None:
    params = {"adAccountId": large_meta_account(suite), "limit": "100"}
    for read_ahead, expected in ((False, 2), (True, 3)):
        async with gateway_app(suite, read_ahead=read_ahead) as client:
            first = await client.page(params)
            assert listing_calls(suite)[META] == 1  # a first page reads nothing ahead
            await client.page(params, first["nextCursor"])
            await reads_settled(client.app)
            assert listing_calls(suite)[META] == expected, f"read_ahead={read_ahead}"


async def test_no_read_ahead_when_the_page_ended_the_account(suite: SandboxSuite) -> None:
    # given an account of 48 ad sets walked 40 at a time
    seed = suite.seeds[META]
    small = next(a for a in suite.accounts[META] if len(seed.adset_ids(a.external_id)) == 48)
    params = {"adAccountId": derive_id(IdKind.AD_ACCOUNT, META, small.external_id), "limit": "40"}
    async with gateway_app(suite, read_ahead=True) as client:
        first = await client.page(params)
        # when the second page takes the last 8
        second = await client.page(params, first["nextCursor"])
        await reads_settled(client.app)
        # then nothing is read after them
        assert (len(second["items"]), second["nextCursor"]) == (8, None)
        assert listing_calls(suite)[META] == 2
        assert await read_ahead_counts(client.http) == {}


async def test_an_account_whose_usage_is_high_is_not_read_ahead(suite: SandboxSuite) -> None:
    params = {"adAccountId": large_meta_account(suite), "limit": "100"}
    scope = f"meta_ads:{largest_meta(suite).external_id}"
    async with gateway_app(suite, read_ahead=True) as client:
        first = await client.page(params)
        # given another instance has seen the account's quota usage at 80 % since
        await client.app.state.runtime.coordinator.set_usage(scope, 80.0, 300.0)
        # when the walk goes on
        await client.page(params, first["nextCursor"])
        await reads_settled(client.app)
        # then nothing was read ahead: the read was skipped
        assert listing_calls(suite)[META] == 2
        assert await read_ahead_counts(client.http) == {("meta_ads", "skipped"): 1.0}


def test_read_ahead_is_off_by_default_and_on_when_configured(suite: SandboxSuite) -> None:
    off = create_app(suite.settings(key=KEY), transport=suite.transport())
    on = create_app(replace(suite.settings(key=KEY), read_ahead=True), transport=suite.transport())
    assert all(isinstance(c, ReadAhead) for c in on.state.runtime.clients.values())
    assert all(isinstance(c, ResilientPlatform) for c in off.state.runtime.clients.values())
