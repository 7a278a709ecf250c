"""The records of an account's last page, for the same rows asked again."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

from gateway.platforms.base import Record
from gateway.platforms.payload import JsonObject

R = TypeVar("R", bound=Record)

#: Accounts whose last page is kept per client: as many as the answers ``DecodedBodies``
#: keeps, which hold the same rows alive anyway.
CAPACITY = 8


class RepeatedRows(Generic[R]):
    """Per account, the rows of its last page, the context they were mapped in and the
    records they gave.

    A repeated page's rows are the very objects of the page before: an answer whose bytes
    had not changed is not decoded again (``platforms.http.DecodedBodies``). Mapped in an
    equal context (the account's currency, Apple's campaign catalog), they give the same
    records, so those are taken whole, in one comparison of the rows' identities, instead
    of a lookup per row in the row memo (``platforms.memo``). The accounts' last pages are
    kept for the ``capacity`` accounts listed last."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
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

    def keep(
        self, account: Hashable, rows: Sequence[JsonObject], context: object, records: list[R]
    ) -> None:
        """Remember ``records`` as what ``rows`` gave in ``context``: the account's last page."""
        last = self._last
        last[account] = (list(rows), context, list(records))
        last.move_to_end(account)
        if len(last) > self._capacity:
            last.popitem(last=False)
