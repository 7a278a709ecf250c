"""What wraps every response: the sandbox-mode header and CORS for configured origins."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MODE_HEADER = "X-Gateway-Mode"
SANDBOX_MODE = "sandbox"

#: Request headers a browser may send cross-origin besides the CORS-safelisted ones.
CORS_REQUEST_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
#: Response headers a browser script may read besides the CORS-safelisted ones.
CORS_EXPOSED_HEADERS = ("Retry-After", "WWW-Authenticate", "X-Request-ID", MODE_HEADER)
CORS_MAX_AGE = 600


class ModeHeader:
    """Adds ``X-Gateway-Mode: <mode>`` to every HTTP response, errors and preflights included,
    so no client can mistake sandbox data for a customer's."""

    def __init__(self, app: ASGIApp, mode: str) -> None:
        self._app = app
        self._mode = mode

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_mode(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[MODE_HEADER] = self._mode
            await send(message)

        await self._app(scope, receive, send_with_mode)


class ModeAwareStarlette(Starlette):
    """A Starlette app whose every response says ``X-Gateway-Mode`` when a mode is given, and
    whose whole stack is wrapped by ``outer`` when given (the request observer).

    Both sit outside Starlette's whole stack: user middleware sits inside the server-error
    middleware, so a 500 would otherwise go out without them.
    """

    def __init__(
        self,
        *args: Any,
        mode: str | None = None,
        outer: Callable[[ASGIApp], ASGIApp] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mode = mode
        self.outer = outer

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if self.mode is not None:
            stack = ModeHeader(stack, self.mode)
        return stack if self.outer is None else self.outer(stack)


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
