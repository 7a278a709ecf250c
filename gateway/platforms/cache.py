"""Short-lived caches of upstream reads, with one fetch in flight per key."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from gateway.platforms.base import CampaignRecord

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FetchCache(Generic[K, V]):
    """Values kept for ``ttl`` seconds in front of an async fetch that shares cold fetches.

    Callers that miss the same key at the same time make one upstream read: the first one
    fetches, the others wait for its outcome, value or error (errors are never cached). A
    waiter that is cancelled leaves the fetch running for the rest; when the fetching caller
    itself is cancelled, its waiters fetch again. ``timer`` is the clock entries expire by
    (injected in tests). Values are never None: None means "the platform has no such key".

    At most ``maxsize`` values are kept, the least recently written leaving first; an
    expired one is dropped when read. (An ordered dict of values and their expiry: a nested
    page reads a score of campaigns here, and a ``cachetools.TTLCache`` read cost several
    times a dict's.)
    """

    def __init__(self, *, ttl: float, timer: Callable[[], float], maxsize: int = 4096) -> None:
        self._ttl = ttl
        self._timer = timer
        self._maxsize = maxsize
        self._values: OrderedDict[K, tuple[V, float]] = OrderedDict()  # value, expires at
        self._pending: dict[K, asyncio.Future[V | None]] = {}

    def __len__(self) -> int:
        """Values held, expired ones not yet dropped included."""
        return len(self._values)

    def fresh(self, key: K) -> V | None:
        """The cached value, if it has not expired; never fetches."""
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry[1] <= self._timer():
            del self._values[key]
            return None
        return entry[0]

    def put(self, key: K, value: V) -> None:
        """Cache a value read by another call (a listing that returned it anyway)."""
        self.put_many(((key, value),))

    def fresh_many(self, keys: Iterable[K]) -> dict[K, V]:
        """Those of ``keys`` whose cached value has not expired; never fetches."""
        values, now = self._values, self._timer()
        found = {key: values.get(key) for key in keys}
        out: dict[K, V] = {}
        for key, entry in found.items():
            if entry is None:
                continue
            if entry[1] <= now:
                del values[key]
            else:
                out[key] = entry[0]
        return out

    def put_many(self, items: Iterable[tuple[K, V]]) -> None:
        """Cache values read together (a whole account's campaigns)."""
        values = self._values
        expires = self._timer() + self._ttl
        for key, value in items:
            values[key] = (value, expires)
            values.move_to_end(key)
        while len(values) > self._maxsize:
            values.popitem(last=False)

    async def get(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        """The value of ``key``, fetched with ``fetch()`` unless cached or being fetched."""
        value = self.fresh(key)
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
                value = self.fresh(key)
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
                self.put(key, value)
                out[key] = value
            pending.set_result(value)


#: Campaigns read for GraphQL's nested ``campaign`` (by ID, or a whole account ahead of its
#: ad sets) are served from memory for a minute: a warm page costs no campaign call, while a
#: campaign renamed in the platform's UI shows within a minute (as Apple's campaigns do).
CAMPAIGN_TTL_SECONDS = 60


class CampaignCache:
    """Each account's campaigns by ID for a minute, as the Meta and TikTok clients keep them:
    read by ID when asked for, or all of an account's at once ahead of a page (``warm``).

    An account is marked warm a little shorter than the campaigns its read put, so a warm
    account never points at campaigns already gone."""

    def __init__(self, *, timer: Callable[[], float], maxsize: int = 65_536) -> None:
        self._campaigns: FetchCache[tuple[str, str], CampaignRecord] = FetchCache(
            ttl=CAMPAIGN_TTL_SECONDS, timer=timer, maxsize=maxsize
        )
        self._warm: FetchCache[str, int] = FetchCache(ttl=CAMPAIGN_TTL_SECONDS - 5, timer=timer)

    def is_warm(self, account_id: str) -> bool:
        """Whether ``warm`` read the account's campaigns within the last minute."""
        return self._warm.fresh(account_id) is not None

    async def warm(
        self, account_id: str, read: Callable[[], Awaitable[Sequence[CampaignRecord]]]
    ) -> None:
        """Keep every campaign ``read()`` gives, unless the account is warm; concurrent
        callers share one read."""

        async def fetch() -> int:
            records = await read()
            self.keep(account_id, records)
            return len(records)

        await self._warm.get(account_id, fetch)

    def keep(self, account_id: str, records: Iterable[CampaignRecord]) -> None:
        """Cache campaigns read by another call (a whole list)."""
        self._campaigns.put_many(((account_id, r.external_id), r) for r in records)

    def cached(self, account_id: str, campaign_ids: Iterable[str]) -> dict[str, CampaignRecord]:
        """Those of the named campaigns read within the last minute (no call)."""
        found = self._campaigns.fresh_many((account_id, cid) for cid in campaign_ids)
        return {cid: record for (_, cid), record in found.items()}

    async def get(
        self,
        account_id: str,
        campaign_ids: Sequence[str],
        read: Callable[[list[str]], Awaitable[Mapping[str, CampaignRecord]]],
    ) -> dict[str, CampaignRecord]:
        """The named campaigns: cached ones, ones another caller is reading, and the rest
        from one ``read(missing_ids)``. Ids it does not return are absent."""

        async def fetch(missing: list[tuple[str, str]]) -> dict[tuple[str, str], CampaignRecord]:
            found = await read([cid for _, cid in missing])
            return {(account_id, cid): record for cid, record in found.items()}

        keys = [(account_id, cid) for cid in dict.fromkeys(campaign_ids)]
        found = await self._campaigns.get_many(keys, fetch)
        return {key[1]: found[key] for key in keys if key in found}
