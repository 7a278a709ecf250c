"""Shared state that never fails a request: Redis while it answers, this process's own state
while it does not.

An outage is logged once when it starts (a warning) and once when it ends, not per request.
While Redis is down it is tried again at most every ``retry_every`` seconds, so requests do not
each wait for a connect timeout; the first answer after that switches back to shared state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.coordination.base import AccountState, BucketGrant, Coordinator
from gateway.coordination.local import InProcessCoordinator

log = logging.getLogger("gateway.coordination")

T = TypeVar("T")

#: What counts as "Redis cannot be reached" (OSError: refused or reset sockets).
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, RedisError)


class FallbackCoordinator:
    """Delegates to ``shared``; on a connection failure answers from ``local`` instead."""

    def __init__(
        self,
        shared: Coordinator,
        local: InProcessCoordinator | None = None,
        *,
        retry_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared = shared
        self.local = local or InProcessCoordinator()
        self._retry_every = retry_every
        self._clock = clock
        self._down_since: float | None = None
        self._next_try = 0.0

    @property
    def degraded(self) -> bool:
        """Whether answers come from this process's own state now."""
        return self._down_since is not None

    async def _either(
        self, shared: Callable[[], Awaitable[T]], local: Callable[[], Awaitable[T]]
    ) -> T:
        if self._down_since is not None and self._clock() < self._next_try:
            return await local()
        try:
            result = await shared()
        except UNREACHABLE as exc:
            now = self._clock()
            if self._down_since is None:
                self._down_since = now
                log.warning(
                    "redis unreachable (%s); using this process's own coordination state "
                    "until it is back",
                    type(exc).__name__,
                )
            self._next_try = now + self._retry_every
            return await local()
        if self._down_since is not None:
            log.warning(
                "redis reachable again after %.1fs; coordination state is shared again",
                self._clock() - self._down_since,
            )
            self._down_since = None
        return result

    async def account_state(self, scope: str) -> AccountState:
        return await self._either(
            lambda: self.shared.account_state(scope), lambda: self.local.account_state(scope)
        )

    async def set_throttled(self, scope: str, until: float) -> None:
        # Also kept locally: a throttle learned during an outage must still be honoured here.
        await self.local.set_throttled(scope, until)
        await self._either(lambda: self.shared.set_throttled(scope, until), lambda: _nothing())

    async def set_usage(self, scope: str, pct: float, ttl: float) -> None:
        await self._either(
            lambda: self.shared.set_usage(scope, pct, ttl),
            lambda: self.local.set_usage(scope, pct, ttl),
        )

    async def set_circuit(self, scope: str, open_until: float | None) -> None:
        await self._either(
            lambda: self.shared.set_circuit(scope, open_until),
            lambda: self.local.set_circuit(scope, open_until),
        )

    async def get_hint(self, key: str) -> int | None:
        return await self._either(
            lambda: self.shared.get_hint(key), lambda: self.local.get_hint(key)
        )

    async def set_hint(self, key: str, size: int | None, ttl: float) -> None:
        await self._either(
            lambda: self.shared.set_hint(key, size, ttl),
            lambda: self.local.set_hint(key, size, ttl),
        )

    async def take(self, bucket: str, capacity: int, per_seconds: float) -> BucketGrant:
        return await self._either(
            lambda: self.shared.take(bucket, capacity, per_seconds),
            lambda: self.local.take(bucket, capacity, per_seconds),
        )

    async def aclose(self) -> None:
        await self.shared.aclose()


async def _nothing() -> None:
    return None
