"""The network under each platform client: aiohttp's connection pool and response parser
with no session around them, no cookie jar, and the app's one TLS context, built off the
event loop and only for https upstreams.

aiohttp's C parser costs about a third of httpcore's pure-Python HTTP/1.1 per call, and
sending straight onto its connections, without httpx's client, request and response models
nor aiohttp's own session around them, saves about as much again
(``python -m bench.upstream_call`` measures each way).
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
from gateway.platforms.upstream import ExchangeError, Reply, Upstream, with_defaults

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
    """An ``Upstream`` over aiohttp's connection pool and response parser.

    The URL goes out byte for byte as given, redirects are not followed, a gzip or deflate
    body is decoded, no cookie is kept or sent (the platforms authenticate every call with a
    token; a cookie one account's answer set must not ride along on another's), a GET whose
    kept-alive connection was dropped before any answer is sent once more on a new one, and
    every failure becomes an ``ExchangeError``: one escaping would be a 500.

    The request goes through aiohttp's lower layer, not its ``ClientSession``: the
    connector (pooling, keep-alive expiry, connect timeouts, TLS, DNS cache) and the
    connection's response protocol (the C parser, chunked and close-delimited bodies,
    decompression, the per-read timeout), with the request head written here. The session
    adds request and response models, tracing signals, cookie and redirect handling and a
    body-writer around the same two parts, which cost about a quarter of the CPU of a call
    (``python -m bench.upstream_call``). Both parts are aiohttp internals, hence its pin
    to a minor version; the behaviour is held by ``tests/platforms/test_pool.py`` over real
    sockets.

    ``start`` opens the connector (it belongs to the running loop) and, when the pool's
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
        self._connector: aiohttp.TCPConnector | None = None
        self._opening: asyncio.Lock | None = None
        self._origins: dict[str, _Origin] = {}

    @property
    def opened(self) -> bool:
        """Whether the connector is open (``start`` or a first call opened it)."""
        return self._connector is not None

    async def start(self) -> None:
        """Build (or share) the TLS context if this pool's upstreams need it, and open the
        connector; a no-op once done."""
        if self._connector is not None:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._connector is not None:
                return
            if self._uses_tls:
                self._ssl = await self._tls.context()
            self._connector = aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS,
                keepalive_timeout=KEEPALIVE_SECONDS,
                ssl=self._ssl if self._ssl is not None else True,
            )

    async def preconnect(self, url: str, count: int) -> int:
        """Open up to ``count`` connections to ``url``'s origin and leave them idle in the
        pool, so that the first requests skip the TCP (and TLS) handshakes. A connect only:
        no request is sent, so no platform counts it against a quota. Connections that cannot
        be made are left to the requests, which report why; returns how many were opened.
        Idle connections are closed after ``KEEPALIVE_SECONDS``, as any other.

        As it is only a head start, any failure here, aiohttp's internals included, leaves
        the connection to the requests rather than failing the app's warm-up."""
        await self.start()
        if count < 1:
            return 0

        async def one() -> aiohttp.connector.Connection | None:
            try:
                return await self._connect(self._origin(url))
            except Exception as exc:  # refused, timed out, or aiohttp's internals changed
                log.debug("connection to %s not opened ahead: %r", url, exc)
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
        if self._connector is None:
            await self.start()
        if self._ssl is None and url[:8].lower() == "https://":
            # An https URL reached a pool made for http:// upstreams: verify it all the same.
            self._ssl = await self._tls.context()
            self._origins.clear()  # their connection keys name the TLS context
        try:
            origin = self._origin(url)
        except ValueError as exc:
            raise ExchangeError(f"not an http(s) URL ({exc})", timed_out=False) from exc
        request = _request_bytes(method, url[len(origin.prefix) :], origin.host, headers, content)
        retry = method in _IDEMPOTENT
        while True:
            try:
                connection = await self._connect(origin)
            except TimeoutError as exc:
                raise ExchangeError(f"connect timed out ({exc})", timed_out=True) from exc
            except (aiohttp.ClientError, OSError) as exc:
                raise ExchangeError(type(exc).__name__, timed_out=False) from exc
            try:
                return await self._send(connection, method, request)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                # A kept connection the peer closed as the request arrived: once more, new.
                if not retry:
                    raise ExchangeError(type(exc).__name__, timed_out=False) from exc
                retry = False
            except TimeoutError as exc:  # the per-read timeout (aiohttp's is a TimeoutError)
                raise ExchangeError("read timed out", timed_out=True) from exc
            except (aiohttp.ClientError, aiohttp.http.HttpProcessingError, OSError) as exc:
                # Refused, reset, not HTTP, or a truncated body: no answer to classify.
                raise ExchangeError(type(exc).__name__, timed_out=False) from exc

    async def _connect(self, origin: _Origin) -> aiohttp.connector.Connection:
        """A connection to ``origin``: an idle one from the pool, or a new one."""
        connector = self._connector
        assert connector is not None  # start() opened it
        return await connector.connect(origin.key, [], self._timeout)

    async def _send(
        self, connection: aiohttp.connector.Connection, method: str, request: bytes
    ) -> Reply:
        """Write ``request`` on ``connection`` and read the answer whole; the connection goes
        back to the pool when the answer leaves it reusable, and is closed otherwise."""
        protocol = connection.protocol
        transport = connection.transport
        if protocol is None or transport is None:
            connection.close()
            raise aiohttp.ServerDisconnectedError()
        try:
            protocol.set_response_params(
                skip_payload=method == "HEAD",
                read_until_eof=True,  # a body without a length ends with the connection
                read_timeout=self._timeout.sock_read,
                read_bufsize=_READ_BUFFER,
            )
            transport.write(request)
            protocol.start_timeout()
            while True:
                message, payload = await protocol.read()
                if not 100 <= message.code < 200:  # an interim answer: the real one follows
                    break
            body = await payload.read()
        except BaseException:
            connection.close()
            raise
        connection.release()  # closed instead when the answer or the peer said so
        return Reply(message.code, message.headers, body)

    def _origin(self, url: str) -> _Origin:
        """What a request to ``url`` needs of its origin, kept per scheme, host and port."""
        scheme_end = url.find("://") + 3
        end = len(url)
        for mark in "/?#":
            found = url.find(mark, scheme_end)
            if 0 <= found < end:
                end = found
        prefix = url[:end]
        origin = self._origins.get(prefix)
        if origin is None:
            if len(self._origins) >= _MAX_ORIGINS:
                self._origins.clear()
            origin = self._origins[prefix] = _Origin.of(prefix, self._ssl)
        return origin

    async def aclose(self) -> None:
        if self._connector is not None:
            await self._connector.close()
            self._connector = None


#: Methods sent once more when a kept connection was dropped before answering (RFC 9110's
#: idempotent methods, as aiohttp's session retries them).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
#: Origins whose connection keys a pool keeps (a platform has one or two).
_MAX_ORIGINS = 32
#: How much of a body the protocol buffers before pausing the socket (aiohttp's session
#: reads in 64 KiB steps as well).
_READ_BUFFER = 2**16


class _Origin:
    """A request origin: the URL prefix up to the path, the ``Host`` header it is sent with,
    and the stand-in request aiohttp's connector keys its pool by (scheme, host, port, TLS)."""

    __slots__ = ("host", "key", "prefix")

    def __init__(self, prefix: str, host: str, key: aiohttp.ClientRequest) -> None:
        self.prefix = prefix
        self.host = host
        self.key = key

    @classmethod
    def of(cls, prefix: str, context: ssl.SSLContext | None) -> _Origin:
        """Raises ``ValueError`` for a prefix that is not ``scheme://host[:port]``."""
        url = URL(prefix, encoded=True)
        if url.scheme not in ("http", "https") or not url.raw_host or url.raw_path not in ("", "/"):
            raise ValueError(f"no http(s) origin in {prefix!r}")
        stand_in = aiohttp.ClientRequest(
            "GET",
            url,
            loop=asyncio.get_running_loop(),
            ssl=context if context is not None else True,  # True: the connector's
        )
        return cls(prefix, url.host_port_subcomponent or url.raw_host, stand_in)


def _request_bytes(
    method: str, target: str, host: str, headers: Mapping[str, str], content: bytes | None
) -> bytes:
    """The request head (and body) as sent: the origin's ``Host`` unless the request names
    its own, ``DEFAULT_HEADERS`` under the request's headers, and a ``Content-Length`` for a
    body; encoded as UTF-8, as aiohttp encodes a head. A line break in the request line or
    in any header would let a value (a token an upstream answered, say) add headers or a
    request of its own, so it is refused: an ``ExchangeError``, and nothing is sent."""
    fields = {"host": host, **with_defaults(headers)}
    if content:
        fields["content-length"] = str(len(content))
    elif method in _WITH_BODY:
        fields["content-length"] = "0"
    lines = [f"{method} {target or '/'} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in fields.items()]
    head = "\r\n".join(lines)
    breaks = len(lines) - 1  # the separators' own
    if head.count("\n") != breaks or head.count("\r") != breaks:
        raise ExchangeError("a line break in the request line or a header", timed_out=False)
    try:
        data = (head + "\r\n\r\n").encode()
    except UnicodeEncodeError as exc:  # a lone surrogate: no bytes to send for it
        raise ExchangeError("a header that is not text", timed_out=False) from exc
    return data + content if content else data


#: Methods whose request states its body's length even when it is empty.
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


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
