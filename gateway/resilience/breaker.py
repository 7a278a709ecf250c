"""A circuit breaker per platform and ad account."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import TracebackType

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

    def admit(self, key: tuple[str, str]) -> AbstractContextManager[float | None]:
        """Admission for one call: entered, it gives None when the call may go now (maybe as
        the probe), else the seconds until one may. A probe is released when the block ends,
        however it ends, unless ``success`` or ``failure`` already settled the circuit.

        Every upstream call passes here, nearly always through a closed circuit: that case
        is one shared object with nothing to release (no generator, no allocation)."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return _GO
        waited = self.clock() - circuit.opened_at
        if waited < self.cooldown:
            return _Admission(self.cooldown - waited)
        if circuit.probe is not None:
            return _Admission(1.0)  # one probe at a time
        probe = circuit.probe = _Probe()
        events.breaker_transition(key, "open", "half_open")
        return _Admission(None, lambda: self._release(key, probe))

    def _release(self, key: tuple[str, str], probe: _Probe) -> None:
        # Looked up again: success() may have dropped the circuit, failure() replaced nothing
        # but the probe, and a later probe must not be released by this one.
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


class _Admission(AbstractContextManager[float | None]):
    """An admission: entered, the seconds until a call may go, or None when it may go now;
    ``release`` runs when the call's block ends (the probe of a half-open circuit)."""

    __slots__ = ("_release", "_wait")

    def __init__(self, wait: float | None, release: Callable[[], None] | None = None) -> None:
        self._wait = wait
        self._release = release

    def __enter__(self) -> float | None:
        return self._wait

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._release is not None:
            self._release()


#: Through a closed circuit: nothing to release.
_GO = _Admission(None)
