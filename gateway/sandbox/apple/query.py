"""Apple's v1 ``/query`` semantics over one seeded account: filters, sorting, pagination,
and the 400 answers Apple gives to bodies it rejects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.sandbox.apple.model import ENABLED, PAUSED, AccountData, Row


class QueryError(Exception):
    """A query body Apple would reject with HTTP 400; ``details`` are v1 ErrorDetail dicts."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.details = [
            {"code": "INVALID_FILTER", "message": message, "info": {"field": field_name}}
        ]


_MULTI = frozenset({"IN", "NOT_IN"})
#: Filterable fields and their operators, per the "Query Ad Groups" / "Query Campaigns" pages.
_FILTERS: dict[str, dict[str, tuple[str, ...]]] = {
    "adgroups": {
        "id": ("EQUALS", "IN"),
        "campaignId": ("EQUALS",),
        "name": ("EQUALS", "STARTS_WITH"),
        "status": ("EQUALS", "IN"),
        "startTime": ("LESS_THAN", "GREATER_THAN"),
        "endTime": ("LESS_THAN", "GREATER_THAN"),
        "deleted": ("EQUALS",),
    },
    "campaigns": {
        "id": ("EQUALS", "IN"),
        "name": ("EQUALS", "IN", "STARTS_WITH", "ENDS_WITH"),
        "status": ("EQUALS", "IN"),
        "billingEvent": ("EQUALS", "IN"),
        "promotedObjectType": ("EQUALS", "NOT_EQUALS", "IN", "NOT_IN"),
        "promotedObjectId": ("EQUALS", "NOT_EQUALS", "IN", "NOT_IN"),
        "deleted": ("EQUALS", "IN"),
    },
}
_SORTABLE: dict[str, frozenset[str]] = {
    "adgroups": frozenset(
        {
            "id",
            "campaignId",
            "name",
            "status",
            "startTime",
            "endTime",
            "deleted",
            "creationTime",
            "modificationTime",
        }
    ),
    "campaigns": frozenset(
        {
            "id",
            "name",
            "status",
            "billingEvent",
            "startTime",
            "endTime",
            "deleted",
            "creationTime",
            "modificationTime",
        }
    ),
}
_INT_FIELDS = frozenset({"id", "campaignId"})
_ENUMS = {"status": frozenset({ENABLED, PAUSED})}
MAX_QUERY_PAGE = 1000
DEFAULT_QUERY_PAGE = 20


@dataclass(frozen=True, slots=True)
class _Filter:
    field: str
    operator: str
    values: tuple[Any, ...]

    def test(self, row: Row) -> bool:
        value = row.get(self.field)
        op = self.operator
        if op in ("EQUALS", "IN"):
            return value in self.values
        if op in ("NOT_EQUALS", "NOT_IN"):
            return value not in self.values
        if value is None:
            return False
        target = self.values[0]
        if op == "STARTS_WITH":
            return str(value).startswith(target)
        if op == "ENDS_WITH":
            return str(value).endswith(target)
        if op == "LESS_THAN":
            return bool(value < target)
        return bool(value > target)  # GREATER_THAN


def _parse_filter(kind: str, raw: Any) -> _Filter:
    if not isinstance(raw, dict):
        raise QueryError("filters", "Each filter must be an object.")
    name, op = raw.get("field"), raw.get("operator")
    allowed = _FILTERS[kind]
    if not isinstance(name, str) or name not in allowed:
        raise QueryError(str(name), f"Field {name!r} is not filterable.")
    if op not in allowed[name]:
        raise QueryError(name, f"Operator {op!r} is not supported for field {name!r}.")
    value = raw.get("value")
    if op in _MULTI:
        if not isinstance(value, list) or not value:
            raise QueryError(name, f"Operator {op} needs a non-empty array value.")
        values = tuple(value)
    elif isinstance(value, list):
        if op != "EQUALS" or len(value) != 1:
            raise QueryError(name, f"Operator {op} needs a single value.")
        values = (value[0],)
    else:
        values = (value,)
    return _Filter(name, str(op), tuple(_check_value(name, item) for item in values))


def _check_value(name: str, value: Any) -> Any:
    """``value`` checked for ``name``; an id given as a numeric string becomes its integer
    (``QueryFilter.value`` is untyped, and clients send ids as strings)."""
    if name in _INT_FIELDS:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif name == "deleted":
        ok = isinstance(value, bool)
    elif name in ("startTime", "endTime"):
        ok = isinstance(value, str) and _is_time(value)
    else:
        ok = isinstance(value, str) and (name not in _ENUMS or value in _ENUMS[name])
    if not ok:
        raise QueryError(name, f"Invalid value {value!r} for field {name!r}.")
    return value


def _is_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _int_in(raw: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise QueryError(
            f"pagination.{key}", f"pagination.{key} must be an integer in [{low}, {high}]."
        )
    return value


def run_query(kind: str, data: AccountData, body: Any) -> tuple[int, dict[str, Any]]:
    """Answer a v1 ``/query`` body for ``kind`` ("adgroups" or "campaigns") over one account.

    Deleted rows are hidden unless a ``deleted`` filter admits them; filters are AND-ed.
    """
    if not isinstance(body, dict):
        raise QueryError("body", "The query body must be an object.")
    unknown = set(body) - {"filters", "sorting", "pagination"}
    if unknown:
        raise QueryError(sorted(unknown)[0], f"Unknown query field {sorted(unknown)[0]!r}.")
    raw_filters = body.get("filters") or []
    if not isinstance(raw_filters, list):
        raise QueryError("filters", "filters must be an array.")
    filters = [_parse_filter(kind, f) for f in raw_filters]
    sorting = _parse_sorting(kind, body.get("sorting") or [])
    paging = body.get("pagination") or {}
    if not isinstance(paging, dict):
        raise QueryError("pagination", "pagination must be an object.")
    offset = _int_in(paging, "offset", 0, 0, 2**31 - 1)
    size = _int_in(paging, "pageSize", DEFAULT_QUERY_PAGE, 1, MAX_QUERY_PAGE)
    fetch_total = paging.get("fetchTotalCount", False)
    if not isinstance(fetch_total, bool):
        raise QueryError("pagination.fetchTotalCount", "fetchTotalCount must be a boolean.")

    rows = _candidates(kind, data, filters)
    if sorting:
        rows = list(rows)  # never sort an index list in place
        for name, order in reversed(sorting):
            rows.sort(key=_sort_key(name), reverse=order == "DESC")
    pagination: dict[str, Any] = {"offset": offset, "pageSize": size}
    if fetch_total:
        pagination["totalCount"] = len(rows)
    return 200, {"result": rows[offset : offset + size], "pagination": pagination}


def _sort_key(name: str) -> Callable[[Row], tuple[bool, Any]]:
    """Sort by ``name`` with nulls last (ascending)."""

    def key(row: Row) -> tuple[bool, Any]:
        value = row.get(name)
        return value is None, value

    return key


def _parse_sorting(kind: str, raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, list):
        raise QueryError("sorting", "sorting must be an array.")
    out: list[tuple[str, str]] = []
    for item in raw:
        name = item.get("field") if isinstance(item, dict) else None
        order = item.get("order", "ASC") if isinstance(item, dict) else None
        if name not in _SORTABLE[kind]:
            raise QueryError(str(name), f"Field {name!r} is not sortable.")
        if order not in ("ASC", "DESC"):
            raise QueryError("order", "order must be ASC or DESC.")
        out.append((str(name), str(order)))
    if out == [("id", "ASC")]:
        return []  # the stored order already
    return out


def _candidates(kind: str, data: AccountData, filters: list[_Filter]) -> list[Row]:
    """Rows matching ``filters`` in id order, using the precomputed indexes where possible."""
    deleted: set[bool] = {False}
    rest: list[_Filter] = []
    explicit = False
    for f in filters:
        if f.field == "deleted":
            chosen = {bool(v) for v in f.values}
            deleted = chosen if not explicit else deleted & chosen
            explicit = True
        else:
            rest.append(f)
    if kind == "campaigns":
        rows = [c for c in data.campaigns if c["deleted"] in deleted]
        return [r for r in rows if all(f.test(r) for f in rest)]
    campaign: int | None = None
    status: str | None = None
    generic: list[_Filter] = []
    for f in rest:
        if f.field == "campaignId" and campaign is None:
            campaign = f.values[0]
        elif f.field == "status" and status is None and len(f.values) == 1:
            status = f.values[0]
        else:
            generic.append(f)
    parts = [data.select(campaign, d, status) for d in sorted(deleted)]
    rows = (
        parts[0]
        if len(parts) == 1
        else sorted((r for p in parts for r in p), key=lambda r: r["id"])
    )
    if generic:
        rows = [r for r in rows if all(f.test(r) for f in generic)]
    return rows
