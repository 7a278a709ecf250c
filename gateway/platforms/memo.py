"""Mapped rows remembered by the exact upstream JSON they came from."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import orjson

from gateway.platforms.base import Record
from gateway.platforms.payload import JsonObject

#: Only immutable records may be remembered: they are handed to every request that reads the row.
R = TypeVar("R", bound=Record)

#: Rows remembered per client (about 2 KB each, key included): the first pages of ten
#: accounts or so.
DEFAULT_CAPACITY = 1024


class RowMemo(Generic[R]):
    """A bounded memo of mapped rows, keyed by the row's JSON and the context mapping reads.

    Mapping a row is a pure function of the row and a little context (the account, its
    currency, an Apple campaign's geo and placements), and it was the largest per-row cost of
    a page. A table that is reloaded, or a page resumed inside rows already seen, gets the same
    bytes back from the platform; those rows are not mapped again. The key is the row as orjson
    writes it (about 1 us; compared whole, so never a false match), so a changed row is a new key
    and the platform's answer is always what is served. The oldest entries leave first.

    Records handed out are shared between requests, which is why they must be ``Record``s:
    frozen, so no request can change what another one is served.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        # An OrderedDict: evicting the oldest key of a plain dict is O(n) once many have gone.
        self._rows: OrderedDict[tuple[Hashable, bytes], R] = OrderedDict()
        self._capacity = capacity

    def __len__(self) -> int:
        return len(self._rows)

    def map(self, context: Hashable, raw: JsonObject, mapper: Callable[[JsonObject], R]) -> R:
        """``mapper(raw)``, or the record it gave for the same row and context before."""
        key = (context, orjson.dumps(raw))
        rows = self._rows
        record = rows.get(key)
        if record is None:
            record = mapper(raw)
            if len(rows) >= self._capacity:
                rows.popitem(last=False)
            rows[key] = record
        return record
