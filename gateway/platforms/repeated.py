"""The records of an account's last page, for the same rows asked again."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

from gateway.platforms.base import Record
from gateway.platforms.memo import RowMemo
from gateway.platforms.payload import JsonObject
from gateway.repeats import SameObjects

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
    listed last are kept (``repeats.SameObjects``), up to ``max_rows`` rows in all (the last
    page kept whatever its size)."""

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        # By account: the context of its last rows and the records they gave.
        self._last: SameObjects[Hashable, tuple[object, list[R]]] = SameObjects(max_rows, max_rows)

    def __len__(self) -> int:
        return len(self._last)

    def records(
        self, account: Hashable, rows: Sequence[JsonObject], context: object
    ) -> list[R] | None:
        """The records of the account's last page if ``rows`` are its rows, the same
        objects in the same order, and ``context`` equals its context; else None."""
        last = self._last.get(account, rows)
        if last is None or last[0] != context:
            return None
        return list(last[1])

    def mapped(
        self,
        account: Hashable,
        rows: Sequence[JsonObject],
        context: Hashable,
        memo: RowMemo[R],
        mapper: Callable[[JsonObject], R],
    ) -> list[R]:
        """``records(account, rows, context)``, else the rows mapped through ``memo``
        (``memo.map_rows(context, rows, mapper)``), kept as the account's last page."""
        records = self.records(account, rows, context)
        if records is None:
            records = memo.map_rows(context, rows, mapper)
            self.keep(account, rows, context, records)
        return records

    def keep(
        self, account: Hashable, rows: Sequence[JsonObject], context: object, records: list[R]
    ) -> None:
        """Remember ``records`` as what ``rows`` gave in ``context``: the account's last page."""
        self._last.put(account, rows, (context, list(records)))
