"""Retry timing: capped exponential backoff with full jitter, and a retry budget."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one upstream call."""

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 5.0
    deadline: float = 20.0
    #: A platform wait longer than this is not slept through inside a request: the client is
    #: told to come back (Retry-After) instead of being kept waiting.
    max_wait: float = 3.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Wait before retry number ``attempt`` (1-based): full jitter over a capped
        exponential, but never shorter than the platform's own ``retry_after``."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        jittered = rng.uniform(0, ceiling)
        return max(jittered, retry_after or 0.0)


@dataclass
class RetryBudget:
    """A token bucket that lets retries add at most ``ratio`` to the call volume (plus a small
    reserve), so that retries cannot multiply load during an outage."""

    ratio: float = 0.2
    reserve: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = self.reserve

    def record_call(self) -> None:
        """A first attempt was made: it earns ``ratio`` of a retry."""
        self._tokens = min(self.reserve, self._tokens + self.ratio)

    def try_spend(self) -> bool:
        """Take one retry from the budget, if there is one."""
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    @property
    def tokens(self) -> float:
        return self._tokens
