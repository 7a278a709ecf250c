"""Size hints: per account and filter, forgotten after their time to live or when unknown."""

from __future__ import annotations

from gateway.coordination import InProcessCoordinator
from gateway.listing.hints import SizeHints
from gateway.listing.types import ScopedAccount
from gateway.platforms.base import AccountRef, AdSetQuery, AdSetStatus, Platform

A = ScopedAccount("aa_A", AccountRef(Platform.META_ADS, "act_1", "A"))
B = ScopedAccount("aa_B", AccountRef(Platform.TIKTOK_ADS, "2", "B"))
ALL = AdSetQuery()
ACTIVE = AdSetQuery(statuses=frozenset({AdSetStatus.ACTIVE}))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_size_is_hinted_for_its_filter_until_its_time_to_live_ends() -> None:
    clock = Clock()
    hints = SizeHints(ttl=600, timer=clock)
    hints.learn([A, B], ALL, {0: 40, 1: 7})
    assert hints.hints([A, B], ALL) == [40, 7]
    assert hints.hints([A, B], ACTIVE) == [None, None]  # another filter: not seen
    clock.now += 599
    assert hints.hints([B, A], ALL) == [7, 40]
    clock.now += 1
    assert hints.hints([A, B], ALL) == [None, None]


def test_an_unknown_total_forgets_the_size_and_capacity_bounds_the_rest() -> None:
    hints = SizeHints(capacity=1, timer=Clock())
    hints.learn([A, B], ALL, {0: 40})
    hints.learn([A, B], ALL, {0: None})
    assert hints.hints([A], ALL) == [None]
    hints.learn([A, B], ALL, {0: 1, 1: 2})
    assert hints.hints([A, B], ALL) == [None, 2]  # the oldest went first


async def test_hints_learned_by_one_instance_size_the_others_requests() -> None:
    shared = InProcessCoordinator()
    first = SizeHints(coordinator=shared)
    second = SizeHints(coordinator=shared)
    await first.learn_shared([A, B], ALL, {0: 40, 1: 7})
    assert await second.shared_hints([A, B], ALL) == [40, 7]
    assert await second.shared_hints([A, B], ACTIVE) == [None, None]
    # an account that no longer reports its size is forgotten everywhere
    await first.learn_shared([A, B], ALL, {0: None})
    assert await SizeHints(coordinator=shared).shared_hints([A], ALL) == [None]
