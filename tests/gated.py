"""An httpx transport that records when each request starts and ends, and can hold some.

Tests use it to see which upstream calls overlap (every call of a round started before any of
them ended) and to keep a call in flight while they look at what its callers do meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx


@dataclass
class Gated(httpx.AsyncBaseTransport):
    """Passes requests on to ``inner``; ``events`` lists ``("start" | "end", path)`` in the
    order they happened. A request whose path contains a held fragment waits for its
    release before going on."""

    inner: httpx.AsyncBaseTransport
    events: list[tuple[str, str]] = field(default_factory=list)
    _held: dict[str, asyncio.Event] = field(default_factory=dict)

    def hold(self, fragment: str) -> None:
        self._held[fragment] = asyncio.Event()

    def release(self, fragment: str) -> None:
        self._held.pop(fragment).set()

    def started(self, fragment: str) -> int:
        return sum(1 for kind, path in self.events if kind == "start" and fragment in path)

    def ended(self, fragment: str) -> int:
        return sum(1 for kind, path in self.events if kind == "end" and fragment in path)

    def overlapping(self, *fragments: str) -> bool:
        """Whether a call of each fragment had started before the first of them ended."""
        first_end = next(
            (
                i
                for i, (kind, path) in enumerate(self.events)
                if kind == "end" and any(f in path for f in fragments)
            ),
            len(self.events),
        )
        begun = self.events[:first_end]
        return all(any(k == "start" and f in p for k, p in begun) for f in fragments)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.events.append(("start", path))
        for fragment, gate in list(self._held.items()):
            if fragment in path:
                await gate.wait()
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.events.append(("end", path))

    async def aclose(self) -> None:
        await self.inner.aclose()


async def until(condition: Callable[[], bool], *, turns: int = 5_000) -> None:
    """Let the event loop run (a millisecond a turn) until ``condition()`` holds; an
    AssertionError after ``turns`` turns."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition never held")
