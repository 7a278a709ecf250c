"""What the Apple sandbox remembers between requests: issued tokens and rate-limit windows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.sandbox.apple.model import AppleSeed


@dataclass
class RateWindow:
    """One client's calls in the current rate-limit window."""

    started: float
    used: int = 0


@dataclass
class AppleSandboxState:
    """Issued tokens and rate-limit windows; tests may revoke tokens or read them."""

    seed: AppleSeed
    token_ttl_s: int
    quota_per_minute: int | None
    clock: Callable[[], float]
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    windows: dict[str, RateWindow] = field(default_factory=dict)

    def revoke_all(self) -> None:
        """Forget every issued token (the next API call with one gets a 401)."""
        self.tokens.clear()
