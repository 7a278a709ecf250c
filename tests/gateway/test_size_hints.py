"""Size hints: per account and filter, kept however long a project is idle, forgotten when
unknown or pushed out by capacity; shared through the coordinator."""

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


def test_a_size_is_hinted_for_its_filter_however_long_the_project_was_idle() -> None:
    clock = Clock()
    hints = SizeHints(timer=clock)
    hints.learn([A, B], ALL, {0: 40, 1: 7})
    assert hints.hints([A, B], ALL) == [40, 7]
    assert hints.hints([A, B], ACTIVE) == [None, None]  # another filter: not seen
    clock.now += 599
    assert hints.hints([B, A], ALL) == [7, 40]
    # an idle night later, the last sizes seen still size the first page
    clock.now += 12 * 3600
    assert hints.hints([A, B], ALL) == [40, 7]


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


async def test_an_old_hint_is_asked_of_the_other_instances_and_kept_when_they_know_none() -> None:
    clock = Clock()
    shared = InProcessCoordinator()
    mine = SizeHints(timer=clock, coordinator=shared)
    other = SizeHints(timer=clock, coordinator=shared)
    await mine.learn_shared([A, B], ALL, {0: 40, 1: 7})
    # another instance sees A grow, and later B's shared hint is gone (expired in Redis)
    await other.learn_shared([A], ALL, {0: 55})
    await shared.set_hint("|".join(SizeHints._key(B, ALL)), None, 0)
    # within ten minutes this instance goes by what it saw itself
    clock.now += 599
    assert await mine.shared_hints([A, B], ALL) == [40, 7]
    # past them it asks: the newer size wins, and its own stays the guess where none is known
    clock.now += 1
    assert await mine.shared_hints([A, B], ALL) == [55, 7]


async def test_a_size_still_in_use_is_told_to_the_others_again_after_ten_minutes() -> None:
    clock = Clock()
    shared = InProcessCoordinator()
    told: list[tuple[str, int | None, float]] = []
    set_hint = shared.set_hint

    async def recording(key: str, size: int | None, ttl: float) -> None:
        told.append((key, size, ttl))
        await set_hint(key, size, ttl)

    shared.set_hint = recording  # type: ignore[method-assign]
    hints = SizeHints(timer=clock, coordinator=shared)
    await hints.learn_shared([A], ALL, {0: 40})
    clock.now += 300
    await hints.learn_shared([A], ALL, {0: 40})  # unchanged: not told again yet
    clock.now += 300
    await hints.learn_shared([A], ALL, {0: 40})  # unchanged, but told ten minutes ago
    assert [(size, ttl) for _, size, ttl in told] == [(40, 86400.0), (40, 86400.0)]
