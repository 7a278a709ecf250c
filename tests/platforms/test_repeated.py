"""RepeatedRows: an account's last page is taken whole only for the very same rows in an
equal context, and only the last few accounts' pages are kept."""

from __future__ import annotations

import orjson

from gateway.platforms.base import Record
from gateway.platforms.payload import JsonObject
from gateway.platforms.repeated import RepeatedRows


class Mapped(Record, frozen=True):
    json: bytes


def mapped(rows: list[JsonObject]) -> list[Mapped]:
    return [Mapped(orjson.dumps(row)) for row in rows]


def test_the_same_rows_in_an_equal_context_give_the_records_kept() -> None:
    repeated: RepeatedRows[Mapped] = RepeatedRows()
    rows: list[JsonObject] = [{"id": "1"}, {"id": "2"}]
    records = mapped(rows)
    repeated.keep("act_1", rows, ("act_1", "USD"), records)
    again = repeated.records("act_1", list(rows), ("act_1", "USD"))
    assert again == records
    assert again is not None and all(a is b for a, b in zip(again, records, strict=True))


def test_anything_else_is_mapped_again() -> None:
    repeated: RepeatedRows[Mapped] = RepeatedRows()
    rows: list[JsonObject] = [{"id": "1"}, {"id": "2"}]
    repeated.keep("act_1", rows, "USD", mapped(rows))
    assert repeated.records("act_2", rows, "USD") is None  # another account
    assert repeated.records("act_1", rows, "EUR") is None  # another context
    assert repeated.records("act_1", rows[:1], "USD") is None  # fewer rows
    assert repeated.records("act_1", rows[::-1], "USD") is None  # another order
    # equal rows that are other objects: decoded anew, so maybe changed since
    assert repeated.records("act_1", [dict(r) for r in rows], "USD") is None


def test_the_accounts_listed_last_are_kept_up_to_a_number_of_rows() -> None:
    repeated: RepeatedRows[Mapped] = RepeatedRows(max_rows=4)
    pages: dict[str, list[JsonObject]] = {
        f"act_{n}": [{"id": f"{n}.{i}"} for i in range(2)] for n in range(3)
    }
    for account, rows in pages.items():
        repeated.keep(account, rows, "USD", mapped(rows))
    assert len(repeated) == 2
    assert repeated.records("act_0", pages["act_0"], "USD") is None
    assert repeated.records("act_2", pages["act_2"], "USD") == mapped(pages["act_2"])
    # an account's page kept again replaces its last one
    repeated.keep("act_1", pages["act_1"][:1], "USD", mapped(pages["act_1"][:1]))
    assert len(repeated) == 2
    # a page over the bound alone is kept, the others go
    big: list[JsonObject] = [{"id": str(i)} for i in range(5)]
    repeated.keep("act_3", big, "USD", mapped(big))
    assert len(repeated) == 1
    assert repeated.records("act_3", big, "USD") == mapped(big)
