"""The in-process coordinator: the default when no Redis is configured, and the fallback
while Redis cannot be reached."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from gateway.coordination.base import AccountState, BucketGrant

#: Entries kept per kind; the least recently written go first.
CAPACITY = 50_000


class InProcessCoordinator:
    """Everything in dictionaries of this process, expiring by wall-clock time.

    Ordered dictionaries: every upstream call reads an account's state here (three entries),
    and a ``cachetools.TTLCache`` read cost several times a dictionary's. Each value
    carries its own expiry and is dropped when read after it; what nobody reads any more
    stays until ``capacity`` newer entries push it out."""

    def __init__(self, clock: Callable[[], float] = time.time, capacity: int = CAPACITY) -> None:
        self._clock = clock
        self._capacity = capacity
        # (value, expires at) pairs
        self._values: OrderedDict[str, tuple[float, float]] = OrderedDict()
        # bucket -> (tokens, last refill time)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    @property
    def held(self) -> int:
        """Entries held, values and buckets together. (Not ``__len__``: an empty coordinator
        is still one, where callers write ``coordinator or InProcessCoordinator()``.)"""
        return len(self._values) + len(self._buckets)

    def _get(self, key: str) -> float | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires <= self._clock():
            del self._values[key]
            return None
        return value

    def _put(self, key: str, value: float, expires: float) -> None:
        self._keep(self._values, key, (value, expires))

    def _keep(
        self, table: OrderedDict[str, tuple[float, float]], key: str, entry: tuple[float, float]
    ) -> None:
        """Set ``key`` as ``table``'s most recently written entry, and drop its least recently
        written one past capacity."""
        table[key] = entry
        table.move_to_end(key)
        if len(table) > self._capacity:
            table.popitem(last=False)

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
        self._keep(self._buckets, bucket, (tokens, now))
        return BucketGrant(
            granted=granted,
            remaining=math.floor(tokens),
            wait=0.0 if granted else (1.0 - tokens) / rate,
            reset=(capacity - tokens) / rate,
        )

    async def aclose(self) -> None:
        """Nothing to release."""
