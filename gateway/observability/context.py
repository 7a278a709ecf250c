"""What one request has done so far, reachable from any code that runs for it.

The request middleware opens a ``RequestScope`` in a context variable; asyncio copies the
context into every task a request starts, so upstream calls made side by side in a TaskGroup
count for the request that started them. Code that runs outside a request (a test calling a
client directly) finds no scope, and its events are logged without request fields.
"""

from __future__ import annotations

from contextvars import Context, ContextVar, Token, copy_context
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.auth import Principal
    from gateway.observability.metrics import Metrics
    from gateway.observability.tracing import Tracing


@dataclass(slots=True)
class RequestScope:
    """One request's identity and counters, and the app's instruments it reports to."""

    request_id: str
    metrics: Metrics
    tracing: Tracing
    project_id: str | None = None
    key_id: str | None = None
    #: A GraphQL operation's name, when the request ran one.
    operation: str | None = None
    upstream_calls: int = 0
    retries: int = 0
    #: The ``Authorization`` header this request authenticated with, and who it named: the
    #: rate limit authenticates before the endpoint does, and the endpoint reuses this.
    authenticated: tuple[str, Principal] | None = None


_current: ContextVar[RequestScope | None] = ContextVar("gateway_request", default=None)


def current() -> RequestScope | None:
    """The scope of the request this code runs for, if any."""
    return _current.get()


def enter(scope: RequestScope) -> Token[RequestScope | None]:
    """Make ``scope`` current; returns the token ``leave`` takes."""
    return _current.set(scope)


def leave(token: Token[RequestScope | None]) -> None:
    _current.reset(token)


def outside_request() -> Context:
    """A copy of the current context in which no request is current: for a task a request
    starts and does not wait for (a background refresh), whose calls are not that request's
    to count or trace. Other context (the account a resilient call is for) carries over."""
    detached = copy_context()
    detached.run(_current.set, None)
    return detached


def request_id() -> str | None:
    """The current request's id (for error bodies), or None outside a request."""
    scope = _current.get()
    return scope.request_id if scope is not None else None


def note_caller(project_id: str, key_id: str | None) -> None:
    """Record who is calling, once authentication has said so (never the key itself)."""
    scope = _current.get()
    if scope is not None:
        scope.project_id = project_id
        scope.key_id = key_id
