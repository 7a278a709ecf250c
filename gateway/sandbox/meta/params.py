"""The list parameters of a Graph edge: status and campaign filters, ``limit``, ``summary``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from gateway.platforms.meta.statuses import EFFECTIVE_STATUSES
from gateway.sandbox.meta.errors import bad_param

MAX_LIMIT = 500
DEFAULT_LIMIT = 25
STATUS_VALUES = frozenset(EFFECTIVE_STATUSES)


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


def status_list(value: Any, name: str) -> set[str]:
    values = value if isinstance(value, list) else [value]
    for i, item in enumerate(values):
        if item not in STATUS_VALUES:
            allowed = ", ".join(EFFECTIVE_STATUSES)
            raise bad_param(f"Param {name}[{i}] must be one of {{{allowed}}}")
    return set(values)


@dataclass(frozen=True, slots=True)
class Filters:
    """Effective statuses to show (None = Meta's default) and campaign ids (None = any)."""

    statuses: frozenset[str] | None
    campaigns: frozenset[str] | None


def read_filters(request: Request, status_fields: tuple[str, ...]) -> Filters:
    statuses: set[str] | None = None
    named = json_param(request, "effective_status")
    if named is not None:
        statuses = status_list(named, "effective_status")
    campaigns: set[str] | None = None
    filtering = json_param(request, "filtering")
    if filtering is not None:
        if not isinstance(filtering, list):
            raise bad_param("Param filtering must be an array of filter objects")
        for rule in filtering:
            if not isinstance(rule, dict) or not {"field", "operator", "value"} <= rule.keys():
                raise bad_param("Each filter needs field, operator and value")
            field, operator, value = rule["field"], rule["operator"], rule["value"]
            if operator not in ("IN", "EQUAL"):
                raise bad_param(f"Filtering operator {operator} is not supported")
            values = value if isinstance(value, list) else [value]
            if field in status_fields:
                found = status_list(values, "filtering.value")
                statuses = found if statuses is None else statuses & found
            elif field == "campaign.id":
                ids = {str(v) for v in values}
                campaigns = ids if campaigns is None else campaigns & ids
            else:
                raise bad_param(f"Filtering field {field} is invalid")
    return Filters(
        statuses=None if statuses is None else frozenset(statuses),
        campaigns=None if campaigns is None else frozenset(campaigns),
    )


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
