"""What wraps every request and response: the body limit, the sandbox-mode header and CORS
for configured origins."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import PayloadTooLargeError

MODE_HEADER = "X-Gateway-Mode"
SANDBOX_MODE = "sandbox"

#: Request headers a browser may send cross-origin besides the CORS-safelisted ones.
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
#: Response headers a browser script may read besides the CORS-safelisted ones.
CORS_EXPOSED_HEADERS = (
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "WWW-Authenticate",
    "X-Request-ID",
    MODE_HEADER,
)
CORS_MAX_AGE = 600

#: The longest request body read (a GraphQL document is at most ``MAX_DOCUMENT_CHARS``
#: characters; variables are small): 256 KiB.
MAX_BODY_BYTES = 256 * 1024


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with ``PayloadTooLargeError`` (413), raised
    when the handler reads the body: at once when ``Content-Length`` declares more, else as
    soon as the chunks received pass the limit, so a huge body is never held in memory.

    Nothing happens for handlers that never read a body (every GET): the server drops what
    was not read when the response is sent. Handlers authenticate from the headers before
    reading, so an unknown caller never gets this far.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            if declared is not None and declared > self._limit:
                raise PayloadTooLargeError(self._limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._limit:
                    raise PayloadTooLargeError(self._limit)
            return message

        await self._app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                return None
            # More digits than any real body has: past 4,300 digits int() even refuses (a 500).
            return int(value) if len(value) <= 18 else 10**18
    return None


#: ``(name, value)`` pairs of response headers, names in lower case, as ASGI carries them.
RawHeaders = Sequence[tuple[bytes, bytes]]

#: On every HTTP response: a JSON body (which may echo client input) is never read by a
#: browser as HTML or script.
NOSNIFF: Final = (b"x-content-type-options", b"nosniff")


def set_headers(message: Message, headers: RawHeaders) -> None:
    """Set ``headers`` on an ``http.response.start`` message: each replaces any header of its
    name (in place of the first one) or is appended, as ``MutableHeaders`` would set them one
    by one, without building one for each."""
    raw = list(message.get("headers", ()))
    for name, value in headers:
        found = [i for i, (existing, _) in enumerate(raw) if existing == name]
        if not found:
            raw.append((name, value))
            continue
        for i in reversed(found[1:]):
            del raw[i]
        raw[found[0]] = (name, value)
    message["headers"] = raw


class ResponseHeaders:
    """Sets fixed ``headers`` on every HTTP response (see ``set_headers``)."""

    def __init__(self, app: ASGIApp, headers: RawHeaders) -> None:
        self._app = app
        self._headers = tuple(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = self._headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                set_headers(message, headers)
            await send(message)

        await self._app(scope, receive, send_with_headers)


def mode_header(mode: str) -> tuple[bytes, bytes]:
    """``X-Gateway-Mode: <mode>``, on every HTTP response (errors and preflights included) so
    that no client can mistake sandbox data for a customer's."""
    return (MODE_HEADER.lower().encode("latin-1"), mode.encode("latin-1"))


class ModeAwareStarlette(Starlette):
    """A Starlette app whose every response says ``X-Gateway-Mode`` when a mode is given and
    carries nosniff, with CORS for ``cors_origins``, and whose whole stack is wrapped by
    ``outer`` when given (the request observer): ``outer(stack, headers)`` must set
    ``headers`` on every response, as ``ResponseHeaders`` does.

    All of them sit outside Starlette's whole stack: user middleware sits inside the
    server-error middleware, so a 500 would otherwise go out without them (and a browser on an
    allowed origin could not read its body or request id).
    """

    def __init__(
        self,
        *args: Any,
        mode: str | None = None,
        cors_origins: Sequence[str] = (),
        outer: Callable[[ASGIApp, RawHeaders], ASGIApp] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mode = mode
        self.cors_origins = tuple(cors_origins)
        self.outer = outer

    def build_middleware_stack(self) -> ASGIApp:
        stack: ASGIApp = super().build_middleware_stack()
        cors = cors_middleware(self.cors_origins)
        # The fixed headers are set in one layer, the outermost (the observer, which also sets
        # the request id): each layer wrapping ``send`` costs every request a few microseconds.
        # With CORS, nosniff stays inside it, where CORS's own preflight answers do not pass.
        fixed: list[tuple[bytes, bytes]] = []
        if cors:
            stack = ResponseHeaders(stack, [NOSNIFF])
            for cls, args, kwargs in reversed(cors):
                stack = cls(stack, *args, **kwargs)
        else:
            fixed.append(NOSNIFF)
        if self.mode is not None:
            fixed.append(mode_header(self.mode))
        if self.outer is not None:
            return self.outer(stack, fixed)
        return ResponseHeaders(stack, fixed) if fixed else stack


def cors_middleware(origins: Sequence[str]) -> list[Middleware]:
    """CORS for exactly these origins; none (CORS off) when there are none."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=list(CORS_REQUEST_HEADERS),
            expose_headers=list(CORS_EXPOSED_HEADERS),
            # Keys travel in the Authorization header, never in cookies.
            allow_credentials=False,
            max_age=CORS_MAX_AGE,
        )
    ]
