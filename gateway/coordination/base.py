"""The coordination interface: state every instance of the gateway must agree on, and that
expires by itself (design.md section 7).

Times are wall-clock seconds since the epoch (``time.time()``), not a process's monotonic
clock, because they cross process and machine boundaries. Every value expires: a throttle at
its regain time, a circuit at the end of its cool-down, usage and size hints after ``ttl``,
a bucket once it would be full again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AccountState:
    """What is known of one platform account right now, read in one go before a call."""

    #: Wall-clock time until which the platform refuses calls (its regain time), if any.
    throttled_until: float | None = None
    #: The highest quota percentage the platform reported lately (Meta usage headers).
    usage_pct: float | None = None
    #: Wall-clock time until which the account's circuit stays open, if any.
    circuit_open_until: float | None = None


@dataclass(frozen=True, slots=True)
class BucketGrant:
    """The answer of a token bucket to one request for a token.

    ``remaining`` is the whole tokens left after this request, ``wait`` the seconds until a
    token is available (0 when granted), ``reset`` the seconds until the bucket is full again.
    """

    granted: bool
    remaining: int
    wait: float
    reset: float


class Coordinator(Protocol):
    """Shared throttle, usage, breaker, size-hint and token-bucket state.

    ``scope`` strings name a platform account (``meta_ads:act_1``, TikTok's app ``tiktok_ads:*``);
    callers build them, implementations treat them as opaque."""

    async def account_state(self, scope: str) -> AccountState:
        """Throttle, usage and circuit of ``scope``, expired entries left out."""
        ...

    async def set_throttled(self, scope: str, until: float) -> None:
        """The platform throttled ``scope`` until ``until``; a later time already known wins."""
        ...

    async def set_usage(self, scope: str, pct: float, ttl: float) -> None:
        """The quota percentage ``scope`` reported, remembered for ``ttl`` seconds."""
        ...

    async def set_circuit(self, scope: str, open_until: float | None) -> None:
        """Open the circuit of ``scope`` until ``open_until``, or close it (None)."""
        ...

    async def get_hint(self, key: str) -> int | None:
        """A size hint, if one is known."""
        ...

    async def set_hint(self, key: str, size: int | None, ttl: float) -> None:
        """Remember a size hint for ``ttl`` seconds, or forget it (None)."""
        ...

    async def take(self, bucket: str, capacity: int, per_seconds: float) -> BucketGrant:
        """Take one token from ``bucket``, which holds ``capacity`` tokens and refills them
        all over ``per_seconds`` (a steady rate), atomically with respect to every instance."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
