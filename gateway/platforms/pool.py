"""The httpx pool under each platform client: aiohttp on the wire, no cookie jar.

httpx stays the clients' interface (timeouts, default headers, test transports); the wire
is aiohttp. httpcore's pure-Python HTTP/1.1 over anyio costs about 1.5 ms of CPU per upstream
call here and aiohttp's C parser about a third of that; building httpx's request and response
models around an aiohttp call costs another 0.2 ms, so over the network ``platforms.http``
sends through ``UpstreamClient.wire`` directly, and a page makes one call per account.
(httpx-aiohttp offers the same adapter, but reports a dropped connection as a connect
timeout and lets other aiohttp errors escape; this one is small enough to own.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import aiohttp
import httpx
from yarl import URL

#: Connections per platform pool; idle ones are kept for ``keepalive_expiry`` seconds.
UPSTREAM_LIMITS = httpx.Limits(max_connections=100, keepalive_expiry=30.0)

Headers = Iterable[tuple[str, str]] | Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Reply:
    """An upstream answer, read whole: status, headers (case-insensitive) and body."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends over one pooled ``aiohttp.ClientSession``.

    The request goes out byte for byte as given (no re-quoting of the URL), the body is read
    whole, and every failure leaves as the ``httpx.TransportError`` httpcore would raise for
    it, which the platform code translates: an aiohttp exception escaping would be an
    unhandled 500. ``exchange`` is the same without httpx's request and response models.
    """

    def __init__(self, limits: httpx.Limits = UPSTREAM_LIMITS) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the running event loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                keepalive_timeout=self._limits.keepalive_expiry or 0,
                ssl=httpx.create_ssl_context(),  # certifi's roots, as httpx would use
            )
            self._session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
            )
        return self._session

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Headers,
        content: bytes | None,
        timeouts: Mapping[str, float | None],
        *,
        decode: bool,
        request: httpx.Request | None = None,
    ) -> Reply:
        """Send one request (``url`` already encoded) and read the whole answer; ``decode``
        undoes a gzip or deflate content encoding."""
        try:
            async with self._open().request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=content or None,
                allow_redirects=False,
                auto_decompress=decode,
                timeout=_client_timeout(
                    timeouts.get("connect"), timeouts.get("read"), timeouts.get("pool")
                ),
            ) as answer:
                body = await answer.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except TimeoutError as exc:  # aiohttp's read timeouts are TimeoutErrors too
            raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except aiohttp.ClientResponseError as exc:  # a reply that is not HTTP
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
        return Reply(answer.status, answer.headers, body)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        reply = await self.exchange(
            request.method,
            str(request.url),
            request.headers.multi_items(),
            request.content,
            request.extensions.get("timeout", {}),
            decode=False,  # httpx's response decodes
            request=request,
        )
        return httpx.Response(
            reply.status_code,
            headers=list(reply.headers.items()),
            content=reply.content,
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@lru_cache(maxsize=64)
def _client_timeout(
    connect: float | None, read: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """httpx's timeouts in aiohttp's terms: a connection may wait for the pool and then
    connect; a read is bounded per socket read, as in httpcore."""
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=read,
    )


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        raise TypeError("upstream pools keep no cookies")


_NO_COOKIES = _NoCookies()


class UpstreamClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` that neither keeps nor sends cookies.

    The platforms authenticate every call with a token; a cookie that one account's response
    set must not ride along on another account's call. Skipping the jar also saves httpx's
    per-response cookie parsing, about 0.1 ms a call.

    Over the network (no transport injected), ``wire`` is its aiohttp transport, through
    which ``platforms.http`` sends directly, with the headers the client was made with and
    its timeouts. That path skips the httpx client's auth, event hooks, redirects and base
    URL, none of which these pools use.
    """

    def __init__(
        self, *, timeout: httpx.Timeout, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        self.wire = AiohttpTransport() if transport is None else None
        super().__init__(transport=transport or self.wire, timeout=timeout)
        self.wire_headers = {k.lower(): v for k, v in self.headers.items()}

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("upstream pools keep no cookies")


def upstream_pool(
    timeout: httpx.Timeout, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """One platform's pool: over ``transport`` (tests, in-process sandboxes) or the network."""
    return UpstreamClient(transport=transport, timeout=timeout)
