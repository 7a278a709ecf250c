"""PageKeys: what a page's nested fields read and build from, each campaign and account once
in the order the rows first name them; kept for the very same items."""

from __future__ import annotations

from gateway.listing.types import AdSetItem, make_item
from gateway.loaders import PageKeys, PageKeysMemo
from gateway.platforms.base import Platform
from tests.fakes import make_record

META, TIKTOK = Platform.META_ADS, Platform.TIKTOK_ADS


def page() -> list[AdSetItem]:
    # campaigns c0, c1, c2 repeat along each account's rows (make_record: n % 3)
    records = [make_record(TIKTOK, "7001", n) for n in (4, 5)]
    records += [make_record(META, "act_1", n) for n in range(4)]
    records.append(make_record(TIKTOK, "7001", 6))
    return [make_item(r, f"aa_{r.account_external_id}") for r in records]


def test_each_campaign_and_account_once_in_the_order_the_rows_name_them() -> None:
    keys = PageKeys(page())
    assert keys.campaigns == (
        (TIKTOK, "7001", "7001-c1"),
        (TIKTOK, "7001", "7001-c2"),
        (META, "act_1", "act_1-c0"),
        (META, "act_1", "act_1-c1"),
        (META, "act_1", "act_1-c2"),
        (TIKTOK, "7001", "7001-c0"),
    )
    assert keys.accounts == ((TIKTOK, "7001"), (META, "act_1"))
    assert {k: list(v) for k, v in keys.by_account.items()} == {
        (TIKTOK, "7001"): ["7001-c1", "7001-c2", "7001-c0"],
        (META, "act_1"): ["act_1-c0", "act_1-c1", "act_1-c2"],
    }
    empty = PageKeys([])
    assert (empty.campaigns, empty.accounts, dict(empty.by_account)) == ((), (), {})


def test_the_same_items_get_the_keys_made_before_and_other_items_their_own() -> None:
    memo = PageKeysMemo(pages=4, items=100)
    items = page()
    keys = memo.of(items)
    assert memo.of(list(items)) is keys
    # equal items that are other objects, or fewer of the same, are looked at anew
    again = page()
    assert memo.of(again) is not keys
    assert memo.of(again).campaigns == keys.campaigns
    assert memo.of(items[:2]).campaigns == (
        (TIKTOK, "7001", "7001-c1"),
        (TIKTOK, "7001", "7001-c2"),
    )
    assert memo.of([]).accounts == ()
