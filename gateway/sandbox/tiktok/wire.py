"""TikTok's wire habits shared by every endpoint: the ``{code, message, request_id, data}``
envelope (always HTTP 200), JSON-encoded query parameters, field selection and page-number
paging, and TikTok's own fault forms."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from gateway.sandbox.control import CannedResponse, FaultForms
from gateway.sandbox.tiktok.seed import Row

MAX_FILTER_IDS = 100


_request_ids = itertools.count(1)


def _request_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d%H%M%S}{next(_request_ids):012X}"


def envelope(code: int, message: str, data: Any = None) -> bytes:
    """A TikTok response body."""
    return orjson.dumps(
        {
            "code": code,
            "message": message,
            "request_id": _request_id(),
            "data": {} if data is None else data,
        }
    )


def _canned(code: int, message: str) -> Callable[[Scope], CannedResponse]:
    return lambda _scope: CannedResponse(200, envelope(code, message))


#: TikTok's own forms: a system error, a throttle and a rejected token, all HTTP 200.
FAULT_FORMS = FaultForms(
    server_error=_canned(50000, "System error."),
    throttle=_canned(40100, "Requests made too frequently."),
    auth=_canned(40105, "The access token is invalid or has been revoked."),
)


class ApiError(Exception):
    """A business error answered in the envelope."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def reply(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def answer(request: Request, endpoint: Callable[[Request], Any]) -> Response:
    """``endpoint``'s data in the success envelope, or its ``ApiError`` in the error one."""
    try:
        data = endpoint(request)
    except ApiError as exc:
        return reply(envelope(exc.code, exc.message))
    return reply(envelope(0, "OK", data))


def json_param(request: Request, name: str, default: Any) -> Any:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(40002, f"{name}: Not a valid JSON.") from exc


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(40002, f"{name}: Not a valid integer.") from exc
    if not low <= value <= high:
        raise ApiError(40002, f"{name}: Must be greater than or equal to {low} and less than "
                       f"or equal to {high}.")  # fmt: skip
    return value


def id_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(40002, f"{name}: Not a valid list of strings.")
    if len(value) > MAX_FILTER_IDS:
        raise ApiError(40002, f"{name}: Length must be between 1 and {MAX_FILTER_IDS}.")
    return value


def fields_param(request: Request, known: frozenset[str]) -> Sequence[str] | None:
    fields = json_param(request, "fields", None)
    if fields is None:
        return None
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ApiError(40002, "fields: Not a valid list of strings.")
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise ApiError(40002, f"fields: Invalid field: {unknown[0]}")
    return fields


def project(rows: Sequence[Row], fields: Sequence[str] | None) -> list[Row]:
    if fields is None:
        return list(rows)
    return [{f: r[f] for f in fields if f in r} for r in rows]


def page_of(rows: Sequence[Row], page: int, page_size: int, fields: Sequence[str] | None) -> Any:
    total = len(rows)
    chunk = rows[(page - 1) * page_size : page * page_size]
    return {
        "list": project(chunk, fields),
        "page_info": {
            "page": page,
            "page_size": page_size,
            "total_number": total,
            "total_page": math.ceil(total / page_size),
        },
    }
