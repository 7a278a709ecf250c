"""DecodedBodies and the row memo's identity path: an answer whose bytes are the same as last
time is not decoded again, and whatever changed (bytes, status, context) is served as it now is."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import orjson
import pytest

from gateway.errors import MalformedResponseError
from gateway.platforms.base import Record
from gateway.platforms.http import DecodedBodies, fetch_json
from gateway.platforms.memo import RowMemo
from gateway.platforms.payload import JsonObject, PayloadError, as_objects
from gateway.platforms.upstream import Reply

REQUEST = ("GET", "https://graph.example/v1/act_1/adsets?limit=2", None)


def test_the_same_bytes_to_the_same_request_give_the_json_decoded_before() -> None:
    bodies = DecodedBodies()
    first = bodies.decode(REQUEST, b'{"data": [{"id": "1"}]}')
    again = bodies.decode(REQUEST, b'{"data": [{"id": "1"}]}')
    assert again is first


def test_changed_bytes_are_decoded_again_and_served_as_they_now_are() -> None:
    bodies = DecodedBodies()
    bodies.decode(REQUEST, b'{"data": [{"id": "1", "name": "a"}]}')
    changed = bodies.decode(REQUEST, b'{"data": [{"id": "1", "name": "b"}]}')
    assert changed == {"data": [{"id": "1", "name": "b"}]}
    assert bodies.decode(REQUEST, b'{"data": [{"id": "1", "name": "b"}]}') is changed


@pytest.mark.parametrize(
    "other",
    [
        ("POST", REQUEST[1], None),
        ("GET", REQUEST[1] + "&after=x", None),
        ("POST", REQUEST[1], b'{"offset": 2}'),
    ],
    ids=["method", "url", "body"],
)
def test_each_request_keeps_its_own_answer(other: tuple[str, str, bytes | None]) -> None:
    bodies = DecodedBodies()
    first = bodies.decode(REQUEST, b"[1]")
    assert bodies.decode(other, b"[1]") is not first
    assert bodies.decode(REQUEST, b"[1]") is first


def test_the_least_recently_used_request_leaves_first() -> None:
    bodies = DecodedBodies(capacity=2)
    a, b, c = (("GET", f"https://x/{n}", None) for n in "abc")
    kept = bodies.decode(a, b"[1]")
    bodies.decode(b, b"[2]")
    assert bodies.decode(a, b"[1]") is kept  # a used again: b is now the oldest
    bodies.decode(c, b"[3]")
    assert len(bodies) == 2
    assert bodies.decode(a, b"[1]") is kept
    fresh_b = bodies.decode(b, b"[2]")
    assert bodies.decode(b, b"[2]") is fresh_b


class Answers:
    """An Upstream answering each request with the next of ``replies``."""

    def __init__(self, *replies: tuple[int, bytes]) -> None:
        self._replies = list(replies)

    async def exchange(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None = None
    ) -> Reply:
        status, body = self._replies.pop(0)
        return Reply(status, {}, body)

    async def aclose(self) -> None:
        pass


async def _get(upstream: Answers, bodies: DecodedBodies) -> object:
    _, payload = await fetch_json(
        upstream,
        "GET",
        "https://graph.example/v1/act_1/adsets",
        params={"limit": "2"},
        headers={},
        platform="meta_ads",
        account_id="act_1",
        bodies=bodies,
    )
    return payload


async def test_fetch_json_reuses_a_successful_answer_only() -> None:
    error = b'{"error": {"code": 1}}'
    ok = b'{"data": []}'
    upstream = Answers((500, error), (500, error), (200, ok), (200, ok))
    bodies = DecodedBodies()
    first_error = await _get(upstream, bodies)
    assert await _get(upstream, bodies) is not first_error  # an error answer is not kept
    assert len(bodies) == 0
    first_ok = await _get(upstream, bodies)
    assert await _get(upstream, bodies) is first_ok
    assert len(bodies) == 1


async def test_fetch_json_with_bodies_still_reports_a_body_that_is_not_json() -> None:
    upstream = Answers((200, b"<html>"))
    with pytest.raises(MalformedResponseError):
        await _get(upstream, DecodedBodies())


class Mapped(Record, frozen=True):
    json: bytes
    context: str


def test_the_row_memo_knows_the_same_row_object_without_mapping_it_again() -> None:
    memo: RowMemo[Mapped] = RowMemo()
    calls: list[str] = []

    def mapper(context: str) -> Callable[[JsonObject], Mapped]:
        def map_row(raw: JsonObject) -> Mapped:
            calls.append(context)
            return Mapped(orjson.dumps(raw), context)

        return map_row

    row: JsonObject = {"id": "1", "name": "a"}
    first = memo.map("USD", row, mapper("USD"))
    assert memo.map("USD", row, mapper("USD")) is first
    assert calls == ["USD"]
    # The same object in another context (a currency changed) is mapped again.
    other = memo.map("EUR", row, mapper("EUR"))
    assert other == Mapped(orjson.dumps(row), "EUR")
    assert calls == ["USD", "EUR"]
    # An equal row that is another object is still found by its JSON.
    assert memo.map("EUR", dict(row), mapper("EUR")) is other
    assert calls == ["USD", "EUR"]


def test_the_row_memos_identity_table_is_bounded() -> None:
    memo: RowMemo[Mapped] = RowMemo(capacity=4, same_capacity=2)
    rows = [{"id": str(i)} for i in range(5)]
    for row in rows:
        memo.map("ctx", row, lambda raw: Mapped(orjson.dumps(raw), "ctx"))
    assert len(memo) == 4
    assert len(memo._same) == 2


def test_map_rows_maps_each_row_as_map_does() -> None:
    memo: RowMemo[Mapped] = RowMemo()
    calls: list[bytes] = []

    def map_row(raw: JsonObject) -> Mapped:
        calls.append(orjson.dumps(raw))
        return Mapped(orjson.dumps(raw), "ctx")

    rows: list[JsonObject] = [{"id": "1"}, {"id": "2"}]
    first = memo.map_rows("ctx", rows, map_row)
    assert first == [Mapped(b'{"id":"1"}', "ctx"), Mapped(b'{"id":"2"}', "ctx")]
    again = memo.map_rows("ctx", [rows[1], {"id": "1"}, {"id": "3"}], map_row)
    assert again[0] is first[1] and again[1] is first[0]
    assert again[2] == Mapped(b'{"id":"3"}', "ctx")
    assert len(calls) == 3
    other = memo.map_rows("other", rows, map_row)  # another context: mapped again
    assert [m.json for m in other] == [m.json for m in first]
    assert len(calls) == 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x", "data: expected an array, got str"),
        ([{"id": "1"}, 2], "data[]: expected an object, got int"),
        (None, "data: expected an array, got NoneType"),
    ],
)
def test_as_objects_fails_as_the_per_item_checks_did(value: object, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        as_objects(value, "data", "data[]")
    assert str(caught.value) == message


def test_as_objects_hands_a_decoded_array_of_objects_back_as_it_is() -> None:
    items = [{"id": "1"}, {"id": "2"}]
    assert as_objects(items, "data", "data[]") is items


def _tiktok(request_id: str, data: bytes = b'{"list":[{"adgroup_id":"1"}]}') -> bytes:
    """A TikTok envelope: its members in TikTok's order, the request_id a new one each time."""
    head = b'{"code":0,"message":"OK","request_id":"' + request_id.encode()
    return head + b'","data":' + data + b"}"


def test_an_answer_that_differs_only_in_its_volatile_member_gives_the_json_decoded_before() -> None:
    bodies = DecodedBodies(volatile="request_id")
    first = bodies.decode(REQUEST, _tiktok("20261130120000000000000001"))
    again = bodies.decode(REQUEST, _tiktok("20261130120000000000000002"))
    assert again is first
    assert bodies.decode(REQUEST, _tiktok("x")) is first  # another length too


@pytest.mark.parametrize(
    "changed",
    [
        _tiktok("2", b'{"list":[{"adgroup_id":"2"}]}'),  # the data changed as well
        b'{"code":0,"message":"Ok","request_id":"2","data":{"list":[{"adgroup_id":"1"}]}}',
        b'{"code":0,"message":"OK","data":{"list":[{"adgroup_id":"1"}]}}',  # no such member
        # The name only inside the data: not the envelope's, so never passed over.
        b'{"code":0,"message":"OK","data":{"list":[{"request_id":"9","adgroup_id":"1"}]}}',
    ],
    ids=["data", "message", "missing", "nested"],
)
def test_any_other_difference_is_decoded_again(changed: bytes) -> None:
    bodies = DecodedBodies(volatile="request_id")
    first = bodies.decode(REQUEST, _tiktok("1"))
    decoded = bodies.decode(REQUEST, changed)
    assert decoded is not first
    assert decoded == orjson.loads(changed)


def test_a_nested_volatile_name_does_not_hide_a_change_in_the_data() -> None:
    bodies = DecodedBodies(volatile="request_id")
    before = b'{"data":{"list":[{"request_id":"1","name":"a"}]}}'
    after = b'{"data":{"list":[{"request_id":"2","name":"a"}]}}'
    first = bodies.decode(REQUEST, before)
    assert bodies.decode(REQUEST, after) == orjson.loads(after)
    assert bodies.decode(REQUEST, after) is not first


def test_without_a_volatile_member_every_byte_counts() -> None:
    bodies = DecodedBodies()
    first = bodies.decode(REQUEST, _tiktok("1"))
    assert bodies.decode(REQUEST, _tiktok("2")) is not first
