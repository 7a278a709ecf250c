"""The network under each platform client: one pooled aiohttp session, no cookie jar, and the
app's one TLS context, built off the event loop and only for https upstreams.

aiohttp's C parser costs about a third of httpcore's pure-Python HTTP/1.1 per call, and
sending straight onto its session, without httpx's client, request and response models
around it, saves another fifth (``python -m bench.upstream_call`` measures each way).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping

import aiohttp
import httpx
from yarl import URL

from gateway.platforms.inprocess import TransportUpstream
from gateway.platforms.upstream import DEFAULT_HEADERS, ExchangeError, Reply, Upstream

log = logging.getLogger("gateway.platforms.pool")

#: Connections per platform pool, and how long an idle one is kept, in seconds.
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 30.0


class SharedTls:
    """The one TLS context of an app's network pools (certifi's roots, as httpx would use),
    built at most once and only when an ``https://`` URL needs it.

    Building it loads and parses the CA bundle: tens of milliseconds of CPU, so it is built in
    a worker thread (``context``), never on the event loop. ``builds`` counts the contexts
    made (zero for an app whose upstreams are all ``http://``)."""

    def __init__(self, build: Callable[[], ssl.SSLContext] | None = None) -> None:
        self._build = build
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()  # two event loops (tests, tools) may ask at once
        self.builds = 0

    async def context(self) -> ssl.SSLContext:
        """The context, built in a worker thread the first time."""
        if self._context is None:
            return await asyncio.to_thread(self._built)
        return self._context

    def _built(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self.builds += 1
                self._context = (self._build or httpx.create_ssl_context)()
            return self._context


def speaks_tls(urls: Iterable[str | None]) -> bool:
    """Whether any of ``urls`` is ``https://`` (case-insensitive, as URL schemes are)."""
    return any(url is not None and url[:8].lower() == "https://" for url in urls)


class NetworkUpstream:
    """An ``Upstream`` over one ``aiohttp.ClientSession``.

    The URL goes out byte for byte as given, redirects are not followed, a gzip or deflate
    body is decoded, cookies are neither kept nor sent (the platforms authenticate every call
    with a token; a cookie one account's answer set must not ride along on another's), and
    every aiohttp failure becomes an ``ExchangeError``: one escaping would be a 500.

    ``start`` opens the session (it belongs to the running loop) and, when the pool's
    upstreams speak https (``uses_tls``), fetches the shared TLS context first, off the loop:
    the app does both at start-up, so a first request pays neither. A pool used without
    ``start`` (tools, tests) opens itself on its first call the same way. A pool made for
    ``http://`` upstreams builds no TLS context; should an ``https://`` URL reach it anyway,
    that request fetches the shared one.
    """

    def __init__(
        self, timeout: httpx.Timeout, tls: SharedTls | None = None, *, uses_tls: bool = True
    ) -> None:
        self._timeout = _client_timeout(timeout)
        self._tls = tls or SharedTls()
        self._uses_tls = uses_tls
        self._ssl: ssl.SSLContext | None = None
        self._session: aiohttp.ClientSession | None = None
        self._opening: asyncio.Lock | None = None

    @property
    def opened(self) -> bool:
        """Whether the session is open (``start`` or a first call opened it)."""
        return self._session is not None

    async def start(self) -> None:
        """Build (or share) the TLS context if this pool's upstreams need it, and open the
        session; a no-op once done."""
        if self._session is not None:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._session is not None:
                return
            if self._uses_tls:
                self._ssl = await self._tls.context()
            connector = aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS,
                keepalive_timeout=KEEPALIVE_SECONDS,
                ssl=self._ssl if self._ssl is not None else True,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers=DEFAULT_HEADERS,
                timeout=self._timeout,
            )

    async def preconnect(self, url: str, count: int) -> int:
        """Open up to ``count`` connections to ``url``'s origin and leave them idle in the
        pool, so that the first requests skip the TCP (and TLS) handshakes. A connect only:
        no request is sent, so no platform counts it against a quota. Connections that cannot
        be made are left to the requests, which report why; returns how many were opened.
        Idle connections are closed after ``KEEPALIVE_SECONDS``, as any other.

        This reaches into aiohttp (``ClientRequest``, ``connector.connect``), which it pins to
        a minor version; as it is only a head start, any failure there leaves the connection
        to the requests rather than failing the app's warm-up."""
        await self.start()
        assert self._session is not None  # start() opened it
        connector = self._session.connector
        if connector is None or count < 1:
            return 0
        origin = URL(url).origin()
        ssl_param = self._ssl if self._ssl is not None else True  # as requests send it
        loop = asyncio.get_running_loop()

        async def one() -> aiohttp.connector.Connection | None:
            try:
                request = aiohttp.ClientRequest("GET", origin, loop=loop, ssl=ssl_param)
                return await connector.connect(request, [], self._timeout)
            except Exception as exc:  # refused, timed out, or aiohttp's internals changed
                log.debug("connection to %s not opened ahead: %r", origin, exc)
                return None

        opened = [c for c in await asyncio.gather(*(one() for _ in range(count))) if c]
        for connection in opened:
            connection.release()  # idle in the pool, for the next request to the origin
        return len(opened)

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> Reply:
        if self._session is None:
            await self.start()
        assert self._session is not None  # start() opened it
        if self._ssl is None and url[:8].lower() == "https://":
            # An https URL reached a pool made for http:// upstreams: verify it all the same.
            self._ssl = await self._tls.context()
        try:
            async with self._session.request(
                method,
                URL(url, encoded=True),
                headers=headers,
                data=content or None,
                allow_redirects=False,
                ssl=self._ssl if self._ssl is not None else True,  # True: the connector's
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
    timeout: httpx.Timeout,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    tls: SharedTls | None = None,
    urls: Iterable[str | None] | None = None,
) -> Upstream:
    """One platform's pool: over ``transport`` (in-process sandboxes, tests) or the network.

    A network pool shares ``tls`` (the app's one TLS context) and needs it only when one of
    ``urls`` (the platform's base and token URLs) is https; without ``urls`` it assumes so."""
    if transport is None:
        return NetworkUpstream(timeout, tls, uses_tls=True if urls is None else speaks_tls(urls))
    return TransportUpstream(transport, timeout)
