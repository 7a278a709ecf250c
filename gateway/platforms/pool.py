"""The network under each platform client: one pooled aiohttp session, no cookie jar.

aiohttp's C parser costs about a third of httpcore's pure-Python HTTP/1.1 per call, and
sending straight onto its session, without httpx's client, request and response models
around it, saves another fifth (``python -m bench.upstream_call`` measures each way).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import aiohttp
import httpx
from yarl import URL

from gateway.platforms.inprocess import TransportUpstream
from gateway.platforms.upstream import DEFAULT_HEADERS, ExchangeError, Reply, Upstream

#: Connections per platform pool, and how long an idle one is kept, in seconds.
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 30.0


class NetworkUpstream:
    """An ``Upstream`` over one ``aiohttp.ClientSession``.

    The URL goes out byte for byte as given, redirects are not followed, a gzip or deflate
    body is decoded, cookies are neither kept nor sent (the platforms authenticate every call
    with a token; a cookie one account's answer set must not ride along on another's), and
    every aiohttp failure becomes an ``ExchangeError``: one escaping would be a 500.

    The TLS context (certifi's roots, as httpx would use) is built here, at start-up; the
    session itself is opened on the first call because it belongs to the running loop.
    """

    def __init__(self, timeout: httpx.Timeout) -> None:
        self._timeout = _client_timeout(timeout)
        self._ssl: ssl.SSLContext = httpx.create_ssl_context()
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS, ssl=self._ssl
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers=DEFAULT_HEADERS,
                timeout=self._timeout,
            )
        return self._session

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> Reply:
        try:
            async with self._open().request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=content or None,
                allow_redirects=False,
            ) as answer:
                body = await answer.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise ExchangeError(f"connect timed out ({exc})", timed_out=True) from exc
        except TimeoutError as exc:  # aiohttp's read timeouts are TimeoutErrors too
            raise ExchangeError("read timed out", timed_out=True) from exc
        except aiohttp.ClientError as exc:
            # Refused, reset, dropped, not HTTP, or a truncated body: no answer to classify.
            raise ExchangeError(type(exc).__name__, timed_out=False) from exc
        return Reply(answer.status, answer.headers, body)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _client_timeout(timeout: httpx.Timeout) -> aiohttp.ClientTimeout:
    """httpx's timeouts in aiohttp's terms: a connection may wait for the pool and then
    connect; a read is bounded per socket read, as in httpcore (aiohttp has no write
    timeout; a request body here is a small form)."""
    connect, pool = timeout.connect, timeout.pool
    return aiohttp.ClientTimeout(
        total=None,
        connect=None if connect is None or pool is None else connect + pool,
        sock_connect=connect,
        sock_read=timeout.read,
    )


def upstream_pool(
    timeout: httpx.Timeout, transport: httpx.AsyncBaseTransport | None = None
) -> Upstream:
    """One platform's pool: over ``transport`` (in-process sandboxes, tests) or the network."""
    if transport is None:
        return NetworkUpstream(timeout)
    return TransportUpstream(transport, timeout)
