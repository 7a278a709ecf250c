"""side_by_side: TaskGroup semantics, with the first failure raised as itself."""

from __future__ import annotations

import asyncio

import pytest

from gateway.errors import UpstreamNotFoundError, UpstreamUnavailableError
from gateway.platforms.tasks import side_by_side


async def test_results_of_every_task_and_the_body() -> None:
    async def value(v: int) -> int:
        await asyncio.sleep(0)
        return v

    async with side_by_side() as group:
        a = group.create_task(value(1))
        b = await value(2)
    assert (a.result(), b) == (1, 2)


async def test_a_failing_body_cancels_the_side_task_and_raises_its_own_error() -> None:
    side_cancelled = asyncio.Event()

    async def side() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            side_cancelled.set()
            raise

    error = UpstreamUnavailableError("down", platform="meta_ads")

    async def run() -> None:
        async with side_by_side() as group:
            group.create_task(side())
            await asyncio.sleep(0)
            raise error

    with pytest.raises(UpstreamUnavailableError) as info:
        await run()
    assert info.value is error
    assert side_cancelled.is_set()


async def test_a_failing_side_task_stops_the_body_and_raises_its_own_error() -> None:
    error = UpstreamNotFoundError("gone", platform="tiktok_ads")
    body_finished = False

    async def side() -> None:
        raise error

    async def run() -> None:
        nonlocal body_finished
        async with side_by_side() as group:
            group.create_task(side())
            await asyncio.sleep(10)
            body_finished = True

    with pytest.raises(UpstreamNotFoundError) as info:
        await run()
    assert info.value is error
    assert not body_finished


async def test_cancelling_the_caller_cancels_everything_and_stays_a_cancellation() -> None:
    started = asyncio.Event()

    async def run() -> None:
        async with side_by_side() as group:
            group.create_task(asyncio.sleep(10))
            started.set()
            await asyncio.sleep(10)

    task = asyncio.ensure_future(run())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
