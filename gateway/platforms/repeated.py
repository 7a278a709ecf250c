"""The records of an account's last page, for the same rows asked again."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

from gateway.platforms.base import Record
from gateway.platforms.payload import JsonObject

R = TypeVar("R", bound=Record)

#: Rows of last pages kept per client, as many as the row memo keeps records
#: (``platforms.memo.DEFAULT_CAPACITY``): the records are the memo's, and the rows are
#: mostly held by the answers ``DecodedBodies`` keeps anyway.
MAX_ROWS = 1024


class RepeatedRows(Generic[R]):
    """Per account, the rows of its last page, the context they were mapped in and the
    records they gave.

    A repeated page's rows are the very objects of the page before: an answer whose bytes
    had not changed is not decoded again (``platforms.http.DecodedBodies``). Mapped in an
    equal context (the account's currency, Apple's campaign catalog), they give the same
    records, so those are taken whole, in one comparison of the rows' identities, instead
    of a lookup per row in the row memo (``platforms.memo``). The pages of the accounts
    listed last are kept, up to ``max_rows`` rows in all (the last page kept whatever its
    size)."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self._max_rows = max_rows
        self._rows = 0
        self._last: OrderedDict[Hashable, tuple[list[JsonObject], object, list[R]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._last)

    def records(
        self, account: Hashable, rows: Sequence[JsonObject], context: object
    ) -> list[R] | None:
        """The records of the account's last page if ``rows`` are its rows, the same
        objects in the same order, and ``context`` equals its context; else None."""
        last = self._last.get(account)
        if (
            last is None
            or len(last[0]) != len(rows)
            or last[1] != context
            or not all(map(operator.is_, last[0], rows))
        ):
            return None
        return list(last[2])

    def mapped(
        self,
        account: Hashable,
        rows: Sequence[JsonObject],
        context: object,
        map_rows: Callable[[], list[R]],
    ) -> list[R]:
        """``records(account, rows, context)``, else ``map_rows()``, kept as the account's
        last page."""
        records = self.records(account, rows, context)
        if records is None:
            records = map_rows()
            self.keep(account, rows, context, records)
        return records

    def keep(
        self, account: Hashable, rows: Sequence[JsonObject], context: object, records: list[R]
    ) -> None:
        """Remember ``records`` as what ``rows`` gave in ``context``: the account's last page."""
        last = self._last
        replaced = last.pop(account, None)
        if replaced is not None:
            self._rows -= len(replaced[0])
        last[account] = (list(rows), context, list(records))
        self._rows += len(rows)
        while self._rows > self._max_rows and len(last) > 1:
            self._rows -= len(last.popitem(last=False)[1][0])
