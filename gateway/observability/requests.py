"""The outermost layer of the app: a request id, a log line, a metric and a span per request.

It wraps Starlette's whole stack (like the sandbox-mode header) so that it sees every answer,
500s included: Starlette's server-error middleware writes the 500 and then re-raises the
exception for the server to log; here it has been logged already (with its traceback, by
``responses.internal_error``), so it ends here instead of reaching the server a second time.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Sequence
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.middleware import set_headers
from gateway.observability.context import RequestScope, enter, leave
from gateway.observability.metrics import UNKNOWN_ROUTE, Metrics
from gateway.observability.tracing import Tracing, set_attributes

REQUEST_ID_HEADER: Final = "X-Request-ID"
_REQUEST_ID_NAME: Final = REQUEST_ID_HEADER.lower().encode("latin-1")
#: A client's id is kept when it is this short and plain (it is echoed in headers and logs).
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

log = logging.getLogger("gateway.requests")


def request_id_from(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when it is safe to echo, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _VALID_REQUEST_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's template (``/v1/projects/{project_id}/ads/adsets``), never the
    path itself, so metric labels stay bounded."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNKNOWN_ROUTE


class RequestObserver:
    """Gives each HTTP request an id (echoed in ``X-Request-ID``), then logs, measures and
    traces it. ``headers`` are set on every response too (before the id), in the same pass:
    the app's fixed headers (``middleware.ModeAwareStarlette``)."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        tracing: Tracing,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        self._app = app
        self._metrics = metrics
        self._tracing = tracing
        self._headers = tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request = RequestScope(request_id_from(scope), self._metrics, self._tracing)
        status = 500
        started = time.perf_counter()
        headers = (*self._headers, (_REQUEST_ID_NAME, request.request_id.encode("latin-1")))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                set_headers(message, headers)
            await send(message)

        token = enter(request)
        method = scope["method"]
        try:
            if self._tracing.enabled:
                status = await self._traced(scope, receive, send_with_id, request)
            else:
                try:
                    await self._app(scope, receive, send_with_id)
                except Exception:  # logged with its traceback by the 500 handler
                    status = 500
        finally:
            leave(token)
        route = route_template(scope)
        seconds = time.perf_counter() - started
        self._metrics.observe_server(route, method, status, seconds)
        log.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "event": "request",
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": request.request_id,
                "project_id": request.project_id,
                "key_id": request.key_id,
                "upstream_calls": request.upstream_calls,
                "retries": request.retries,
            },
        )

    async def _traced(
        self, scope: Scope, receive: Receive, send: Send, request: RequestScope
    ) -> int:
        """The request inside its server span; the status it was answered with."""
        status = 500
        method = scope["method"]

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self._tracing.span(f"{method}", "server", {"http.request.method": method}) as span:
            try:
                await self._app(scope, receive, send_noting_status)
            except Exception:  # logged with its traceback by the 500 handler
                status = 500
            route = route_template(scope)
            if span is not None:
                span.update_name(f"{method} {route}")
            set_attributes(
                span,
                {
                    "http.route": route,
                    "http.response.status_code": status,
                    "gateway.request_id": request.request_id,
                    "gateway.project_id": request.project_id,
                    "gateway.upstream_calls": request.upstream_calls,
                },
            )
        return status
