"""The ID reverse map in front of a database: a bounded in-memory cache and write-behind.

A listing remembers every row's IDs, but nearly all were seen before: ``knows`` answers from
memory, and only new IDs are queued. A page does no more than that: it never waits for the
database nor pays for a transaction. A single background task writes what is queued, in one
transaction per batch: a batch is written ``delay`` seconds after its first ID was queued, or
at once when ``batch`` IDs are waiting, so a burst of cold pages costs one write rather than one
per page (the COMMIT, and with SQLite the hops to its thread, were 15% of a cold page's CPU when
each page wrote its own). ``flush`` (and so the store's ``close``) writes what is queued now.

Until written, queued IDs resolve from memory; a crash loses at most the last ``delay`` seconds
of them, which the next listing remembers again. If the database is unreachable, the batch is
dropped from the cache too (with a warning): later listings offer those IDs again, and until
then a lookup of one falls back on indexing the project's campaigns (listing.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

from gateway.errors import StoreUnavailableError
from gateway.store.base import IdTarget

log = logging.getLogger("gateway.store")

#: IDs kept in memory (about 300 bytes each with their target, so 3 MB when full); older ones
#: are read back from the database when asked for. A 200-row page names at most 400 IDs, so
#: the IDs of the last 25 pages are known: a warm page queues nothing. A row listed again
#: after leaving is queued again and written as a no-op insert.
CACHE_SIZE = 10_000
#: Seconds a new ID may wait to be written, so that the pages of a burst share one write.
WRITE_DELAY = 1.0
#: IDs waiting that are written at once, without waiting for ``WRITE_DELAY``; also the most
#: one write takes.
WRITE_BATCH = 5_000

WriteIds = Callable[[list[tuple[str, IdTarget]]], Awaitable[None]]
ReadId = Callable[[str], Awaitable[IdTarget | None]]


class IdMap:
    """Cache and write-behind queue over a database's ``write`` and ``read``."""

    def __init__(
        self,
        write: WriteIds,
        read: ReadId,
        capacity: int | None = None,
        *,
        delay: float = WRITE_DELAY,
        batch: int = WRITE_BATCH,
    ) -> None:
        self._write = write
        self._read = read
        self._capacity = capacity if capacity is not None else CACHE_SIZE
        self._delay = delay
        self._batch = batch
        self._cache: OrderedDict[str, IdTarget] = OrderedDict()
        self._pending: dict[str, IdTarget] = {}
        self._writer: asyncio.Task[None] | None = None
        # Resolved to end the writer's wait early (a full batch, a flush).
        self._wakeup: asyncio.Future[None] | None = None
        self._flushing = 0

    def __len__(self) -> int:
        return len(self._cache)

    def knows(self, public_id: str) -> bool:
        return public_id in self._cache

    def remember(self, entries: Iterable[tuple[str, IdTarget]]) -> None:
        cache, pending = self._cache, self._pending
        queued = len(pending)
        for public_id, target in entries:
            if public_id not in cache:
                cache[public_id] = target  # a new key goes last: the newest, evicted last
                pending[public_id] = target
        if len(pending) == queued:
            return
        while len(cache) > self._capacity:
            cache.popitem(last=False)
        if self._writer is None or self._writer.done():
            # In a context of its own: the request that queued the first ID has usually ended
            # by the time the batch is written, and the write is not its work.
            self._writer = asyncio.get_running_loop().create_task(
                self._write_pending(), context=contextvars.Context()
            )
        elif len(pending) >= self._batch:
            self._wake()

    async def resolve(self, public_id: str) -> IdTarget | None:
        target = self._cache.get(public_id) or self._pending.get(public_id)
        if target is not None:
            return target
        target = await self._read(public_id)
        if target is not None:
            self._cache[public_id] = target
            if len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return target

    async def flush(self) -> None:
        """Write what is queued now, and wait until it is written (or given up on)."""
        self._flushing += 1
        try:
            self._wake()
            while self._writer is not None and not self._writer.done():
                await asyncio.shield(self._writer)
        finally:
            self._flushing -= 1

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _write_pending(self) -> None:
        backlog = False  # more than a batch was waiting: the rest goes at once too
        while self._pending:
            if not self._flushing and not backlog and len(self._pending) < self._batch:
                self._wakeup = asyncio.get_running_loop().create_future()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._delay):
                        await self._wakeup
                self._wakeup = None
            # At most ``batch`` IDs a write: when the database is slow (a COMMIT waiting on the
            # disk) IDs pile up, and one write of all of them would hold their rows and the
            # driver's copies at once, which the allocator keeps as the process's RSS.
            batch = list(itertools.islice(self._pending.items(), self._batch))
            backlog = len(self._pending) > len(batch)
            for public_id, _ in batch:
                del self._pending[public_id]
            try:
                await self._write(batch)
            except StoreUnavailableError as exc:
                batch += self._pending.items()
                self._pending.clear()
                log.warning("ID map: %d new IDs not written: %s", len(batch), exc.detail)
                for public_id, _ in batch:
                    self._cache.pop(public_id, None)
                return
