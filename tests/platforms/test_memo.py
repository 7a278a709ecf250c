"""RowMemo: a row is mapped again whenever its JSON or its context differs, never otherwise."""

from __future__ import annotations

import tracemalloc

import orjson
import pytest

from gateway.platforms.base import AdSetQuery, Record
from gateway.platforms.memo import RowMemo
from gateway.platforms.payload import JsonObject, PayloadError
from gateway.sandbox.meta.seed import MetaSeed
from tests.platforms.test_meta_client import Env, make_env, seed


class Mapped(Record, frozen=True):
    json: bytes


class CountingMapper:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, raw: JsonObject) -> Mapped:
        self.calls += 1
        if raw.get("bad"):
            raise PayloadError("bad row")
        return Mapped(orjson.dumps(raw))


def test_the_same_row_in_the_same_context_is_mapped_once() -> None:
    memo: RowMemo[Mapped] = RowMemo()
    mapper = CountingMapper()
    first = memo.map(("act_1", "USD"), {"id": "1", "name": "a"}, mapper)
    again = memo.map(("act_1", "USD"), {"id": "1", "name": "a"}, mapper)
    assert again is first
    assert mapper.calls == 1


@pytest.mark.parametrize(
    ("context", "row"),
    [
        (("act_1", "USD"), {"id": "1", "name": "renamed"}),
        (("act_1", "EUR"), {"id": "1", "name": "a"}),
        (("act_2", "USD"), {"id": "1", "name": "a"}),
        (("act_1", "USD"), {"id": "1", "name": "a", "daily_budget": "100"}),
    ],
    ids=["changed-field", "other-currency", "other-account", "extra-field"],
)
def test_a_changed_row_or_context_is_mapped_again(
    context: tuple[str, str], row: dict[str, str]
) -> None:
    memo: RowMemo[Mapped] = RowMemo()
    mapper = CountingMapper()
    memo.map(("act_1", "USD"), {"id": "1", "name": "a"}, mapper)
    mapped = memo.map(context, row, mapper)
    assert mapped == Mapped(orjson.dumps(row))
    assert mapper.calls == 2


def test_the_oldest_rows_leave_first_and_the_size_is_bounded() -> None:
    memo: RowMemo[Mapped] = RowMemo(capacity=3)
    mapper = CountingMapper()
    for i in range(5):
        memo.map("ctx", {"id": str(i)}, mapper)
    assert len(memo) == 3
    memo.map("ctx", {"id": "4"}, mapper)  # still there
    assert mapper.calls == 5
    memo.map("ctx", {"id": "0"}, mapper)  # evicted, mapped again
    assert mapper.calls == 6


def test_a_row_that_fails_to_map_is_not_remembered() -> None:
    memo: RowMemo[Mapped] = RowMemo()
    mapper = CountingMapper()
    for _ in range(2):
        with pytest.raises(PayloadError):
            memo.map("ctx", {"id": "1", "bad": True}, mapper)
    assert mapper.calls == 2
    assert len(memo) == 0


async def test_a_client_serves_an_ad_set_changed_upstream_as_changed() -> None:
    env: Env
    env, http = make_env()
    data: MetaSeed = seed()
    async with http:
        account = data.large_account
        node = data.account(account.external_id).adsets[0]
        before = await env.client.list_adsets(account, AdSetQuery(), start=None, count=5)
        original = node["name"]
        try:
            node["name"] = original + " (renamed)"
            after = await env.client.list_adsets(account, AdSetQuery(), start=None, count=5)
        finally:
            node["name"] = original
        again = await env.client.list_adsets(account, AdSetQuery(), start=None, count=5)
    assert before.rows[0].external_id == node["id"]
    assert after.rows[0].name == original + " (renamed)"
    assert again.rows[0].name == original
    assert after.rows[1:] == before.rows[1:]


def test_the_rows_json_is_bounded_in_bytes_whatever_the_rows_size() -> None:
    wide = {"id": "0", "targeting": "x" * 1000}
    size = len(orjson.dumps(wide))
    memo: RowMemo[Mapped] = RowMemo(capacity=100, max_bytes=3 * size)
    mapper = CountingMapper()
    for i in range(10):
        memo.map("ctx", {**wide, "id": str(i)}, mapper)
    assert len(memo) == 3
    assert memo.json_bytes == 3 * size
    # the newest rows stay and are not mapped again; an evicted one is mapped afresh, the same
    assert memo.map("ctx", {**wide, "id": "9"}, mapper) == Mapped(orjson.dumps({**wide, "id": "9"}))
    assert mapper.calls == 10
    assert memo.map("ctx", {**wide, "id": "0"}, mapper) == Mapped(orjson.dumps(wide))
    assert mapper.calls == 11
    assert len(memo) == 3 and memo.json_bytes == 3 * size


def test_a_row_larger_than_the_bound_is_kept_alone_and_served() -> None:
    memo: RowMemo[Mapped] = RowMemo(max_bytes=10)
    mapper = CountingMapper()
    memo.map("ctx", {"id": "1"}, mapper)
    huge = {"id": "2", "name": "y" * 100}
    assert memo.map("ctx", huge, mapper) == Mapped(orjson.dumps(huge))
    assert memo.map("ctx", huge, mapper) == Mapped(orjson.dumps(huge))
    assert len(memo) == 1 and mapper.calls == 2
    assert memo.json_bytes == len(orjson.dumps(huge))


def test_the_memo_holds_each_rows_json_at_its_own_size() -> None:
    # orjson.dumps returns its whole write buffer (32 KB for 3 KB of JSON): the memo must not
    # keep those buffers, or its memory is ten times what its bound says.
    rows = [{"id": str(i), "name": "x" * 3000} for i in range(20)]

    def small(raw: JsonObject) -> Mapped:
        return Mapped(str(raw["id"]).encode())

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        memo: RowMemo[Mapped] = RowMemo()
        for row in rows:
            memo.map("ctx", row, small)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert memo.json_bytes == sum(len(orjson.dumps(row)) for row in rows)
    assert held < 1.5 * memo.json_bytes
