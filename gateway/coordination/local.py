"""The in-process coordinator: the default when no Redis is configured, and the fallback
while Redis cannot be reached."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from cachetools import TTLCache

from gateway.coordination.base import AccountState, BucketGrant

#: Entries kept per kind; least recently used go first (expired ones go anyway).
CAPACITY = 50_000
#: The longest anything is remembered here (regain times are capped well below it).
MAX_TTL = 24 * 3600.0


class InProcessCoordinator:
    """Everything in dictionaries of this process, expiring by wall-clock time."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # (value, expires at) pairs: each entry has its own expiry, the TTLCache only bounds
        # memory and drops what nobody reads any more.
        self._values: TTLCache[str, tuple[float, float], float] = TTLCache(CAPACITY, MAX_TTL, clock)
        # bucket -> (tokens, last refill time)
        self._buckets: TTLCache[str, tuple[float, float], float] = TTLCache(
            CAPACITY, MAX_TTL, clock
        )

    def _get(self, key: str) -> float | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires <= self._clock():
            self._values.pop(key, None)
            return None
        return value

    def _put(self, key: str, value: float, expires: float) -> None:
        self._values[key] = (value, expires)

    async def account_state(self, scope: str) -> AccountState:
        return AccountState(
            throttled_until=self._get(f"throttle:{scope}"),
            usage_pct=self._get(f"usage:{scope}"),
            circuit_open_until=self._get(f"circuit:{scope}"),
        )

    async def set_throttled(self, scope: str, until: float) -> None:
        key = f"throttle:{scope}"
        known = self._get(key)
        if known is None or until > known:
            self._put(key, until, until)

    async def set_usage(self, scope: str, pct: float, ttl: float) -> None:
        self._put(f"usage:{scope}", pct, self._clock() + ttl)

    async def set_circuit(self, scope: str, open_until: float | None) -> None:
        if open_until is None:
            self._values.pop(f"circuit:{scope}", None)
        else:
            self._put(f"circuit:{scope}", open_until, open_until)

    async def get_hint(self, key: str) -> int | None:
        value = self._get(f"hint:{key}")
        return None if value is None else int(value)

    async def set_hint(self, key: str, size: int | None, ttl: float) -> None:
        if size is None:
            self._values.pop(f"hint:{key}", None)
        else:
            self._put(f"hint:{key}", float(size), self._clock() + ttl)

    async def take(self, bucket: str, capacity: int, per_seconds: float) -> BucketGrant:
        now = self._clock()
        rate = capacity / per_seconds
        tokens, last = self._buckets.get(bucket, (float(capacity), now))
        tokens = min(float(capacity), tokens + max(0.0, now - last) * rate)
        granted = tokens >= 1.0
        if granted:
            tokens -= 1.0
        self._buckets[bucket] = (tokens, now)
        return BucketGrant(
            granted=granted,
            remaining=math.floor(tokens),
            wait=0.0 if granted else (1.0 - tokens) / rate,
            reset=(capacity - tokens) / rate,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
