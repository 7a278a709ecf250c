"""REST items as written: kept once per record from its second showing, the same bytes as
writing them afresh."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import orjson

from gateway.listing.types import AdSetItem, make_item
from gateway.platforms.base import Platform
from gateway.wire import WrittenItems, adset_json, dumps, format_time
from tests.fakes import make_record

ACCOUNT_ID = "aa_TEST"


def test_a_written_item_is_the_item_as_adset_json_writes_it() -> None:
    record = make_record(Platform.TIKTOK_ADS, "7001", 4)
    item = make_item(record, ACCOUNT_ID)
    items = WrittenItems()
    first = dumps({"items": [items.item(item)]})
    again = dumps({"items": [items.item(item)]})
    assert first == again == dumps({"items": [adset_json(item)]})
    assert orjson.loads(first)["items"][0]["adAccountId"] == ACCOUNT_ID


def shown_twice(items: WrittenItems, *page: AdSetItem) -> bytes:
    """The body of ``page`` written twice, so that its items are kept; the second body."""
    items.items(page)
    return dumps(items.items(page))


def test_an_item_shown_once_is_written_in_the_body_and_kept_from_its_second_showing() -> None:
    page = [make_item(make_record(Platform.META_ADS, "act_1", n), ACCOUNT_ID) for n in range(3)]
    expected = dumps([adset_json(item) for item in page])
    items = WrittenItems()
    assert dumps(items.items(page)) == expected
    assert len(items) == 0 and items.written_bytes == 0
    assert dumps(items.items(page)) == expected
    assert len(items) == 3
    kept = items.items(page)
    assert all(isinstance(one, orjson.Fragment) for one in kept)
    assert dumps(kept) == expected


def test_a_changed_record_is_written_anew_and_the_oldest_entries_go_first() -> None:
    items = WrittenItems(capacity=2)
    record = make_record(Platform.META_ADS, "act_1", 1)
    item = make_item(record, ACCOUNT_ID)
    shown_twice(items, item)
    renamed = make_item(msgspec.structs.replace(record, name="Renamed"), ACCOUNT_ID)
    assert orjson.loads(shown_twice(items, renamed))[0]["name"] == "Renamed"
    assert orjson.loads(dumps(items.item(item)))["name"] == record.name
    shown_twice(items, make_item(make_record(Platform.META_ADS, "act_1", 2), ACCOUNT_ID))
    assert len(items) == 2


def test_times_are_written_in_utc_to_the_second_whatever_was_asked_before() -> None:
    pacific = timezone(timedelta(hours=-7))
    instant = datetime(2026, 4, 1, 7, 0, 0, 123456, tzinfo=UTC)
    assert format_time(instant) == "2026-04-01T07:00:00Z"
    # the same instant in another zone (equal, so it may come from the cache) writes the same
    assert format_time(instant.astimezone(pacific)) == "2026-04-01T07:00:00Z"
    assert format_time(datetime(2026, 4, 1, 0, 30, tzinfo=pacific)) == "2026-04-01T07:30:00Z"
    assert format_time(datetime(2026, 4, 1, 0, 30)) == "2026-04-01T00:30:00Z"  # naive: UTC
    assert format_time(None) is None


def test_items_writes_each_item_as_item_does_and_keeps_the_newest() -> None:
    records = [make_record(Platform.META_ADS, "act_1", n) for n in range(3)]
    page = [make_item(record, ACCOUNT_ID) for record in records]
    items = WrittenItems(capacity=2)
    assert shown_twice(items, *page[:2]) == dumps([adset_json(item) for item in page[:2]])
    assert shown_twice(items, page[2]) == dumps([adset_json(page[2])])
    assert len(items) == 2
    assert dumps([items.item(item) for item in page]) == dumps(items.items(page))
    assert dumps(items.items(page)) == dumps([adset_json(item) for item in page])


def test_written_items_are_bounded_in_bytes_and_an_evicted_one_is_written_the_same() -> None:
    page = [make_item(make_record(Platform.META_ADS, "act_1", n), ACCOUNT_ID) for n in range(6)]
    expected = [dumps(adset_json(item)) for item in page]
    items = WrittenItems(capacity=100, max_bytes=len(expected[4]) + len(expected[5]))
    first = shown_twice(items, *page)
    assert len(items) == 2
    assert items.written_bytes == len(expected[4]) + len(expected[5])
    assert dumps(items.item(page[0])) == expected[0]  # evicted: written again, the same bytes
    assert dumps(items.items(page)) == first == dumps([adset_json(item) for item in page])
    assert items.written_bytes <= len(expected[4]) + len(expected[5])


def test_an_item_larger_than_the_bound_is_served_and_kept_alone() -> None:
    page = [make_item(make_record(Platform.META_ADS, "act_1", n), ACCOUNT_ID) for n in range(3)]
    items = WrittenItems(max_bytes=1)
    for item in page:
        assert shown_twice(items, item) == dumps([adset_json(item)])
    assert len(items) == 1
    assert items.written_bytes == len(dumps(adset_json(page[-1])))


def test_written_items_are_held_at_their_own_size() -> None:
    # orjson.dumps returns its whole write buffer (32 KB for a 3 KB item): an entry must not
    # keep that buffer, or the cache's memory is ten times its byte bound.
    record = make_record(Platform.META_ADS, "act_1", 1)
    page = [
        make_item(msgspec.structs.replace(record, external_id=str(n), name="x" * 3000), ACCOUNT_ID)
        for n in range(20)
    ]
    items = WrittenItems()
    items.items(page)  # shown once: noted, nothing written
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        items.items(page)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert items.written_bytes == sum(len(dumps(adset_json(item))) for item in page)
    assert held < 1.5 * items.written_bytes


def test_a_page_whose_items_are_all_kept_is_taken_whole_when_its_items_come_back() -> None:
    page = [make_item(make_record(Platform.META_ADS, "act_1", n), ACCOUNT_ID) for n in range(3)]
    expected = dumps([adset_json(item) for item in page])
    items = WrittenItems()
    shown = items.items(page)  # shown once: not kept, nor is the page
    assert items.items(page) is not shown  # the second showing writes and keeps each item
    kept = items.items(page)
    assert items.items(list(page)) is kept  # the same items, another list: the same page
    assert dumps(kept) == expected
    # other items, or the same in another order, are looked up item by item
    assert dumps(items.items(page[::-1])) == dumps([adset_json(item) for item in page[::-1]])
    other = [make_item(item.record, "aa_OTHER") for item in page]
    assert dumps(items.items(other)) == dumps([adset_json(item) for item in other])
    assert items.items([]) == []
