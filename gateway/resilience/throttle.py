"""Throttle state shared by every request of the process.

Once a platform says an account (or, for TikTok, the whole app) is throttled, later requests do
not call it again until the regain time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.platforms.base import Platform

#: Used when a platform throttles without saying for how long: TikTok's limits are per second,
#: Meta's and Apple's windows are longer.
DEFAULT_BLOCK = {Platform.TIKTOK_ADS: 1.0, Platform.META_ADS: 10.0, Platform.APPLE_ADS: 5.0}


def throttle_scope(platform: Platform, account_id: str) -> tuple[str, str]:
    """What a throttle applies to: TikTok limits the app, Meta and Apple the account."""
    if platform is Platform.TIKTOK_ADS:
        return (platform.value, "*")
    return (platform.value, account_id)


#: The longest block a platform's stated regain time may set (Meta may say a day).
MAX_REGAIN_SECONDS = 900.0


@dataclass
class ThrottleState:
    """Regain times by throttle scope, each at most ``max_regain`` seconds: past that the
    account is tried again (one call, which the platform refuses cheaply if it still blocks)."""

    clock: Callable[[], float] = time.monotonic
    max_regain: float = MAX_REGAIN_SECONDS
    _until: dict[tuple[str, str], float] = field(default_factory=dict)

    def blocked_for(self, scope: tuple[str, str]) -> float | None:
        """Seconds the scope stays blocked, or None."""
        until = self._until.get(scope)
        if until is None:
            return None
        remaining = until - self.clock()
        if remaining <= 0:
            del self._until[scope]
            return None
        return remaining

    def block(self, platform: Platform, scope: tuple[str, str], seconds: float | None) -> float:
        """Block the scope for the platform's stated wait (or a default), at most
        ``max_regain``; return the wait."""
        wait = min(seconds if seconds and seconds > 0 else DEFAULT_BLOCK[platform], self.max_regain)
        until = self.clock() + wait
        self._until[scope] = max(until, self._until.get(scope, 0.0))
        return wait
