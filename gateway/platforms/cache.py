"""Short-lived caches of upstream reads, with one fetch in flight per key."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Generic, TypeVar

from cachetools import TTLCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FetchCache(Generic[K, V]):
    """A ``cachetools.TTLCache`` in front of an async fetch that shares cold fetches.

    Callers that miss the same key at the same time make one upstream read: the first one
    fetches, the others wait for its outcome, value or error (errors are never cached). A
    waiter that is cancelled leaves the fetch running for the rest; when the fetching caller
    itself is cancelled, its waiters fetch again. ``timer`` is the clock entries expire by
    (injected in tests). Values are never None: None means "the platform has no such key".
    """

    def __init__(self, *, ttl: float, timer: Callable[[], float], maxsize: int = 4096) -> None:
        self._values: TTLCache[K, V] = TTLCache(maxsize=maxsize, ttl=ttl, timer=timer)
        self._pending: dict[K, asyncio.Future[V | None]] = {}

    def fresh(self, key: K) -> V | None:
        """The cached value, if it has not expired; never fetches."""
        return self._values.get(key)

    def put(self, key: K, value: V) -> None:
        """Cache a value read by another call (a listing that returned it anyway)."""
        self._values[key] = value

    def fresh_many(self, keys: Iterable[K]) -> dict[K, V]:
        """Those of ``keys`` whose cached value has not expired; never fetches."""
        values = self._values
        found = {key: values.get(key) for key in keys}
        return {key: value for key, value in found.items() if value is not None}

    def put_many(self, items: Iterable[tuple[K, V]]) -> None:
        """Cache values read together (a whole account's campaigns)."""
        for key, value in items:
            self._values[key] = value

    async def get(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        """The value of ``key``, fetched with ``fetch()`` unless cached or being fetched."""
        value = self._values.get(key)
        if value is not None:
            return value

        async def fetch_one(keys: list[K]) -> dict[K, V]:
            return {key: await fetch()}

        return (await self.get_many([key], fetch_one))[key]

    async def get_many(
        self, keys: Iterable[K], fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]]
    ) -> dict[K, V]:
        """The values of ``keys``: fresh ones from the cache, keys another caller is fetching
        from that fetch, and the rest with one ``fetch(missing)``. Keys ``fetch`` does not
        return are absent from the result."""
        out: dict[K, V] = {}
        wanted = list(dict.fromkeys(keys))
        while wanted:
            mine: list[K] = []
            theirs: dict[K, asyncio.Future[V | None]] = {}
            for key in wanted:
                value = self._values.get(key)
                if value is not None:
                    out[key] = value
                elif key in self._pending:
                    theirs[key] = self._pending[key]
                else:
                    mine.append(key)
            if mine:
                await self._fetch(mine, fetch, out)
            wanted = []
            if theirs:
                # asyncio.wait, not await: cancelling this caller must not cancel their fetch.
                await asyncio.wait(theirs.values())
                for key, pending in theirs.items():
                    if pending.cancelled():
                        wanted.append(key)  # its caller went away: fetch it ourselves
                        continue
                    value = pending.result()
                    if value is not None:
                        out[key] = value
        return out

    async def _fetch(
        self,
        keys: list[K],
        fetch: Callable[[list[K]], Awaitable[Mapping[K, V]]],
        out: dict[K, V],
    ) -> None:
        loop = asyncio.get_running_loop()
        futures: dict[K, asyncio.Future[V | None]] = {k: loop.create_future() for k in keys}
        self._pending.update(futures)
        try:
            found = await fetch(keys)
        except BaseException as exc:
            for pending in futures.values():
                if isinstance(exc, Exception):
                    pending.set_exception(exc)
                    pending.exception()  # read here, so an unwaited one is not reported
                else:
                    pending.cancel()  # cancelled (or worse): the waiters try themselves
            raise
        finally:
            for key, pending in futures.items():
                if self._pending.get(key) is pending:
                    del self._pending[key]
        for key, pending in futures.items():
            value = found.get(key)
            if value is not None:
                self._values[key] = value
                out[key] = value
            pending.set_result(value)
