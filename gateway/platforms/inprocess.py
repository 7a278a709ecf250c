"""An ``Upstream`` over an httpx transport: the in-process sandboxes and tests' doubles.

httpx serves here for what it is good at: ``httpx.ASGITransport`` (behind
``sandbox.transport.SandboxTransport``) runs a sandbox app in-process, and
``httpx.MockTransport`` answers from a test's function. No ``httpx.AsyncClient`` is involved,
so nothing of its (auth, hooks, base URL, cookies) applies here any more than on the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import httpx

from gateway.platforms.upstream import ExchangeError, Reply, with_defaults

#: For doubles made in tests, which do not care.
DEFAULT_TIMEOUT = httpx.Timeout(5.0)


class TransportUpstream:
    """Sends each request straight to ``transport`` and reads the whole answer, decoded.

    The timeouts ride on the request (``extensions["timeout"]``) for a transport that honours
    them; a transport failure becomes an ``ExchangeError``, as on the network. Usable as an
    async context manager, which closes the transport.
    """

    def __init__(
        self, transport: httpx.AsyncBaseTransport, timeout: httpx.Timeout = DEFAULT_TIMEOUT
    ) -> None:
        self._transport = transport
        self._timeouts = timeout.as_dict()

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> Reply:
        request = httpx.Request(
            method,
            _parsed(url),
            headers=with_defaults(headers),
            content=content,
            extensions={"timeout": self._timeouts},
        )
        try:
            response = await self._transport.handle_async_request(request)
            try:
                body = await response.aread()  # decodes gzip and deflate
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise ExchangeError(type(exc).__name__, timed_out=True) from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise ExchangeError(type(exc).__name__, timed_out=False) from exc
        return Reply(response.status_code, response.headers, body)

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> TransportUpstream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()


@lru_cache(maxsize=1024)
def _parsed(url: str) -> httpx.URL:
    """httpx parses and validates a URL a character at a time in Python; a page's first call
    has the same URL every time, and the cache keeps it parsed."""
    return httpx.URL(url)
