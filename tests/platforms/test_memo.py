"""RowMemo: a row is mapped again whenever its JSON or its context differs; a row back again
is known by its JSON, at the latest from its third sighting."""

from __future__ import annotations

import importlib
import tracemalloc

import orjson
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.platforms.base import AdSetQuery, Record
from gateway.platforms.inprocess import TransportUpstream
from gateway.platforms.memo import RowMemo
from gateway.platforms.payload import JsonObject, PayloadError
from gateway.sandbox.control import SandboxControl
from gateway.sandbox.meta.seed import MetaSeed
from gateway.sandbox.suite import PREFIXES
from gateway.sandbox.transport import SandboxTransport
from tests.platforms.test_contract import PLATFORM_OF
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


def test_a_row_seen_once_is_mapped_without_being_written_out() -> None:
    memo: RowMemo[Mapped] = RowMemo()
    mapper = CountingMapper()
    records = [memo.map("ctx", {"id": str(i), "name": "a"}, mapper) for i in range(5)]
    assert [r.json for r in records] == [b'{"id":"%d","name":"a"}' % i for i in range(5)]
    assert mapper.calls == 5
    assert len(memo) == 5 and memo.json_bytes == 0


def test_a_row_back_while_its_first_object_is_held_is_its_first_record() -> None:
    memo: RowMemo[Mapped] = RowMemo()
    mapper = CountingMapper()
    first = memo.map("ctx", {"id": "1", "name": "a"}, mapper)
    again = memo.map("ctx", {"id": "1", "name": "a"}, mapper)  # an equal row, another object
    later = memo.map("ctx", {"id": "1", "name": "a"}, mapper)
    assert again is first and later is first
    assert mapper.calls == 1
    assert memo.json_bytes == len(orjson.dumps({"id": "1", "name": "a"}))


def test_a_row_back_after_its_first_object_was_let_go_is_mapped_once_more() -> None:
    memo: RowMemo[Mapped] = RowMemo(same_capacity=1)
    mapper = CountingMapper()
    memo.map("ctx", {"id": "1", "name": "a"}, mapper)
    memo.map("ctx", {"id": "2", "name": "b"}, mapper)  # the identity table holds only this one
    second = memo.map("ctx", {"id": "1", "name": "a"}, mapper)
    third = memo.map("ctx", {"id": "1", "name": "a"}, mapper)
    assert mapper.calls == 3
    assert third is second


@pytest.mark.parametrize("row_id", [["1"], {"x": 1}, None, 1.5, True])
def test_a_row_without_a_usable_id_is_known_by_its_json(row_id: object) -> None:
    memo: RowMemo[Mapped] = RowMemo()
    mapper = CountingMapper()
    first = memo.map("ctx", {"id": row_id, "name": "a"}, mapper)
    again = memo.map("ctx", {"id": row_id, "name": "a"}, mapper)
    assert again is first and mapper.calls == 1
    assert len(memo) == 0 and memo.json_bytes == len(orjson.dumps({"id": row_id, "name": "a"}))


def test_an_integer_id_and_its_digits_are_different_rows() -> None:
    memo: RowMemo[Mapped] = RowMemo()
    mapper = CountingMapper()
    as_int = memo.map("ctx", {"id": 1}, mapper)
    as_str = memo.map("ctx", {"id": "1"}, mapper)
    assert as_int.json == b'{"id":1}' and as_str.json == b'{"id":"1"}'
    assert mapper.calls == 2


def twice(
    memo: RowMemo[Mapped], context: str, row: dict[str, str], mapper: CountingMapper
) -> Mapped:
    """Map ``row`` as two objects, so that the memo keeps its JSON."""
    memo.map(context, dict(row), mapper)
    return memo.map(context, dict(row), mapper)


def test_the_rows_json_is_bounded_in_bytes_whatever_the_rows_size() -> None:
    wide = {"id": "0", "targeting": "x" * 1000}
    size = len(orjson.dumps(wide))
    # (the identity table holds one row: a row whose JSON left is not found by its object)
    memo: RowMemo[Mapped] = RowMemo(capacity=100, max_bytes=3 * size, same_capacity=1)
    mapper = CountingMapper()
    for i in range(10):
        twice(memo, "ctx", {**wide, "id": str(i)}, mapper)
    assert memo.json_bytes == 3 * size
    # the newest rows stay and are not mapped again; an evicted one is mapped afresh, the same
    assert memo.map("ctx", {**wide, "id": "9"}, mapper) == Mapped(orjson.dumps({**wide, "id": "9"}))
    assert mapper.calls == 10
    assert memo.map("ctx", {**wide, "id": "0"}, mapper) == Mapped(orjson.dumps(wide))
    assert mapper.calls == 11
    assert memo.json_bytes == 3 * size


def test_a_row_larger_than_the_bound_is_kept_alone_and_served() -> None:
    memo: RowMemo[Mapped] = RowMemo(max_bytes=10)
    mapper = CountingMapper()
    twice(memo, "ctx", {"id": "1"}, mapper)
    huge = {"id": "2", "name": "y" * 100}
    assert twice(memo, "ctx", huge, mapper) == Mapped(orjson.dumps(huge))
    assert memo.map("ctx", dict(huge), mapper) == Mapped(orjson.dumps(huge))
    assert mapper.calls == 2
    assert memo.json_bytes == len(orjson.dumps(huge))


def test_the_memo_holds_each_rows_json_at_its_own_size() -> None:
    # orjson.dumps returns its whole write buffer (32 KB for 3 KB of JSON): the memo must not
    # keep those buffers, or its memory is ten times what its bound says.
    rows = [{"id": str(i), "name": "x" * 3000} for i in range(20)]

    def small(raw: JsonObject) -> Mapped:
        return Mapped(str(raw["id"]).encode())

    memo: RowMemo[Mapped] = RowMemo()
    for row in rows:
        memo.map("ctx", row, small)  # seen once: the memo notes the ID
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for row in rows:
            memo.map("ctx", dict(row), small)  # seen again: the memo keeps its JSON
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert memo.json_bytes == sum(len(orjson.dumps(row)) for row in rows)
    assert held < 1.5 * memo.json_bytes


@pytest.mark.parametrize("platform", ["meta", "tiktok", "apple"])
async def test_a_cold_page_writes_no_row_out_and_knows_each_by_its_platform_id(
    platform: str,
) -> None:
    module = importlib.import_module(f"gateway.sandbox.{platform}")
    seed = module.build_seed()
    prefix = PREFIXES[PLATFORM_OF[platform]]
    app = Starlette(routes=[Mount(prefix, app=module.create_app(seed, SandboxControl()))])
    async with TransportUpstream(SandboxTransport(app)) as http:
        client = module.client_for(http, f"http://sandbox.test{prefix}")
        page = await client.list_adsets(seed.large_account, AdSetQuery(), start=None, count=50)
        memo = client._mapped
        assert len(page.rows) == 50
        assert len(memo) >= 50 and memo.json_bytes == 0
        await client.aclose()
