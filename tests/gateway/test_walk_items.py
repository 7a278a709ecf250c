"""Items: a record handed out again (a repeated page) gets the item made for it before; any
other record or account gets its own, equal to what make_item builds."""

from __future__ import annotations

import msgspec
import pytest

from gateway.listing.types import make_item
from gateway.listing.walk import Items
from gateway.platforms.base import Platform
from tests.fakes import make_record


def test_the_same_record_and_account_get_the_item_made_before() -> None:
    items = Items()
    records = [make_record(Platform.META_ADS, "act_1", n) for n in range(3)]
    first = items.of(records, "acc_one")
    assert first == [make_item(r, "acc_one") for r in records]
    again = items.of(records[::-1], "acc_one")
    assert [a is b for a, b in zip(again, first[::-1], strict=True)] == [True] * 3


def test_another_record_or_account_gets_its_own_item() -> None:
    items = Items()
    record = make_record(Platform.META_ADS, "act_1", 1)
    [made] = items.of([record], "acc_one")
    [equal_record] = items.of([make_record(Platform.META_ADS, "act_1", 1)], "acc_one")
    assert equal_record == made and equal_record is not made
    renamed = msgspec.structs.replace(record, name="renamed")  # a row changed upstream
    [other_account] = items.of([record], "acc_two")
    assert other_account == make_item(record, "acc_two")
    assert other_account.ad_account_id == "acc_two"
    [changed] = items.of([renamed], "acc_one")
    assert changed == make_item(renamed, "acc_one") and changed.record.name == "renamed"


def test_items_are_bounded_oldest_first() -> None:
    items = Items(capacity=2)
    records = [make_record(Platform.META_ADS, "act_1", n) for n in range(3)]
    [kept] = items.of(records[2:], "a")
    items.of(records[:2], "a")
    assert len(items) == 2
    [again] = items.of(records[1:2], "a")
    assert again is items.of(records[1:2], "a")[0]
    assert items.of(records[2:], "a")[0] is not kept  # the oldest left


def test_an_accounts_repeated_records_take_its_items_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    items = Items()
    records = [make_record(Platform.META_ADS, "act_1", n) for n in range(3)]
    first = items.of(records, "acc_one")
    looked_up: list[object] = []
    monkeypatch.setattr(items, "_items", Spy(looked_up))  # any lookup per record is seen
    again = items.of(list(records), "acc_one")
    assert again is first and looked_up == []
    # another account, fewer records or other objects are made item by item as before
    monkeypatch.undo()
    assert items.of(records[:2], "acc_one") == first[:2]
    assert items.of(records, "acc_two") == [make_item(r, "acc_two") for r in records]


class Spy(dict[object, object]):
    def __init__(self, calls: list[object]) -> None:
        super().__init__()
        self._calls = calls

    def get(self, key: object, default: object = None) -> object:
        self._calls.append(key)
        return default
