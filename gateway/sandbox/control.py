"""Knobs shared by every sandbox: added latency, injected faults and a request log.

``SandboxControl`` is the Python API; ``ControlledApp`` wraps a platform's ASGI app and applies
it. Each platform supplies its own error forms (``FaultForms``) so that a throttle or a 500 looks
exactly like the real platform's.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FaultKind = Literal["500", "throttle", "malformed", "slow", "drop", "auth"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
#: What ``--faults`` enables by default: everything but ``auth`` (a token that expires).
DEFAULT_FAULTS: tuple[FaultKind, ...] = ("500", "throttle", "malformed", "slow", "drop")
#: How long an injected throttle tells the caller to wait, where the platform says (Meta's
#: ``estimated_time_to_regain_access``, in minutes).
DEFAULT_THROTTLE_REGAIN_MINUTES = 5


class ConnectionDropped(Exception):
    """Raised by the app to drop the connection mid-response (see ``SandboxTransport``)."""


@dataclass(frozen=True, slots=True)
class CannedResponse:
    """A complete HTTP response: status, headers and body."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)


@dataclass(frozen=True, slots=True)
class FaultForms:
    """A platform's own forms of a server error, a throttle and a rejected token, each built
    for the request it answers (a throttle names the account that was called)."""

    server_error: Callable[[Scope], CannedResponse]
    throttle: Callable[[Scope], CannedResponse]
    auth: Callable[[Scope], CannedResponse]


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request the sandbox received; ``fault`` names the fault injected, if any."""

    method: str
    path: str
    query: str
    status: int
    fault: FaultKind | None


@dataclass
class RequestLog:
    """Every request a sandbox received, for tests that count upstream calls."""

    entries: list[LoggedRequest] = field(default_factory=list)

    def count(self, path_contains: str = "", *, method: str | None = None) -> int:
        """How many requests had ``path_contains`` in their path (and the method, if given)."""
        return sum(
            1
            for e in self.entries
            if path_contains in e.path and (method is None or e.method == method)
        )

    def by_endpoint(self) -> Counter[str]:
        """Counts keyed by ``"METHOD /path"``."""
        return Counter(f"{e.method} {e.path}" for e in self.entries)

    def clear(self) -> None:
        self.entries.clear()


@dataclass
class SandboxControl:
    """Latency and faults for one sandbox; change them at any time, even between requests."""

    latency_ms: float = 0.0
    fault_rate: float = 0.0
    faults: tuple[FaultKind, ...] = DEFAULT_FAULTS
    slow_ms: float = 2000.0
    throttle_regain_minutes: int = DEFAULT_THROTTLE_REGAIN_MINUTES
    #: Whether calls count against the platform's simulated quota (Meta meters every call
    #: and reports it in its usage headers, which make a client slow down near 100 %).
    #: False takes the quota out of play: calls are not counted, usage reads 0 % and an
    #: optional hard quota is not enforced; for capacity runs that measure the client.
    metered: bool = True
    seed: int = 7
    log: RequestLog = field(default_factory=RequestLog)
    _forced: deque[FaultKind] = field(default_factory=deque, repr=False)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        for kind in self.faults:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        check_regain_minutes(self.throttle_regain_minutes)

    def fail_next(self, count: int, kind: FaultKind) -> None:
        """Inject ``kind`` into each of the next ``count`` requests."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self._forced.extend([kind] * count)

    def reset(self) -> None:
        """No latency, no faults, an empty log."""
        self.latency_ms = 0.0
        self.fault_rate = 0.0
        self._forced.clear()
        self.log.clear()

    def next_fault(self) -> FaultKind | None:
        """The fault for the request now arriving, if any."""
        if self._forced:
            return self._forced.popleft()
        if self.fault_rate > 0 and self.faults and self._rng.random() < self.fault_rate:
            return self._rng.choice(self.faults)
        return None


def check_regain_minutes(minutes: int) -> int:
    """``minutes`` when it is a usable throttle regain time (0-1440), else ValueError."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 1440:
        raise ValueError("throttle regain minutes must be an integer between 0 and 1440")
    return minutes


def parse_fault_kinds(text: str) -> tuple[FaultKind, ...]:
    """``"500,throttle"`` -> ``("500", "throttle")``; unknown names raise ValueError."""
    kinds: list[FaultKind] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        if name not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {name!r}; known: {', '.join(FAULT_KINDS)}")
        kinds.append(name)
    return tuple(kinds)


class ControlledApp:
    """ASGI wrapper: logs each HTTP request, adds latency, injects the chosen fault."""

    def __init__(self, app: ASGIApp, control: SandboxControl, forms: FaultForms) -> None:
        self.app = app
        self.control = control
        self.forms = forms

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        control = self.control
        fault = control.next_fault()
        entry: dict[str, Any] = {"status": 0}

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        try:
            if control.latency_ms > 0:
                await asyncio.sleep(control.latency_ms / 1000)
            await self._respond(fault, scope, receive, logging_send)
        finally:
            control.log.entries.append(
                LoggedRequest(
                    method=scope["method"],
                    path=scope["path"],
                    query=scope.get("query_string", b"").decode("latin-1"),
                    status=entry["status"],
                    fault=fault,
                )
            )

    async def _respond(
        self, fault: FaultKind | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if fault is None:
            await self.app(scope, receive, send)
        elif fault == "500":
            await _send_canned(self.forms.server_error(scope), send)
        elif fault == "throttle":
            await _send_canned(self.forms.throttle(scope), send)
        elif fault == "auth":
            await _send_canned(self.forms.auth(scope), send)
        elif fault == "malformed":
            await _send_canned(CannedResponse(200, b'{"data": [{"id": "1", "na'), send)
        elif fault == "slow":
            await self._send_slowly(scope, receive, send)
        else:  # drop
            await _send_start(200, (("content-type", "application/json"),), send, length=4096)
            await send({"type": "http.response.body", "body": b'{"data": [', "more_body": True})
            raise ConnectionDropped("sandbox dropped the connection")

    async def _send_slowly(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The real response, with its body held back for ``slow_ms``."""
        delay = self.control.slow_ms / 1000

        async def delayed_send(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await asyncio.sleep(delay)
            await send(message)

        await self.app(scope, receive, delayed_send)


async def _send_start(
    status: int, headers: Iterable[tuple[str, str]], send: Send, *, length: int
) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw.append((b"content-length", str(length).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})


async def _send_canned(response: CannedResponse, send: Send) -> None:
    await _send_start(response.status, response.headers, send, length=len(response.body))
    await send({"type": "http.response.body", "body": response.body})
