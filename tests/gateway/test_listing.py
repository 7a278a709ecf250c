"""The listing service: merge order, pagination walks, fan-out narrowing, cursors."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from gateway.auth import Principal
from gateway.config import ApiKeySpec, ProjectConfig, Settings
from gateway.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    SourcesFailedError,
)
from gateway.ids import IdKind, derive_id
from gateway.listing.service import ListingService
from gateway.listing.types import ListFilters, ListingPage, PageSize, ScopedAccount, SourceStatus
from gateway.platforms.base import AccountRef, AdSetStatus, Platform
from gateway.platforms.readahead import ReadAhead
from gateway.store import IdTarget, SqliteStore
from tests.fakes import FakePlatform, fake_clients, make_record

PROJECT = "prj_01HX9Y7K8M2P4RSTVW56789AB"
READER = Principal(PROJECT, frozenset({"ads:read"}))


_stores: list[SqliteStore] = []


async def close_made_stores() -> None:
    """Close the stores ``make_service`` opened (inside the event loop that used them)."""
    while _stores:
        await _stores.pop().close()


@pytest.fixture(autouse=True)
async def _close_stores() -> AsyncIterator[None]:
    yield
    await close_made_stores()


def make_service(
    clients: dict[Platform, FakePlatform], accounts: list[AccountRef]
) -> ListingService:
    settings = Settings(
        cursor_secret=b"0123456789abcdef0123",
        projects=(
            ProjectConfig(PROJECT, "Test", (ApiKeySpec("0" * 64, frozenset()),), tuple(accounts)),
        ),
    )
    _stores.append(SqliteStore(":memory:"))
    return ListingService(settings, clients, _stores[-1])


def readable(service: ListingService) -> ProjectConfig:
    """The test project, as READER is authorized to read it."""
    return service.project_for(READER, PROJECT)


def in_listing_order(accounts: list[AccountRef]) -> list[AccountRef]:
    """The accounts as the merged list orders them: by public ID."""
    return sorted(accounts, key=lambda a: derive_id(IdKind.AD_ACCOUNT, a.platform, a.external_id))


def expected_order(clients: dict[Platform, FakePlatform], accounts: list[AccountRef]) -> list[str]:
    ordered = in_listing_order(accounts)
    return [r.external_id for a in ordered for r in clients[a.platform].rows[a.external_id]]


async def walk(
    service: ListingService,
    clients: dict[Platform, FakePlatform],
    accounts: list[AccountRef],
    limit: int,
    filters: ListFilters | None = None,
    *,
    allow_partial: bool = False,
    want_total: bool = True,
) -> list[ListingPage]:
    pages: list[ListingPage] = []
    cursor: str | None = None
    while True:
        page = await service.list_adsets(
            readable(service),
            filters or ListFilters(),
            limit=PageSize(limit),
            cursor=cursor,
            allow_partial=allow_partial,
            want_total=want_total,
        )
        pages.append(page)
        cursor = page.next_cursor
        if cursor is None:
            return pages
        assert len(pages) < 500, "walk does not end"


SIZES = [
    {Platform.META_ADS: [0], Platform.TIKTOK_ADS: [0]},
    {Platform.META_ADS: [5]},
    {Platform.META_ADS: [250, 3], Platform.TIKTOK_ADS: [0, 17], Platform.APPLE_ADS: [100, 1]},
    {Platform.META_ADS: [1, 1, 1], Platform.TIKTOK_ADS: [1], Platform.APPLE_ADS: [199, 201]},
]


@pytest.mark.parametrize(
    ("sizes", "limit", "want_total", "warm"),
    list(itertools.product(SIZES, [1, 7, 100, 200], [True, False], [False, True])),
)
async def test_walk_returns_every_row_once_in_order_with_full_pages(
    sizes: dict[Platform, list[int]], limit: int, want_total: bool, warm: bool
) -> None:
    # given accounts of uneven sizes on several platforms (and their sizes seen before)
    clients, accounts = fake_clients(sizes)
    service = make_service(clients, accounts)
    if warm:
        await walk(service, clients, accounts, limit, want_total=False)
    # when the whole list is walked page by page
    pages = await walk(service, clients, accounts, limit, want_total=want_total)
    # then every row comes once, in account order then platform order, pages are full but the last
    seen = [item.record.external_id for page in pages for item in page.items]
    assert seen == expected_order(clients, accounts)
    assert all(len(p.items) == limit for p in pages[:-1])
    total = sum(sum(s) for s in sizes.values())
    assert all(p.total_count == (total if want_total else None) for p in pages)
    assert [p.has_previous for p in pages] == [False] + [True] * (len(pages) - 1)
    assert not pages[-1].has_next


async def test_first_page_asks_every_account_once_and_no_page_asks_an_account_twice() -> None:
    # given a large account and two small ones
    clients, accounts = fake_clients({Platform.META_ADS: [450], Platform.APPLE_ADS: [30, 5]})
    service = make_service(clients, accounts)
    cursor: str | None = None
    calls_per_page: list[list[str]] = []
    # when the list is walked 200 at a time
    while True:
        before = {p: len(f.calls) for p, f in clients.items()}
        page = await service.list_adsets(
            readable(service),
            ListFilters(),
            limit=PageSize(200),
            cursor=cursor,
        )
        calls_per_page.append([c[0] for p, f in clients.items() for c in f.calls[before[p] :]])
        cursor = page.next_cursor
        if cursor is None:
            break
    # then page one fans out to all three accounts at once; no page asks an account twice
    assert sorted(calls_per_page[0]) == sorted(a.external_id for a in accounts)
    assert len(calls_per_page) == 3
    for calls in calls_per_page:
        assert len(calls) == len(set(calls))
    # and later pages ask only accounts whose rows they return (totals came with the cursor)
    assert all(1 <= len(calls) <= 2 for calls in calls_per_page[1:])


async def test_later_pages_request_exactly_the_rows_they_use() -> None:
    # given two accounts whose boundary falls inside the second page
    clients, accounts = fake_clients({Platform.META_ADS: [150, 150]})
    service = make_service(clients, accounts)
    ordered = in_listing_order(accounts)
    first, second = ordered[0].external_id, ordered[1].external_id
    # when two pages of 100 are read
    await walk(service, clients, accounts, 100)
    calls = clients[Platform.META_ADS].calls
    # then page 2 asks the first account for 100 from offset 100 (50 left) and the second for 50
    assert (first, None, 100) in calls and (second, None, 100) in calls
    assert (first, "|100", 100) in calls
    assert (second, None, 50) in calls


async def test_unknown_totals_give_null_total_count_and_still_a_complete_walk() -> None:
    clients, accounts = fake_clients(
        {Platform.TIKTOK_ADS: [33, 0, 12], Platform.META_ADS: [8]}, exact_totals=False
    )
    service = make_service(clients, accounts)
    pages = await walk(service, clients, accounts, 10)
    seen = [item.record.external_id for page in pages for item in page.items]
    assert seen == expected_order(clients, accounts)
    assert all(p.total_count is None for p in pages)


async def test_edge_cursors_resume_right_after_their_row() -> None:
    clients, accounts = fake_clients({Platform.META_ADS: [12], Platform.APPLE_ADS: [9]})
    service = make_service(clients, accounts)
    page = await service.list_adsets(readable(service), ListFilters(), limit=PageSize(21))
    for index in (0, 11, 12, 19):
        resumed = await service.list_adsets(
            readable(service),
            ListFilters(),
            limit=PageSize(1),
            cursor=page.edge_cursor(index),
        )
        assert resumed.items[0].adset_id == page.items[index + 1].adset_id
    # the last edge's cursor marks the end: an empty page, not the first page again
    end = await service.list_adsets(
        readable(service),
        ListFilters(),
        limit=PageSize(5),
        cursor=page.edge_cursor(20),
    )
    assert end.items == [] and end.next_cursor is None


@pytest.mark.parametrize("cursor", ["garbage", "a.b", "", "eyJ2IjoxfQ.AAAA", "Zm9v.YmFy" * 50])
async def test_forged_or_malformed_cursor_means_first_page(cursor: str) -> None:
    clients, accounts = fake_clients({Platform.META_ADS: [30]})
    service = make_service(clients, accounts)
    first = await service.list_adsets(readable(service), ListFilters(), limit=PageSize(10))
    page = await service.list_adsets(
        readable(service),
        ListFilters(),
        limit=PageSize(10),
        cursor=cursor,
    )
    assert [i.adset_id for i in page.items] == [i.adset_id for i in first.items]
    assert not page.has_previous


async def test_cursor_of_other_filters_means_first_page() -> None:
    clients, accounts = fake_clients({Platform.META_ADS: [30]})
    service = make_service(clients, accounts)
    active = ListFilters(statuses=frozenset({AdSetStatus.ACTIVE}))
    page = await service.list_adsets(readable(service), ListFilters(), limit=PageSize(10))
    other = await service.list_adsets(
        readable(service),
        active,
        limit=PageSize(10),
        cursor=page.next_cursor,
    )
    fresh = await service.list_adsets(readable(service), active, limit=PageSize(10))
    assert [i.adset_id for i in other.items] == [i.adset_id for i in fresh.items]


async def test_ad_account_filter_touches_one_account() -> None:
    clients, accounts = fake_clients({Platform.META_ADS: [5, 6], Platform.TIKTOK_ADS: [7]})
    service = make_service(clients, accounts)
    target = accounts[1]
    filters = ListFilters(
        ad_account_id=derive_id(IdKind.AD_ACCOUNT, target.platform, target.external_id)
    )
    pages = await walk(service, clients, accounts, 100, filters)
    assert {i.record.account_external_id for i in pages[0].items} == {target.external_id}
    assert pages[0].total_count == 6
    assert [c[0] for fake in clients.values() for c in fake.calls] == [target.external_id]


async def test_platform_filter_touches_only_those_platforms() -> None:
    clients, accounts = fake_clients({Platform.META_ADS: [5], Platform.TIKTOK_ADS: [7, 1]})
    service = make_service(clients, accounts)
    pages = await walk(
        service, clients, accounts, 100, ListFilters(platforms=frozenset({Platform.TIKTOK_ADS}))
    )
    assert len(pages[0].items) == 8
    assert clients[Platform.META_ADS].calls == []


async def test_campaign_filter_resolves_unlisted_campaign_and_touches_its_account_only() -> None:
    clients, accounts = fake_clients({Platform.META_ADS: [9], Platform.APPLE_ADS: [4]})
    service = make_service(clients, accounts)
    apple = next(a for a in accounts if a.platform is Platform.APPLE_ADS)
    campaign = f"{apple.external_id}-c1"
    filters = ListFilters(campaign_id=derive_id(IdKind.CAMPAIGN, Platform.APPLE_ADS, campaign))
    # when a campaign never listed before is asked for, the accounts' campaigns are indexed once
    pages = await walk(service, clients, accounts, 100, filters)
    assert [i.record.campaign_external_id for i in pages[0].items] == [campaign]
    assert [c[0] for c in clients[Platform.META_ADS].calls] == []
    assert [c[0] for c in clients[Platform.APPLE_ADS].calls] == [apple.external_id]


async def test_unknown_campaign_gives_an_empty_page_and_is_not_looked_up_again_at_once() -> None:
    clients, accounts = fake_clients({Platform.META_ADS: [9]})
    service = make_service(clients, accounts)
    filters = ListFilters(campaign_id="cmp_01HXG9")
    for _ in range(3):
        pages = await walk(service, clients, accounts, 100, filters)
        assert pages[0].items == [] and pages[0].total_count == 0
    assert len(clients[Platform.META_ADS].campaign_calls) == 1
    assert clients[Platform.META_ADS].calls == []


@pytest.mark.parametrize("limit", [0, 201, -1])
def test_limit_outside_range_is_rejected(limit: int) -> None:
    with pytest.raises(InvalidInputError) as info:
        PageSize(limit)
    assert (info.value.code, info.value.param) == ("invalid_limit", "limit")
    assert info.value.message == "limit must be a whole number from 1 to 200"


def test_other_project_is_not_found_and_missing_scope_is_forbidden() -> None:
    clients, accounts = fake_clients({Platform.META_ADS: [1]})
    service = make_service(clients, accounts)
    with pytest.raises(NotFoundError):
        service.project_for(Principal("prj_OTHER", frozenset({"ads:read"})), PROJECT)
    with pytest.raises(NotFoundError):
        service.project_for(READER, "prj_NOPE")
    with pytest.raises(PermissionDeniedError):
        service.project_for(Principal(PROJECT, frozenset()), PROJECT)


async def test_a_failing_account_fails_the_page_unless_partial_pages_are_allowed() -> None:
    clients, accounts = fake_clients({Platform.META_ADS: [5], Platform.TIKTOK_ADS: [6]})
    service = make_service(clients, accounts)
    clients[Platform.TIKTOK_ADS].fail_accounts.add("ti0")
    with pytest.raises(SourcesFailedError) as info:
        await service.list_adsets(readable(service), ListFilters())
    error = info.value
    assert error.code == "upstream_throttled"
    assert error.retry_after == 7
    statuses = {s.platform: s.status for s in error.sources}
    assert statuses == {
        Platform.META_ADS: SourceStatus.OK,
        Platform.TIKTOK_ADS: SourceStatus.THROTTLED,
    }


async def test_partial_pages_skip_a_failing_account_and_come_back_for_it() -> None:
    # given three accounts, one of which fails on its first two calls
    clients, accounts = fake_clients({Platform.META_ADS: [30, 12], Platform.APPLE_ADS: [25]})
    service = make_service(clients, accounts)
    ordered = in_listing_order(accounts)
    flaky = ordered[0]
    clients[flaky.platform].fail_times[flaky.external_id] = 2
    # when the list is walked with partial pages allowed
    pages = await walk(service, clients, accounts, 10, allow_partial=True)
    seen = [i.record.external_id for page in pages for i in page.items]
    sources = [[s.status for s in page.sources] for page in pages]
    # then the first page says the flaky account failed and has no total; every row still
    # comes exactly once, the flaky account's rows last
    assert SourceStatus.FAILED in sources[0]
    expected = expected_order(clients, accounts)
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))
    flaky_rows = [r.external_id for r in clients[flaky.platform].rows[flaky.external_id]]
    assert seen[-len(flaky_rows) :] == flaky_rows


async def test_an_unreadable_campaign_fails_the_request_rather_than_listing_nothing() -> None:
    # given a campaign ID never listed, and one account that cannot be read
    clients, accounts = fake_clients({Platform.META_ADS: [9], Platform.APPLE_ADS: [4]})
    service = make_service(clients, accounts)
    apple = next(a for a in accounts if a.platform is Platform.APPLE_ADS)
    clients[Platform.META_ADS].fail_accounts.add("me0")
    campaign = derive_id(IdKind.CAMPAIGN, Platform.META_ADS, "me0-c1")
    # when it is used as a filter, the page fails and names the account
    with pytest.raises(SourcesFailedError) as info:
        await service.list_adsets(readable(service), ListFilters(campaign_id=campaign))
    assert {s.status for s in info.value.sources} == {SourceStatus.OK, SourceStatus.THROTTLED}
    # and once the account answers, the campaign is found (the failure was not remembered)
    clients[Platform.META_ADS].fail_accounts.clear()
    page = await service.list_adsets(readable(service), ListFilters(campaign_id=campaign))
    assert {i.record.campaign_external_id for i in page.items} == {"me0-c1"}
    assert apple.external_id not in {c[0] for c in clients[Platform.APPLE_ADS].calls}


async def test_a_partial_walk_ends_when_an_account_refuses_us() -> None:
    # given an account whose token was revoked
    clients, accounts = fake_clients({Platform.META_ADS: [30], Platform.TIKTOK_ADS: [12]})
    service = make_service(clients, accounts)
    clients[Platform.TIKTOK_ADS].refuse_accounts.add("ti0")
    # when the list is walked with partial pages (the helper fails a walk that does not end)
    pages = await walk(service, clients, accounts, 10, allow_partial=True)
    # then the walk ends with every readable row, and says which account refused
    assert pages[-1].next_cursor is None
    assert sum(len(p.items) for p in pages) == 30
    refused = [s for p in pages for s in p.sources if s.status is SourceStatus.REFUSED]
    assert [s.code for s in refused] == ["upstream_auth_failed"]
    assert all(p.total_count is None for p in pages[1:])


async def test_a_repeated_first_page_asks_later_accounts_only_for_rows_it_may_use() -> None:
    # given three accounts whose sizes the service has seen before
    clients, accounts = fake_clients({Platform.META_ADS: [60, 30, 500]})
    service = make_service(clients, accounts)
    ordered = in_listing_order(accounts)
    await service.list_adsets(readable(service), ListFilters(), limit=PageSize(100))
    clients[Platform.META_ADS].calls.clear()
    # when the first page is asked for again, with its total
    page = await service.list_adsets(
        readable(service),
        ListFilters(),
        limit=PageSize(100),
        want_total=True,
    )
    # then each account is asked for what the page may still need after those before it
    sizes = {a.external_id: len(clients[Platform.META_ADS].rows[a.external_id]) for a in ordered}
    asked = {account: count for account, _, count in clients[Platform.META_ADS].calls}
    before = 0
    for account in ordered:
        assert asked[account.external_id] == max(100 - before, 1)
        before += sizes[account.external_id]
    assert len(page.items) == 100
    assert page.total_count == 590


async def test_a_repeated_first_page_without_total_asks_only_the_accounts_it_needs() -> None:
    # given four accounts whose sizes the service has seen before
    clients, accounts = fake_clients({Platform.META_ADS: [60, 30, 25, 500]})
    service = make_service(clients, accounts)
    ordered = [a.external_id for a in in_listing_order(accounts)]
    sizes = {a: len(clients[Platform.META_ADS].rows[a]) for a in ordered}
    await service.list_adsets(readable(service), ListFilters(), limit=PageSize(100))
    clients[Platform.META_ADS].calls.clear()
    # when the first page is asked for again, without its total (as REST does)
    page = await service.list_adsets(readable(service), ListFilters(), limit=PageSize(100))
    # then the accounts are asked, at once, up to the one expected to complete the page, each
    # for what the page may still need; the accounts after it are not called
    asked: list[tuple[str, int]] = []
    before = 0
    for account in ordered:
        asked.append((account, max(100 - before, 1)))
        before += sizes[account]
        if before >= 100:
            break
    assert [(a, n) for a, _, n in clients[Platform.META_ADS].calls] == asked
    assert len(asked) < len(ordered)
    assert [i.record.external_id for i in page.items] == expected_order(clients, accounts)[:100]
    assert page.total_count is None


async def test_an_account_past_the_page_is_not_called_so_its_failure_does_not_fail_it() -> None:
    # given a small account first, then a failing one, whose sizes were seen
    clients, accounts = fake_clients({Platform.META_ADS: [40], Platform.TIKTOK_ADS: [40]})
    service = make_service(clients, accounts)
    await service.list_adsets(readable(service), ListFilters(), limit=PageSize(10))
    ordered = in_listing_order(accounts)
    last = ordered[-1]
    clients[last.platform].fail_accounts.add(last.external_id)
    # when a first page that the first account fills is asked for
    page = await service.list_adsets(readable(service), ListFilters(), limit=PageSize(10))
    # then it is served whole, and the failing account is met only when the walk reaches it
    assert len(page.items) == 10 and page.next_cursor is not None
    with pytest.raises(SourcesFailedError):
        await walk(service, clients, accounts, 10)
    # while a page that wants its total asks every account, and fails
    with pytest.raises(SourcesFailedError):
        await service.list_adsets(
            readable(service),
            ListFilters(),
            limit=PageSize(10),
            want_total=True,
        )


@pytest.mark.parametrize("want_total", [True, False])
async def test_a_first_page_sized_on_stale_hints_is_still_full_and_exact(want_total: bool) -> None:
    # given hints learned when the first account was larger, and then it shrank
    clients, accounts = fake_clients({Platform.META_ADS: [90, 90, 90]})
    service = make_service(clients, accounts)
    ordered = in_listing_order(accounts)
    await service.list_adsets(readable(service), ListFilters(), limit=PageSize(100))
    first = ordered[0].external_id
    del clients[Platform.META_ADS].rows[first][10:]
    # when the first page is asked for again, and the whole list walked
    pages = await walk(service, clients, accounts, 100, want_total=want_total)
    # then the first page is full, and every row comes exactly once in order
    assert len(pages[0].items) == 100
    seen = [item.record.external_id for page in pages for item in page.items]
    assert seen == expected_order(clients, accounts)
    total = sum(len(r) for r in clients[Platform.META_ADS].rows.values())
    assert pages[0].total_count == (total if want_total else None)


async def test_pages_stay_full_when_a_size_hint_is_stale() -> None:
    # found by tests/gateway/test_walk_properties.py: an account fetched in the same round as
    # one that had more rows than expected had its rows dropped, and the page stopped short
    clients, accounts = fake_clients({Platform.META_ADS: [0, 0, 0]})
    service = make_service(clients, accounts)
    first, second, third = in_listing_order(accounts)
    meta = clients[Platform.META_ADS]

    def resize(account: AccountRef, size: int) -> None:
        name = account.external_id
        meta.rows[name] = [make_record(Platform.META_ADS, name, n) for n in range(size)]

    # given sizes seen as 2, 0 and 0
    resize(first, 2)
    await walk(service, clients, accounts, 24, want_total=False)
    # when the first account empties and the second grows past what its hint leaves it
    resize(first, 0)
    resize(second, 23)
    resize(third, 5)
    meta.calls.clear()
    pages = await walk(service, clients, accounts, 24, want_total=False)
    # then every page but the last is full, every row comes once and in order
    assert [len(page.items) for page in pages] == [24, 4]
    seen = [item.record.external_id for page in pages for item in page.items]
    assert seen == expected_order(clients, accounts)
    # and no account is asked twice for the same rows
    assert len(meta.calls) == len(set(meta.calls))


async def test_finding_an_adset_reads_no_page_ahead_of_its_row() -> None:
    # given a campaign of 3 pages behind a client that reads walks ahead
    account = AccountRef(Platform.META_ADS, "act_1", "Big")
    inner = FakePlatform(
        Platform.META_ADS,
        {"act_1": [make_record(Platform.META_ADS, "act_1", n) for n in range(3 * 3 * 200)]},
    )
    service = make_service({Platform.META_ADS: ReadAhead(inner)}, [account])  # type: ignore[dict-item]
    row = inner.rows["act_1"][3 * 250]  # on the campaign's second page
    target = IdTarget("meta_ads", "act_1", row.campaign_external_id, row.external_id)
    owner = ScopedAccount(derive_id(IdKind.AD_ACCOUNT, Platform.META_ADS, "act_1"), account)
    # when one of its rows on the second page is looked up
    found = await service.find_adset(owner, target)
    await asyncio.sleep(0.01)
    # then two pages were read: none after the row's
    assert found is not None and found.record.external_id == row.external_id
    assert [start for _, start, _ in inner.calls] == [None, inner.calls[1][1]]


async def test_a_repeated_page_is_not_looked_up_in_the_id_map_again() -> None:
    # given a page listed once, its IDs remembered
    clients, accounts = fake_clients({Platform.META_ADS: [30], Platform.TIKTOK_ADS: [30]})
    service = make_service(clients, accounts)
    project = readable(service)
    first = await service.list_adsets(project, ListFilters(), limit=PageSize(50))
    store = _stores[-1]
    assert all(store.knows(item.adset_id) for item in first.items)
    looked_up: list[str] = []
    knows = store.knows

    def counting(public_id: str) -> bool:
        looked_up.append(public_id)
        return knows(public_id)

    store.knows = counting  # type: ignore[method-assign]
    # when the same page is listed again: the same records, so the same items
    again = await service.list_adsets(project, ListFilters(), limit=PageSize(50))
    # then its items are the first page's and no ID is looked up one by one
    assert [a is b for a, b in zip(again.items, first.items, strict=True)] == [True] * 50
    assert looked_up == []
    # while another page (other items) is: every row and campaign it has, once
    following = await service.list_adsets(
        project, ListFilters(), limit=PageSize(50), cursor=first.next_cursor
    )
    campaigns = {item.campaign_id for item in following.items}
    assert len(looked_up) == len(following.items) + len(campaigns)
