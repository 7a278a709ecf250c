"""The circuit breaker on its own: no way a probe ends leaves the circuit probing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from gateway.errors import UpstreamAuthError, UpstreamUnavailableError
from gateway.resilience.breaker import CircuitBreakers

KEY = ("apple_ads", "1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def open_circuit(clock: Clock) -> CircuitBreakers:
    """Breakers whose circuit for KEY is open and past its cool-down."""
    breakers = CircuitBreakers(threshold=2, cooldown=30.0, clock=clock)
    breakers.failure(KEY)
    breakers.failure(KEY)
    assert breakers.state(KEY) == "open"
    clock.now += 31
    return breakers


def succeed(breakers: CircuitBreakers) -> None:
    breakers.success(KEY)


def fail(breakers: CircuitBreakers) -> None:
    breakers.failure(KEY)


ENDINGS: dict[str, tuple[Callable[[CircuitBreakers], None], str, BaseException | None]] = {
    # name: (what the probe records, the state it leaves, what it raises)
    "success": (succeed, "closed", None),
    "transient failure": (fail, "open", UpstreamUnavailableError("down", platform="a")),
    "returns without an outcome": (lambda _: None, "open", None),
    "upstream error not recorded": (
        lambda _: None,
        "open",
        UpstreamUnavailableError("down", platform="a"),
    ),
    "refusal not recorded": (lambda _: None, "open", UpstreamAuthError("no", platform="a")),
    "cancelled": (lambda _: None, "open", asyncio.CancelledError()),
    "deadline": (lambda _: None, "open", TimeoutError()),
    "a bug": (lambda _: None, "open", KeyError("k")),
    "interrupted": (lambda _: None, "open", KeyboardInterrupt()),
    "generator closed": (lambda _: None, "open", GeneratorExit()),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_no_ending_of_the_probe_leaves_the_circuit_probing(ending: str) -> None:
    clock = Clock()
    breakers = open_circuit(clock)
    record, expected, error = ENDINGS[ending]
    raised: BaseException | None = None
    # given the probe taken
    try:
        with breakers.admit(KEY) as refused:
            assert refused is None
            assert breakers.state(KEY) == "half_open"
            # while it runs, nobody else is let through
            with breakers.admit(KEY) as second:
                assert second is not None
            # when it ends this way
            record(breakers)
            if error is not None:
                raise error
    except BaseException as exc:
        raised = exc
    assert raised is error
    # then the circuit is never left half-open
    assert breakers.state(KEY) == expected
    if expected == "open":
        # and a next call may probe: at once when nothing was recorded, else after a cool-down
        clock.now += 31
        with breakers.admit(KEY) as refused:
            assert refused is None
            breakers.success(KEY)
        assert breakers.state(KEY) == "closed"


def test_a_call_admitted_before_the_circuit_opened_does_not_release_a_later_probe() -> None:
    clock = Clock()
    breakers = CircuitBreakers(threshold=1, cooldown=30.0, clock=clock)
    early = breakers.admit(KEY)
    assert early.__enter__() is None  # admitted while closed, still running
    breakers.failure(KEY)  # another call opens the circuit
    clock.now += 31
    probe = breakers.admit(KEY)
    assert probe.__enter__() is None
    # when the early call ends while the probe runs
    early.__exit__(None, None, None)
    # then the probe is still the only call let through
    assert breakers.state(KEY) == "half_open"
    probe.__exit__(None, None, None)
    assert breakers.state(KEY) == "open"


def test_while_cooling_calls_are_refused_with_the_time_left() -> None:
    clock = Clock()
    breakers = CircuitBreakers(threshold=1, cooldown=30.0, clock=clock)
    breakers.failure(KEY)
    clock.now += 10
    with breakers.admit(KEY) as refused:
        assert refused == pytest.approx(20.0)
    assert breakers.cooling_for(KEY) == pytest.approx(20.0)
    assert breakers.state(KEY) == "open"
