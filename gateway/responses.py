"""JSON responses and the app's exception handlers: every REST error body is written here.

Errors are raised, never returned: a ``GatewayError`` says its own status, headers and body
(see ``errors``), Starlette's routing errors keep theirs, and anything else is a 500 whose body
says nothing about the cause (the log has it, with its traceback). Every error body carries the
request's id (``error.requestId``), the one in its ``X-Request-ID`` header and its log line.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import GatewayError
from gateway.observability.context import request_id
from gateway.wire import dumps

log = logging.getLogger("gateway")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An orjson-encoded JSON response."""
    return Response(dumps(body), status_code=status, media_type="application/json", headers=headers)


def error_body(error: dict[str, Any]) -> dict[str, Any]:
    """``{"error": {..., "requestId"}}``: the REST error body, with the request's id."""
    rid = request_id()
    if rid is not None:
        error = {**error, "requestId": rid}
    return {"error": error}


def error_response(
    error: dict[str, Any], status: int, headers: Mapping[str, str] | None = None
) -> Response:
    """The REST error body (``error_body``) as a response."""
    return json_response(error_body(error), status, dict(headers) if headers else None)


async def gateway_error(_: Request, exc: Exception) -> Response:
    """``{"error": {...}}`` with the status and headers the error's class names."""
    assert isinstance(exc, GatewayError)
    body = exc.body()
    if exc.status_code in (502, 503):
        # What an operator asks first of a 502/503: which accounts, and what they answered.
        log.warning(
            "answered %d %s",
            exc.status_code,
            exc.code,
            extra={"event": "upstream_error", "code": exc.code, "sources": body.get("sources")},
        )
    return error_response(body, exc.status_code, exc.headers)


async def http_error(_: Request, exc: Exception) -> Response:
    """Unknown routes and methods, in the same envelope."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(
        {"code": code, "message": exc.detail},
        exc.status_code,
        # A 405 names the allowed methods in Allow (RFC 9110); Starlette puts it here.
        headers=dict(exc.headers) if exc.headers else None,
    )


async def internal_error(_: Request, exc: Exception) -> Response:
    """A bug: the log has the traceback (secrets redacted by its filter), the body nothing."""
    log.error("internal error %s", type(exc).__name__, exc_info=exc, extra={"event": "internal"})
    return error_response({"code": "internal_error", "message": "Unexpected error."}, 500)


#: For ``Starlette(exception_handlers=...)``.
EXCEPTION_HANDLERS: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    GatewayError: gateway_error,
    HTTPException: http_error,
    Exception: internal_error,
}
