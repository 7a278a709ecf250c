"""Property-based tests of whole walks through the listing service.

Random account sizes, page sizes, size hints (none, fresh, or stale because accounts grew or
shrank since they were seen), ``want_total``, platforms with and without exact totals, and
transient failures with and without ``allow_partial``: a walk page by page returns every row
exactly once, in order, and ends. Failing examples found here are kept as explicit tests in
``test_listing.py``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway.errors import (
    RateLimitedError,
    SourcesFailedError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamUnavailableError,
)
from gateway.listing.service import ListingService
from gateway.listing.types import ListFilters, ListingPage, PageSize
from gateway.platforms.base import AccountRef, AdSetPage, AdSetQuery, AdSetRecord, Platform
from tests.fakes import FakePlatform, make_record
from tests.gateway.test_listing import (
    close_made_stores,
    in_listing_order,
    make_service,
    readable,
)

# Bounded and derandomized: the same examples on every run, a few seconds in all.
WALKS = settings(
    max_examples=int(os.environ.get("WALK_EXAMPLES", "60")),
    deadline=None,
    derandomize="WALK_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow],
)
#: Ceiling on the pages (and retries) of one walk: far above any example's real count.
MAX_REQUESTS = 2_000

UNAVAILABLE, THROTTLED, REFUSED = "unavailable", "throttled", "refused"


@dataclass
class FlakyPlatform(FakePlatform):
    """A fake platform whose accounts answer their next calls as scheduled (a fault each, then
    as usual); an account in ``refusing`` refuses every call from then on."""

    schedule: dict[str, list[str]] = field(default_factory=dict)
    refusing: set[str] = field(default_factory=set)

    async def list_adsets(
        self, account: AccountRef, query: AdSetQuery, **options: Any
    ) -> AdSetPage:
        name = account.external_id
        faults = self.schedule.get(name)
        fault = faults.pop(0) if faults else (REFUSED if name in self.refusing else None)
        if fault is not None:
            self.calls.append((name, options.get("start"), options.get("count", 0)))
            raise _error(fault, self.platform, name)
        return await super().list_adsets(account, query, **options)


def _error(fault: str, platform: Platform, account: str) -> UpstreamError:
    if fault == THROTTLED:
        return RateLimitedError("slow down", platform=platform, account_id=account, retry_after=3)
    if fault == REFUSED:
        return UpstreamAuthError("token revoked", platform=platform, account_id=account)
    return UpstreamUnavailableError("down", platform=platform, account_id=account)


@dataclass
class Scenario:
    """Accounts (platform, rows now, rows when last seen) and how one walk reads them."""

    accounts: list[tuple[Platform, int, int]]
    limit: int
    hints: str  # "cold": never seen; "fresh": seen as they are; "stale": seen at other sizes
    want_total: bool
    exact_totals: bool
    faults: list[list[str]]  # per account, the faults of its next calls

    def build(self) -> tuple[dict[Platform, FlakyPlatform], list[AccountRef], ListingService]:
        clients = {p: FlakyPlatform(p, {}, exact_totals=self.exact_totals) for p in Platform}
        accounts: list[AccountRef] = []
        for i, (platform, _, seen) in enumerate(self.accounts):
            name = f"{platform.value[:2]}{i}"
            clients[platform].rows[name] = _rows(platform, name, seen)
            accounts.append(AccountRef(platform, name, f"Account {name}"))
        return clients, accounts, make_service(dict(clients), accounts)


def _rows(platform: Platform, account: str, count: int) -> list[AdSetRecord]:
    return [make_record(platform, account, n) for n in range(count)]


@st.composite
def scenarios(draw: st.DrawFn, *, faults: bool) -> Scenario:
    count = draw(st.integers(1, 5))
    sizes = st.integers(0, 45)
    accounts = [
        (draw(st.sampled_from(list(Platform))), draw(sizes), draw(sizes)) for _ in range(count)
    ]
    hints = draw(st.sampled_from(["cold", "fresh", "stale"]))
    if hints == "fresh":
        accounts = [(p, now, now) for p, now, _ in accounts]
    fault_lists = [
        draw(st.lists(st.sampled_from([UNAVAILABLE, THROTTLED]), max_size=3)) if faults else []
        for _ in accounts
    ]
    return Scenario(
        accounts=accounts,
        limit=draw(st.integers(1, 30) | st.just(PageSize.MAX)),
        hints=hints,
        want_total=draw(st.booleans()),
        exact_totals=draw(st.booleans()),
        faults=fault_lists,
    )


async def walk(
    service: ListingService, scenario: Scenario, *, allow_partial: bool, want_total: bool
) -> list[ListingPage]:
    """A client's walk: next cursor after each page; a failed page is asked for again."""
    pages: list[ListingPage] = []
    cursor: str | None = None
    for _ in range(MAX_REQUESTS):
        try:
            page = await service.list_adsets(
                readable(service),
                ListFilters(),
                limit=PageSize(scenario.limit),
                cursor=cursor,
                allow_partial=allow_partial,
                want_total=want_total,
            )
        except SourcesFailedError:
            continue  # no rows were given (partial or not): the same page again
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages
    raise AssertionError("the walk did not end")


async def closing_stores(body: Coroutine[Any, Any, None]) -> None:
    """Run one example, then close the stores it opened in the same event loop."""
    try:
        await body
    finally:
        await close_made_stores()


async def prepared(
    scenario: Scenario,
) -> tuple[dict[Platform, FlakyPlatform], list[AccountRef], ListingService]:
    """The scenario's service with the size hints it calls for, and its faults armed."""
    clients, accounts, service = scenario.build()
    if scenario.hints != "cold":
        await walk(service, scenario, allow_partial=False, want_total=False)
    for (platform, now, _), account in zip(scenario.accounts, accounts, strict=True):
        clients[platform].rows[account.external_id] = _rows(platform, account.external_id, now)
    for faults, account in zip(scenario.faults, accounts, strict=True):
        clients[account.platform].schedule[account.external_id] = list(faults)
    return clients, accounts, service


def rows_by_account(
    clients: dict[Platform, FlakyPlatform], accounts: Sequence[AccountRef]
) -> dict[str, list[str]]:
    return {
        a.external_id: [r.external_id for r in clients[a.platform].rows[a.external_id]]
        for a in accounts
    }


def seen_of(pages: Sequence[ListingPage]) -> list[str]:
    return [item.record.external_id for page in pages for item in page.items]


def in_order_of(seen: Sequence[str], account: str) -> list[str]:
    return [row for row in seen if row.startswith(f"{account}-")]


@WALKS
@given(scenarios(faults=False))
@example(  # an account fetched with one that held more rows than its stale hint said
    Scenario(
        accounts=[
            (Platform.TIKTOK_ADS, 0, 2),
            (Platform.META_ADS, 0, 0),
            (Platform.META_ADS, 0, 0),
            (Platform.META_ADS, 0, 0),
            (Platform.META_ADS, 23, 0),
        ],
        limit=24,
        hints="stale",
        want_total=False,
        exact_totals=True,
        faults=[[]] * 5,
    )
)
def test_a_healthy_walk_returns_every_row_once_in_order_in_full_pages(scenario: Scenario) -> None:
    async def run() -> None:
        clients, accounts, service = await prepared(scenario)
        pages = await walk(service, scenario, allow_partial=False, want_total=scenario.want_total)
        expected = rows_by_account(clients, accounts)
        order = [row for a in in_listing_order(accounts) for row in expected[a.external_id]]
        assert seen_of(pages) == order
        assert all(len(page.items) == scenario.limit for page in pages[:-1])
        exact = scenario.want_total and scenario.exact_totals
        assert all(page.total_count == (len(order) if exact else None) for page in pages)

    asyncio.run(closing_stores(run()))


@WALKS
@given(scenarios(faults=True), st.booleans())
def test_transient_failures_lose_no_row_and_repeat_none(
    scenario: Scenario, allow_partial: bool
) -> None:
    async def run() -> None:
        clients, accounts, service = await prepared(scenario)
        pages = await walk(
            service, scenario, allow_partial=allow_partial, want_total=scenario.want_total
        )
        expected = rows_by_account(clients, accounts)
        seen = seen_of(pages)
        # every row once; each account's rows in the platform's order (with partial pages an
        # account that failed is come back to after the others, so only its own order holds)
        assert sorted(seen) == sorted(row for rows in expected.values() for row in rows)
        for account, rows in expected.items():
            assert in_order_of(seen, account) == rows
        if not allow_partial:
            order = [row for a in in_listing_order(accounts) for row in expected[a.external_id]]
            assert seen == order
        # a total is exact or null, never a guess
        total = sum(len(rows) for rows in expected.values())
        assert all(page.total_count in (None, total) for page in pages)

    asyncio.run(closing_stores(run()))


@WALKS
@given(scenarios(faults=True), st.data())
def test_an_account_that_refuses_leaves_the_walk_and_the_others_lose_nothing(
    scenario: Scenario, data: st.DataObject
) -> None:
    async def run() -> None:
        clients, accounts, service = await prepared(scenario)
        refusing = data.draw(st.sampled_from(accounts))
        clients[refusing.platform].refusing.add(refusing.external_id)
        pages = await walk(service, scenario, allow_partial=True, want_total=scenario.want_total)
        expected = rows_by_account(clients, accounts)
        seen = seen_of(pages)
        assert len(seen) == len(set(seen))
        for account, rows in expected.items():
            if account == refusing.external_id:
                assert in_order_of(seen, account) == []
            else:
                assert in_order_of(seen, account) == rows

    asyncio.run(closing_stores(run()))
