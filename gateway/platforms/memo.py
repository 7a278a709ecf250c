"""Mapped rows remembered by the exact upstream JSON they came from."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

import orjson

from gateway.platforms.base import Record
from gateway.platforms.payload import JsonObject

#: Only immutable records may be remembered: they are handed to every request that reads the row.
R = TypeVar("R", bound=Record)

#: Rows remembered per client: a few pages of several accounts.
DEFAULT_CAPACITY = 1024
#: Rows known by identity per client (each holds its decoded row, about 3 KB): the rows of
#: the answers ``DecodedBodies`` keeps, which are the only ones handed in again as they are.
SAME_CAPACITY = 512
#: ... and at most this many bytes of their JSON per client, which bounds the memo's memory
#: whatever the rows' size: rows of 1-2 KB fill ``DEFAULT_CAPACITY`` first, rows of 8 KB (ad
#: sets with wide targeting) stop at 512, still more than a 200-row page of two accounts.
#: The mapped records take about as much again.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024


class RowMemo(Generic[R]):
    """A bounded memo of mapped rows, keyed by the row's JSON and the context mapping reads.

    Mapping a row is a pure function of the row and a little context (the account, its
    currency, an Apple campaign's geo and placements), and it was the largest per-row cost of
    a page. A table that is reloaded, or a page resumed inside rows already seen, gets the same
    bytes back from the platform; those rows are not mapped again. The key is the row as orjson
    writes it (compared whole, so never a false match), so a changed row is a new key and the
    platform's answer is always what is served. The oldest entries leave first, once there are
    ``capacity`` of them or their JSON passes ``max_bytes``.

    Writing a row out costs about 2.5 us (a twentieth of a cold row's whole cost), and a walk
    sees most rows once. So a row is written out only when its platform ID comes back in the
    same context: the first sighting notes the ID and maps the row; the second compares its
    JSON with the first row's (when that object is still held, below) and keeps it.

    Records handed out are shared between requests, which is why they must be ``Record``s:
    frozen, so no request can change what another one is served.

    A row that is the very object mapped before (an answer whose bytes had not changed, so its
    decoded JSON was reused: ``platforms.http.DecodedBodies``) is known by identity, without
    writing it out: the entry holds the row, so its ``id`` is not reused while it is kept,
    and the decoded JSON is only ever read.
    """

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        max_bytes: int = DEFAULT_MAX_BYTES,
        same_capacity: int = SAME_CAPACITY,
        *,
        id_field: str = "id",
    ) -> None:
        """``id_field``: the member of a row that holds its platform ID (a string or an
        integer), by which a row is known to have been seen before."""
        # An OrderedDict: evicting the oldest key of a plain dict is O(n) once many have gone.
        self._rows: OrderedDict[tuple[Hashable, bytes], R] = OrderedDict()
        self._capacity = capacity
        self._same_capacity = same_capacity
        # id(row) -> (row, context, record), for rows handed in again as the same object.
        self._same: OrderedDict[int, tuple[JsonObject, Hashable, R]] = OrderedDict()
        # (context, platform ID) -> id() of the row object it was first mapped from.
        self._seen: OrderedDict[tuple[Hashable, str | int], int] = OrderedDict()
        self._id_field = id_field
        self._max_bytes = max_bytes
        self._bytes = 0  # of the keys' JSON

    def __len__(self) -> int:
        """Rows remembered: by their platform ID, their JSON kept once seen twice."""
        return len(self._seen)

    @property
    def json_bytes(self) -> int:
        """Bytes of JSON held as keys."""
        return self._bytes

    def map(self, context: Hashable, raw: JsonObject, mapper: Callable[[JsonObject], R]) -> R:
        """``mapper(raw)``, or the record it gave for the same row and context before."""
        same = self._same.get(id(raw))
        if same is not None and same[0] is raw and same[1] == context:
            return same[2]
        return self._map_by_json(context, raw, mapper)

    def map_rows(
        self, context: Hashable, raws: Iterable[JsonObject], mapper: Callable[[JsonObject], R]
    ) -> list[R]:
        """``[self.map(context, raw, mapper) for raw in raws]``, with the rows known by
        identity taken in the loop itself (a repeated page's rows all are)."""
        same = self._same
        out: list[R] = []
        for raw in raws:
            hit = same.get(id(raw))
            if hit is not None and hit[0] is raw and hit[1] == context:
                out.append(hit[2])
            else:
                out.append(self._map_by_json(context, raw, mapper))
        return out

    def _map_by_json(
        self, context: Hashable, raw: JsonObject, mapper: Callable[[JsonObject], R]
    ) -> R:
        """``map`` for a row not known by identity: mapped afresh when its platform ID was not
        seen in this context before, else found by its JSON (mapped afresh if that changed)."""
        row_id = raw.get(self._id_field)
        seen = self._seen
        if type(row_id) is str or type(row_id) is int:
            seen_key = (context, row_id)
            first = seen.get(seen_key)
            if first is None:
                # Seen for the first time: most rows of a walk are seen only once, so they are
                # not written out (about 2.5 us a row) until they come back.
                fresh = mapper(raw)
                seen[seen_key] = id(raw)
                if len(seen) > self._capacity:
                    seen.popitem(last=False)
                self._remember_same(raw, context, fresh)
                return fresh
            seen.move_to_end(seen_key)
        else:
            first = None  # no ID to know it by (a malformed row): by its JSON only
        # An exact-size copy, made before the lookup so that its hash (over the whole JSON) is
        # computed once: orjson returns its whole write buffer (8 KB for a 1 KB row, 64 KB for
        # an 8 KB one), which a new entry would hold for as long as it is kept.
        key = (context, memoryview(orjson.dumps(raw)).tobytes())
        rows = self._rows
        record = rows.get(key)
        if record is None:
            record = rows[key] = self._first_record(first, key, raw, mapper)
            self._bytes += len(key[1])
            # The row just added stays, even alone over ``max_bytes``: it is being served.
            while len(rows) > self._capacity or (self._bytes > self._max_bytes and len(rows) > 1):
                self._bytes -= len(rows.popitem(last=False)[0][1])
        self._remember_same(raw, context, record)
        return record

    def _first_record(
        self,
        first: int | None,
        key: tuple[Hashable, bytes],
        raw: JsonObject,
        mapper: Callable[[JsonObject], R],
    ) -> R:
        """The record of a row seen before but whose JSON was not kept: the record of its
        first sighting when that row object is still held (``_same``) and writes the same JSON
        in the same context, else ``mapper(raw)``."""
        held = None if first is None else self._same.get(first)
        if held is not None and held[1] == key[0] and orjson.dumps(held[0]) == key[1]:
            return held[2]
        return mapper(raw)

    def _remember_same(self, raw: JsonObject, context: Hashable, record: R) -> None:
        same = self._same
        if len(same) >= self._same_capacity:
            same.popitem(last=False)
        same[id(raw)] = (raw, context, record)
