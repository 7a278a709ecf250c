"""The coordination contract, run in-process and on Redis."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.coordination import Coordinator, RedisCoordinator
from gateway.coordination.base import AccountState
from gateway.coordination.local import InProcessCoordinator


async def test_unknown_scope_has_no_state(coordinator: Coordinator) -> None:
    assert await coordinator.account_state("meta_ads:act_1") == AccountState()


async def test_throttle_is_kept_until_its_regain_time_and_the_later_one_wins(
    coordinator: Coordinator,
) -> None:
    until = time.time() + 30
    await coordinator.set_throttled("meta_ads:act_1", until)
    await coordinator.set_throttled("meta_ads:act_1", until - 20)  # an earlier one: ignored
    state = await coordinator.account_state("meta_ads:act_1")
    assert state.throttled_until == pytest.approx(until)
    assert (await coordinator.account_state("meta_ads:act_2")).throttled_until is None


async def test_throttle_expires_at_its_regain_time(coordinator: Coordinator) -> None:
    await coordinator.set_throttled("apple_ads:1", time.time() + 0.2)
    await asyncio.sleep(0.3)
    assert (await coordinator.account_state("apple_ads:1")).throttled_until is None


async def test_usage_and_circuit_are_remembered_then_forgotten(coordinator: Coordinator) -> None:
    await coordinator.set_usage("meta_ads:act_1", 93.5, ttl=0.2)
    open_until = time.time() + 30
    await coordinator.set_circuit("meta_ads:act_1", open_until)
    state = await coordinator.account_state("meta_ads:act_1")
    assert state.usage_pct == 93.5
    assert state.circuit_open_until == pytest.approx(open_until)
    await coordinator.set_circuit("meta_ads:act_1", None)
    await asyncio.sleep(0.3)
    assert await coordinator.account_state("meta_ads:act_1") == AccountState()


async def test_size_hints_are_kept_for_their_ttl(coordinator: Coordinator) -> None:
    await coordinator.set_hint("aa_1|*", 420, ttl=0.2)
    assert await coordinator.get_hint("aa_1|*") == 420
    await coordinator.set_hint("aa_2|*", 7, ttl=30)
    await coordinator.set_hint("aa_2|*", None, ttl=30)
    assert await coordinator.get_hint("aa_2|*") is None
    await asyncio.sleep(0.3)
    assert await coordinator.get_hint("aa_1|*") is None


async def test_bucket_grants_its_capacity_then_says_how_long_to_wait(
    coordinator: Coordinator,
) -> None:
    grants = [await coordinator.take("key:k1", capacity=3, per_seconds=30) for _ in range(4)]
    assert [g.granted for g in grants] == [True, True, True, False]
    assert [g.remaining for g in grants[:3]] == [2, 1, 0]
    assert grants[3].wait == pytest.approx(10, abs=0.5)  # one token every 10 s
    assert grants[3].reset == pytest.approx(30, abs=0.5)
    assert (await coordinator.take("key:k2", capacity=3, per_seconds=30)).granted


async def test_bucket_refills_at_its_rate(coordinator: Coordinator) -> None:
    for _ in range(2):
        await coordinator.take("key:k1", capacity=2, per_seconds=0.4)
    assert not (await coordinator.take("key:k1", capacity=2, per_seconds=0.4)).granted
    await asyncio.sleep(0.25)  # 0.2 s is one token
    assert (await coordinator.take("key:k1", capacity=2, per_seconds=0.4)).granted


async def test_two_coordinators_on_one_redis_never_exceed_a_bucket_together(
    redis_prefix: tuple[str, str],
) -> None:
    url, prefix = redis_prefix
    first = RedisCoordinator.from_url(url, prefix)
    second = RedisCoordinator.from_url(url, prefix)
    try:
        takes = [
            c.take("budget:meta_ads:act_1", capacity=20, per_seconds=3600)
            for _ in range(30)
            for c in (first, second)
        ]
        grants = await asyncio.gather(*takes)
        assert sum(g.granted for g in grants) == 20
        # And a throttle learned by one is seen by the other.
        await first.set_throttled("meta_ads:act_1", time.time() + 60)
        assert (await second.account_state("meta_ads:act_1")).throttled_until is not None
    finally:
        await first.aclose()
        await second.aclose()


async def test_the_in_process_coordinator_holds_at_most_its_capacity() -> None:
    coordinator = InProcessCoordinator(clock=lambda: 1000.0, capacity=3)
    for n in range(5):
        await coordinator.set_usage(f"meta_ads:act_{n}", float(n), ttl=60)
    await coordinator.set_usage("meta_ads:act_2", 20.0, ttl=60)  # written again: the newest
    await coordinator.set_usage("meta_ads:act_5", 5.0, ttl=60)
    for n in range(4):
        await coordinator.take(f"rest:key_{n}", capacity=10, per_seconds=1.0)

    assert coordinator.held == 6
    usage = [(await coordinator.account_state(f"meta_ads:act_{n}")).usage_pct for n in range(6)]
    assert usage == [None, None, 20.0, None, 4.0, 5.0]
    # The oldest bucket went: it starts full again.
    assert (await coordinator.take("rest:key_0", capacity=10, per_seconds=1.0)).remaining == 9
    assert (await coordinator.take("rest:key_3", capacity=10, per_seconds=1.0)).remaining == 8


async def test_an_expired_entry_is_dropped_when_read() -> None:
    now = [1000.0]
    coordinator = InProcessCoordinator(clock=lambda: now[0])
    await coordinator.set_usage("meta_ads:act_1", 50.0, ttl=10)
    now[0] += 10
    assert (await coordinator.account_state("meta_ads:act_1")).usage_pct is None
    assert coordinator.held == 0
