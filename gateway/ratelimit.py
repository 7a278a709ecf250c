"""Client rate limits: a token bucket per API key and one per project, on the coordination
state (so shared by every instance when Redis is configured).

Applied to the REST path and /graphql. An authenticated answer carries the IETF headers
(draft-ietf-httpapi-ratelimit-headers): ``RateLimit-Policy`` names each bucket with its quota
``q`` and window ``w``, ``RateLimit`` its remaining requests ``r`` and the seconds ``t`` until
it is full again. Past either bucket the answer is 429 with code ``rate_limited`` and
``Retry-After``. A request whose key does not authenticate is let through untouched: the
endpoint answers it (401/403/503) and there is no key to count it against.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.auth import Authenticator
from gateway.config import RateLimits
from gateway.coordination import BucketGrant, Coordinator
from gateway.errors import GatewayError
from gateway.middleware import set_headers
from gateway.responses import error_body
from gateway.schema.errors import with_request_id

#: Paths whose requests are counted.
LIMITED_PREFIXES = ("/v1/", "/graphql")


class RateLimitMiddleware:
    """Counts each authenticated request against its key's and its project's bucket."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticator,
        coordinator: Coordinator,
        limits: RateLimits,
    ) -> None:
        self._app = app
        self._auth = authenticator
        self._coordinator = coordinator
        self._limits = limits
        window = _seconds(limits.per_seconds)
        self._policy = (
            f'"per-key";q={limits.per_key};w={window}, '
            f'"per-project";q={limits.per_project};w={window}'
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(LIMITED_PREFIXES):
            await self._app(scope, receive, send)
            return
        authorization = _authorization(scope)
        if not authorization:
            await self._app(scope, receive, send)
            return
        try:
            principal = await self._auth.authenticate(authorization)
        except GatewayError:
            await self._app(scope, receive, send)  # the endpoint gives the documented error
            return
        limits = self._limits
        per_key = await self._coordinator.take(
            f"ratelimit:key:{principal.key_id}", limits.per_key, limits.per_seconds
        )
        per_project = None
        if per_key.granted:
            per_project = await self._coordinator.take(
                f"ratelimit:project:{principal.project_id}", limits.per_project, limits.per_seconds
            )
        headers = self._headers(per_key, per_project)
        refused = per_key if not per_key.granted else per_project
        if refused is not None and not refused.granted:
            await self._refuse(scope, send, headers, refused.wait)
            return

        raw_headers = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                set_headers(message, raw_headers)
            await send(message)

        await self._app(scope, receive, send_with_headers)

    def _headers(self, per_key: BucketGrant, per_project: BucketGrant | None) -> dict[str, str]:
        state = f'"per-key";r={per_key.remaining};t={_seconds(per_key.reset)}'
        if per_project is not None:
            state += f', "per-project";r={per_project.remaining};t={_seconds(per_project.reset)}'
        return {"RateLimit-Policy": self._policy, "RateLimit": state}

    async def _refuse(self, scope: Scope, send: Send, headers: dict[str, str], wait: float) -> None:
        retry_after = max(1, math.ceil(wait))
        message = f"too many requests; retry in {retry_after}s"
        body: dict[str, Any]
        if scope["path"].startswith("/graphql"):
            extensions = with_request_id({"code": "rate_limited"})
            body = {"data": None, "errors": [{"message": message, "extensions": extensions}]}
        else:
            body = error_body({"code": "rate_limited", "message": message})
        payload = orjson.dumps(body)
        raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"retry-after", str(retry_after).encode()),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})


def _authorization(scope: Scope) -> str | None:
    """The request's ``Authorization`` header (the first), as Starlette's ``Headers`` reads
    it; ASGI header names are lower case."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value).decode("latin-1")
    return None


def _seconds(value: float) -> int:
    """Whole seconds, rounded up (the header fields take integers)."""
    return max(0, math.ceil(value))
