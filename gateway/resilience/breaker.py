"""A circuit breaker per platform and ad account."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False


@dataclass
class CircuitBreakers:
    """Opens after ``threshold`` consecutive transient failures of one key; while open, calls
    fail fast; after ``cooldown`` seconds one probe call is let through (half-open): its success
    closes the circuit, its failure opens it again."""

    threshold: int = 5
    cooldown: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _circuits: dict[tuple[str, str], _Circuit] = field(default_factory=dict)

    def open_for(self, key: tuple[str, str]) -> float | None:
        """Seconds until a call may be tried, or None when it may go now (maybe as the probe)."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return None
        waited = self.clock() - circuit.opened_at
        if waited < self.cooldown:
            return self.cooldown - waited
        if circuit.probing:
            return 1.0  # one probe at a time
        circuit.probing = True
        return None

    def cooling_for(self, key: tuple[str, str]) -> float | None:
        """Seconds the circuit stays open, without taking the probe (a pure read)."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return None
        remaining = self.cooldown - (self.clock() - circuit.opened_at)
        return remaining if remaining > 0 else None

    def success(self, key: tuple[str, str]) -> None:
        """The platform answered (even with a throttle or a refusal): close the circuit."""
        self._circuits.pop(key, None)

    def abandon(self, key: tuple[str, str]) -> None:
        """A call ended without an answer (cancelled): if it was the probe, let another go."""
        circuit = self._circuits.get(key)
        if circuit is not None:
            circuit.probing = False

    def failure(self, key: tuple[str, str]) -> None:
        circuit = self._circuits.setdefault(key, _Circuit())
        circuit.failures += 1
        if circuit.probing or circuit.failures >= self.threshold:
            circuit.opened_at = self.clock()
            circuit.probing = False

    def state(self, key: tuple[str, str]) -> str:
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return "closed"
        return "half_open" if circuit.probing else "open"
