"""The httpx pool under each platform client: aiohttp on the wire, no cookie jar.

httpx stays the clients' interface (requests, responses, timeouts, test transports); only the
wire underneath is aiohttp. httpcore's pure-Python HTTP/1.1 over anyio costs about 1.5 ms of
CPU per upstream call here and aiohttp's C parser about a third of that, and a page makes one
call per account. (httpx-aiohttp offers the same adapter, but reports a dropped connection
as a connect timeout and lets other aiohttp errors escape; this one is small enough to own.)
"""

from __future__ import annotations

import aiohttp
import httpx
from yarl import URL

#: Connections per platform pool; idle ones are kept for ``keepalive_expiry`` seconds.
UPSTREAM_LIMITS = httpx.Limits(max_connections=100, keepalive_expiry=30.0)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends over one pooled ``aiohttp.ClientSession``.

    The request goes out byte for byte as httpx built it (no re-quoting of the URL), the body
    is read whole, and every failure leaves as the ``httpx.TransportError`` httpcore would
    raise for it, which the platform code translates: an aiohttp exception escaping would be
    an unhandled 500.
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

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        connect, pool = timeout.get("connect"), timeout.get("pool")
        try:
            async with self._open().request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=request.content or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=None if connect is None or pool is None else connect + pool,
                    sock_connect=connect,
                    sock_read=timeout.get("read"),
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
        return httpx.Response(
            answer.status,
            headers=answer.raw_headers,
            content=body,
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


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
    """

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
    return UpstreamClient(transport=transport or AiohttpTransport(), timeout=timeout)
