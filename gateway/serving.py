"""How ``gateway serve`` runs uvicorn: the server-side bounds no request handler can set.

    option                          value     bounds
    max_head_bytes                  16 KiB    the request line and headers together (a larger
                                              head is a 400 and a closed connection), so also
                                              how many headers fit (each takes >= 4 bytes),
                                              whether the head arrives in one read or many
    header_timeout                  10 s      how long a connection may take to send a complete
                                              request head, from its opening or the end of the
                                              previous response, however slowly it trickles
                                              (uvicorn itself has no such timer)
    timeout_keep_alive              5 s       how long an idle keep-alive connection is kept
    limit_concurrency               1,000     connections and tasks at once; past it, 503
    backlog                         2,048     connections the kernel queues before accept
    timeout_graceful_shutdown       10 s      how long a stop waits for requests in flight

The protocol is uvicorn's httptools one (llhttp, in C), with the two head bounds added; its
pure-Python h11 protocol parsed and wrote each request and response in about 0.5 M more
instructions (4% of a warm 100-row REST page). The event loop is uvloop (uvicorn's "auto"
picks it when installed; uvicorn[standard] brings it).

Request bodies are bounded in the app (``middleware.BodyLimit``), not here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 16 * 1024
HEADER_TIMEOUT = 10.0
KEEP_ALIVE_TIMEOUT = 5
MAX_CONCURRENCY = 1000
BACKLOG = 2048
GRACEFUL_SHUTDOWN = 10


class HeadDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with two bounds on each request head: its size
    (``max_head_bytes``, counted as the bytes arrive, before the parser buffers them), and a
    deadline: the connection is closed when the head is not complete ``header_timeout``
    seconds after the connection opened or the previous response ended. Unlike the
    keep-alive timer, data that trickles in does not push the deadline back.

    A head is being read from the connection's start, and again from the end of each request
    (its body included) until the parser has the next one's headers.

    The size is counted twice, as neither count alone sees every byte: the raw count covers a
    head spread over many reads (the parser buffers a partial header line without telling
    us), and stops at the head's end so a body in the same read is not counted; the parser's
    own callbacks count each request line and header as it is parsed, which covers what
    follows the first head in one read (a pipelined request) and heads after blank lines
    (which the parser skips before a request line)."""

    header_timeout: float = HEADER_TIMEOUT
    max_head_bytes: int = MAX_HEAD_BYTES

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._reading_head = True
        self._head_seen = 0  # bytes of the current head received so far
        self._head_tail = b""  # its last bytes: the blank line may span two reads
        self._head_begun = False  # whether a byte other than CR or LF has arrived
        self._head_parsed = 0  # bytes of the current head the parser has reported
        self._head_overflow = False
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        if self._reading_head and self._head_too_large(data):
            self.send_400_response("Request header fields too large.")
            return
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if self._head_overflow:  # raised from a parser callback below, reported as such
            msg = "Request header fields too large."
        super().send_400_response(msg)

    def _head_too_large(self, data: bytes) -> bool:
        """Whether the head being received passes ``max_head_bytes`` with ``data``."""
        if not self._head_begun:
            # blank lines before a request line are skipped by the parser but still count;
            # they must not pass for the blank line that ends the head
            rest = data.lstrip(b"\r\n")
            self._head_seen += len(data) - len(rest)
            data = rest
            if not data:
                return self._head_seen > self.max_head_bytes
            self._head_begun = True
        window = self._head_tail + data
        end = window.find(b"\r\n\r\n")
        size = self._head_seen + (len(data) if end < 0 else end + 4 - len(self._head_tail))
        self._head_seen = size
        self._head_tail = window[-3:]
        return size > self.max_head_bytes

    def on_message_begin(self) -> None:
        self._head_parsed = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count_parsed(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_parsed(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def _count_parsed(self, size: int) -> None:
        self._head_parsed += size
        if self._head_parsed > self.max_head_bytes:
            # stops the parser before the request reaches the app; uvicorn answers 400
            self._head_overflow = True
            raise ValueError("request head too large")

    def on_headers_complete(self) -> None:
        self._reading_head = False  # the head is in: the handler gets the request
        self._disarm_head_deadline()
        self._head_seen, self._head_tail, self._head_begun = 0, b"", False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_head = True  # what comes next is the next request's head

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._reading_head:
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self._reading_head and not self.transport.is_closing():
            self.transport.close()


def server_options(*, header_timeout: float = HEADER_TIMEOUT) -> dict[str, Any]:
    """The bounds above as keyword arguments of ``uvicorn.run`` and ``uvicorn.Config``."""
    protocol = type(
        "BoundedHeadProtocol", (HeadDeadlineProtocol,), {"header_timeout": header_timeout}
    )
    return {
        "http": protocol,
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "limit_concurrency": MAX_CONCURRENCY,
        "backlog": BACKLOG,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN,
    }


def server_config(
    app: Any, *, host: str, port: int, header_timeout: float = HEADER_TIMEOUT, **options: Any
) -> uvicorn.Config:
    """A uvicorn configuration with the bounds above; ``options`` adds or overrides."""
    settings = {**server_options(header_timeout=header_timeout), **options}
    return uvicorn.Config(app, host=host, port=port, **settings)
