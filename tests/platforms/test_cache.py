"""FetchCache: expiry by an injected clock, one fetch in flight per key, no cached failures."""

from __future__ import annotations

import asyncio

import pytest

from gateway.errors import UpstreamUnavailableError
from gateway.platforms.cache import FetchCache

#: A caller of ``FetchCache.get_many`` running as a task.
Fetch = asyncio.Future[dict[str, str]]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Upstream:
    """Answers ``value-<key>`` for keys it knows, after an event the test sets."""

    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.calls: list[list[str]] = []
        self.release = asyncio.Event()
        self.fail: Exception | None = None

    async def fetch(self, keys: list[str]) -> dict[str, str]:
        self.calls.append(keys)
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return {k: f"value-{k}" for k in keys if k in self.known}


async def test_values_expire_by_the_injected_clock() -> None:
    clock = Clock()
    cache: FetchCache[str, str] = FetchCache(ttl=60, timer=clock)
    upstream = Upstream({"a"})
    upstream.release.set()
    assert await cache.get_many(["a"], upstream.fetch) == {"a": "value-a"}
    clock.now += 59
    assert cache.fresh("a") == "value-a"
    assert await cache.get_many(["a"], upstream.fetch) == {"a": "value-a"}
    assert len(upstream.calls) == 1
    clock.now += 2
    assert cache.fresh("a") is None
    await cache.get_many(["a"], upstream.fetch)
    assert len(upstream.calls) == 2


def test_values_put_together_are_served_fresh_until_they_expire() -> None:
    clock = Clock()
    cache: FetchCache[str, str] = FetchCache(ttl=60, timer=clock)
    cache.put_many([("a", "1"), ("b", "2")])
    assert cache.fresh_many(["a", "b", "c"]) == {"a": "1", "b": "2"}
    clock.now += 61
    assert cache.fresh_many(["a", "b"]) == {}


def test_at_most_maxsize_values_are_kept_the_least_recently_written_leaving_first() -> None:
    clock = Clock()
    cache: FetchCache[str, str] = FetchCache(ttl=60, timer=clock, maxsize=3)
    cache.put_many([("a", "1"), ("b", "2"), ("c", "3")])
    cache.put("a", "1 again")  # written again: now the newest
    cache.put("d", "4")
    assert len(cache) == 3
    assert cache.fresh_many(["a", "b", "c", "d"]) == {"a": "1 again", "c": "3", "d": "4"}
    # expired values are dropped as they are read
    clock.now += 61
    assert cache.fresh("a") is None
    assert cache.fresh_many(["c", "d"]) == {}
    assert len(cache) == 0


async def test_concurrent_misses_share_one_fetch_and_new_keys_get_their_own() -> None:
    cache: FetchCache[str, str] = FetchCache(ttl=60, timer=Clock())
    upstream = Upstream({"a", "b", "c"})
    first = asyncio.ensure_future(cache.get_many(["a", "b"], upstream.fetch))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(cache.get_many(["b", "a", "c"], upstream.fetch))
    await asyncio.sleep(0)
    upstream.release.set()
    assert await first == {"a": "value-a", "b": "value-b"}
    assert await second == {"a": "value-a", "b": "value-b", "c": "value-c"}
    assert upstream.calls == [["a", "b"], ["c"]]


async def test_unknown_keys_are_absent_and_not_cached() -> None:
    cache: FetchCache[str, str] = FetchCache(ttl=60, timer=Clock())
    upstream = Upstream({"a"})
    upstream.release.set()
    assert await cache.get_many(["a", "zz"], upstream.fetch) == {"a": "value-a"}
    assert await cache.get_many(["zz"], upstream.fetch) == {}
    assert upstream.calls == [["a", "zz"], ["zz"]]


async def test_a_failure_reaches_every_waiter_and_is_not_cached() -> None:
    cache: FetchCache[str, str] = FetchCache(ttl=60, timer=Clock())
    upstream = Upstream({"a"})
    upstream.fail = UpstreamUnavailableError("down", platform="apple_ads")
    callers = [asyncio.ensure_future(cache.get("a", lambda: _one(upstream))) for _ in range(3)]
    await asyncio.sleep(0)
    upstream.release.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert all(o is upstream.fail for o in outcomes)
    assert len(upstream.calls) == 1
    upstream.fail = None
    assert await cache.get("a", lambda: _one(upstream)) == "value-a"
    assert len(upstream.calls) == 2


async def fetcher_and_waiter(upstream: Upstream) -> tuple[Fetch, Fetch]:
    """Two callers of key "a" on one cache: the first fetching it (held until
    ``upstream.release``), the second waiting for that fetch."""
    cache: FetchCache[str, str] = FetchCache(ttl=60, timer=Clock())
    owner = asyncio.ensure_future(cache.get_many(["a"], upstream.fetch))
    await asyncio.sleep(0)
    waiter = asyncio.ensure_future(cache.get_many(["a"], upstream.fetch))
    await asyncio.sleep(0)
    return owner, waiter


async def test_a_cancelled_waiter_leaves_the_fetch_to_the_others() -> None:
    upstream = Upstream({"a"})
    owner, waiter = await fetcher_and_waiter(upstream)
    waiter.cancel()
    upstream.release.set()
    assert await owner == {"a": "value-a"}
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert len(upstream.calls) == 1


async def test_when_the_fetching_caller_is_cancelled_a_waiter_fetches_itself() -> None:
    upstream = Upstream({"a"})
    owner, waiter = await fetcher_and_waiter(upstream)
    owner.cancel()
    await asyncio.sleep(0)
    upstream.release.set()
    assert await waiter == {"a": "value-a"}
    assert owner.cancelled()
    assert len(upstream.calls) == 2


async def _one(upstream: Upstream) -> str:
    return (await upstream.fetch(["a"]))["a"]
