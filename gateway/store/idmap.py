"""The ID reverse map in front of a database: a bounded in-memory cache and write-behind.

A listing remembers every row's IDs, but nearly all were seen before: ``knows`` answers from
memory, and only new IDs are queued. A single background task writes whatever is queued in one
transaction per round, so a request never waits for the database to remember IDs, and a burst
of pages costs a few writes rather than one per page. If the database is unreachable, the batch
is dropped from the cache too (with a warning): later listings offer those IDs again, and until
then a lookup of one falls back on indexing the project's campaigns (listing.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

from gateway.errors import StoreUnavailableError
from gateway.store.base import IdTarget

log = logging.getLogger("gateway.store")

#: IDs kept in memory; older ones are read back from the database when asked for.
CACHE_SIZE = 20_000

WriteIds = Callable[[list[tuple[str, IdTarget]]], Awaitable[None]]
ReadId = Callable[[str], Awaitable[IdTarget | None]]


class IdMap:
    """Cache and write-behind queue over a database's ``write`` and ``read``."""

    def __init__(self, write: WriteIds, read: ReadId, capacity: int | None = None) -> None:
        self._write = write
        self._read = read
        self._capacity = capacity if capacity is not None else CACHE_SIZE
        self._cache: OrderedDict[str, IdTarget] = OrderedDict()
        self._pending: dict[str, IdTarget] = {}
        self._writer: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._cache)

    def knows(self, public_id: str) -> bool:
        return public_id in self._cache

    def remember(self, entries: Iterable[tuple[str, IdTarget]]) -> None:
        fresh = False
        for public_id, target in entries:
            if public_id in self._cache:
                continue
            self._put(public_id, target)
            self._pending[public_id] = target
            fresh = True
        if fresh and (self._writer is None or self._writer.done()):
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())

    async def resolve(self, public_id: str) -> IdTarget | None:
        target = self._cache.get(public_id) or self._pending.get(public_id)
        if target is not None:
            return target
        target = await self._read(public_id)
        if target is not None:
            self._put(public_id, target)
        return target

    async def flush(self) -> None:
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    def _put(self, public_id: str, target: IdTarget) -> None:
        self._cache[public_id] = target
        self._cache.move_to_end(public_id)
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)

    async def _write_pending(self) -> None:
        while self._pending:
            batch = list(self._pending.items())
            self._pending.clear()
            try:
                await self._write(batch)
            except StoreUnavailableError as exc:
                batch += self._pending.items()
                self._pending.clear()
                log.warning("ID map: %d new IDs not written: %s", len(batch), exc.detail)
                for public_id, _ in batch:
                    self._cache.pop(public_id, None)
                return
