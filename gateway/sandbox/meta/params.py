"""The list parameters of a Graph edge: status, campaign and time filters, ``limit``,
``summary``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request

from gateway.sandbox.meta.errors import bad_param
from gateway.sandbox.meta.seed import Node

MAX_LIMIT = 500
DEFAULT_LIMIT = 25

#: Comparison operators Graph's ``filtering`` takes on time fields (values in unix seconds;
#: the ranges take ``[low, high]``, both ends included).
TIME_OPERATORS = frozenset(
    {
        "EQUAL", "NOT_EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN",
        "LESS_THAN_OR_EQUAL", "IN_RANGE", "NOT_IN_RANGE",
    }
)  # fmt: skip
TIME_FIELDS = ("created_time", "updated_time", "start_time", "end_time", "stop_time")

RowTest = Callable[[Node], bool]


@dataclass(frozen=True, slots=True)
class EdgeRules:
    """What one edge accepts: its ``effective_status`` parameter values, the values its
    ``filtering`` takes, and the node prefix of its filter fields (``adset``, ``campaign``)."""

    param_statuses: frozenset[str]
    filter_statuses: frozenset[str]
    prefix: str


@dataclass(frozen=True, slots=True)
class Filters:
    """Effective statuses to show (None = Meta's default), campaign ids (None = any), and
    further row tests (time comparisons)."""

    statuses: frozenset[str] | None
    campaigns: frozenset[str] | None
    tests: tuple[RowTest, ...] = ()


def json_param(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        if name == "effective_status" and not raw.startswith("["):
            return raw.split(",")  # the comma form Graph also accepts
        raise bad_param(f"Param {name} must be a JSON array") from None


def status_list(value: Any, name: str, allowed: frozenset[str]) -> set[str]:
    values = value if isinstance(value, list) else [value]
    for i, item in enumerate(values):
        if item not in allowed:
            names = ", ".join(sorted(allowed))
            raise bad_param(f"Param {name}[{i}] must be one of {{{names}}}")
    return set(values)


def read_filters(request: Request, rules: EdgeRules) -> Filters:
    statuses: set[str] | None = None
    named = json_param(request, "effective_status")
    if named is not None:
        statuses = status_list(named, "effective_status", rules.param_statuses)
    campaigns: set[str] | None = None
    tests: list[RowTest] = []
    filtering = json_param(request, "filtering")
    if filtering is not None:
        if not isinstance(filtering, list):
            raise bad_param("Param filtering must be an array of filter objects")
        for rule in filtering:
            if not isinstance(rule, dict) or not {"field", "operator", "value"} <= rule.keys():
                raise bad_param("Each filter needs field, operator and value")
            field, operator, value = rule["field"], rule["operator"], rule["value"]
            node, _, name = str(field).rpartition(".")
            if name in TIME_FIELDS and node in ("", rules.prefix):
                tests.append(_time_test(name, operator, value))
                continue
            if operator not in ("IN", "EQUAL"):
                raise bad_param(f"Filtering operator {operator} is not supported on {field}")
            values = value if isinstance(value, list) else [value]
            if field in ("effective_status", f"{rules.prefix}.effective_status"):
                found = status_list(values, "filtering.value", rules.filter_statuses)
                statuses = found if statuses is None else statuses & found
            elif field == "campaign.id":
                ids = {str(v) for v in values}
                campaigns = ids if campaigns is None else campaigns & ids
            else:
                raise bad_param(f"Filtering field {field} is invalid")
    return Filters(
        statuses=None if statuses is None else frozenset(statuses),
        campaigns=None if campaigns is None else frozenset(campaigns),
        tests=tuple(tests),
    )


def _unix_value(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise bad_param(f"Filtering value for {field} must be a unix timestamp")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise bad_param(f"Filtering value for {field} must be a unix timestamp")


def _time_test(name: str, operator: Any, value: Any) -> RowTest:
    """A row test comparing the row's ``name`` time with ``value`` (unix seconds)."""
    if operator not in TIME_OPERATORS:
        raise bad_param(f"Filtering operator {operator} is not supported on {name}")
    if operator in ("IN_RANGE", "NOT_IN_RANGE"):
        if not isinstance(value, list) or len(value) != 2:
            raise bad_param(f"Filtering operator {operator} needs a [low, high] value")
        low, high = _unix_value(value[0], name), _unix_value(value[1], name)
        inside = operator == "IN_RANGE"
        return lambda row: _compare(row, name, lambda t: (low <= t <= high) == inside)
    target = _unix_value(value, name)
    checks: dict[str, Callable[[int], bool]] = {
        "EQUAL": lambda t: t == target,
        "NOT_EQUAL": lambda t: t != target,
        "GREATER_THAN": lambda t: t > target,
        "GREATER_THAN_OR_EQUAL": lambda t: t >= target,
        "LESS_THAN": lambda t: t < target,
        "LESS_THAN_OR_EQUAL": lambda t: t <= target,
    }
    check = checks[operator]
    return lambda row: _compare(row, name, check)


def _compare(row: Node, name: str, check: Callable[[int], bool]) -> bool:
    text = row.get(name)
    return isinstance(text, str) and check(unix_time(text))


@functools.lru_cache(maxsize=65_536)
def unix_time(text: str) -> int:
    """Unix seconds of a Graph time (``2026-04-01T00:00:00-0700``)."""
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp())


def limit_param(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_param(f"Param limit must be an integer between 1 and {MAX_LIMIT}")
    return int(raw)


def summary_param(request: Request) -> bool:
    raw = request.query_params.get("summary")
    if raw is None or raw in ("false", "0"):
        return False
    if raw in ("true", "1") or "total_count" in raw.split(","):
        return True
    raise bad_param(f"Param summary: unknown summary field ({raw})")
