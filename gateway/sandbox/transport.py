"""In-process transport to the sandboxes, with real-network failure semantics."""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp

from gateway.sandbox.control import ConnectionDropped


class SandboxTransport(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` that turns a sandbox's dropped connection into the
    ``httpx.RemoteProtocolError`` a real socket would give."""

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            ) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()
