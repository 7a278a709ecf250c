"""A circuit breaker per platform and ad account."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from gateway.observability import events


class _Probe:
    """Identifies the one call let through a half-open circuit."""

    __slots__ = ()


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    #: The call let through after the cool-down, while it runs.
    probe: _Probe | None = None


@dataclass
class CircuitBreakers:
    """Opens after ``threshold`` consecutive transient failures of one key; while open, calls
    fail fast; after ``cooldown`` seconds one probe call is let through (half-open): its success
    closes the circuit, its failure opens it again, and any other ending (cancelled, refused
    before it reached the platform, a bug) lets the next call probe instead."""

    threshold: int = 5
    cooldown: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _circuits: dict[tuple[str, str], _Circuit] = field(default_factory=dict)

    @contextmanager
    def admit(self, key: tuple[str, str]) -> Iterator[float | None]:
        """Admission for one call: yields None when it may go now (maybe as the probe), else
        the seconds until one may. A probe is released when the block ends, however it ends,
        unless ``success`` or ``failure`` already settled the circuit."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            yield None
            return
        waited = self.clock() - circuit.opened_at
        if waited < self.cooldown:
            yield self.cooldown - waited
            return
        if circuit.probe is not None:
            yield 1.0  # one probe at a time
            return
        probe = circuit.probe = _Probe()
        events.breaker_transition(key, "open", "half_open")
        try:
            yield None
        finally:
            # Looked up again: success() may have dropped the circuit, failure() replaced
            # nothing but the probe, and a later probe must not be released by this one.
            current = self._circuits.get(key)
            if current is not None and current.probe is probe:
                current.probe = None
                events.breaker_transition(key, "half_open", "open")

    def cooling_for(self, key: tuple[str, str]) -> float | None:
        """Seconds the circuit stays open, without taking the probe (a pure read)."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return None
        remaining = self.cooldown - (self.clock() - circuit.opened_at)
        return remaining if remaining > 0 else None

    def success(self, key: tuple[str, str]) -> None:
        """The platform answered (even with a throttle or a refusal): close the circuit."""
        circuit = self._circuits.pop(key, None)
        if circuit is not None and circuit.opened_at is not None:
            events.breaker_transition(key, "half_open", "closed")

    def failure(self, key: tuple[str, str]) -> None:
        """A transient failure: a failed probe, or the ``threshold``-th in a row, opens it."""
        circuit = self._circuits.setdefault(key, _Circuit())
        circuit.failures += 1
        if circuit.probe is not None or circuit.failures >= self.threshold:
            old = self.state(key)
            circuit.opened_at = self.clock()
            circuit.probe = None
            if old != "open":
                events.breaker_transition(key, old, "open")

    def state(self, key: tuple[str, str]) -> str:
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return "closed"
        return "half_open" if circuit.probe is not None else "open"
