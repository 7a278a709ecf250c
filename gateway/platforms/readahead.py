"""Read-ahead for walks: while a client reads one page of an account, its next page is read.

A client that continues a walk almost always asks for the next page right away, and the
gateway answers each page in two steps: the upstream call, then mapping and writing the rows.
``ReadAhead`` wraps a platform client (the resilient one) and, when it answers a continuation
page (``start`` given) that came back full (``count`` rows) with a resume token after it,
starts reading the page after it in the background: same account, same ``AdSetQuery``, that
token and the same ``count``, which is what the walk asks for next when the client keeps its
page size. The request for that exact position then takes the answer, or waits for the read
still under way, instead of calling again; a walk to its end makes as many upstream calls as
without it.

What an operator can rely on:

- a first page (``start`` None) never causes a read, nor does a page that ended the account;
- no read when the client says a call would fail now (``KnowsAvailability``: throttled or a
  circuit open) or when the account's quota usage is at or above ``USAGE_CEILING``
  (``ReportsUsage``, Meta): an answer that may go unused must not push an account toward
  throttling. The read is an ordinary call of the wrapped client, so it goes through the same
  throttles, pacing, call budget, breaker and retries as any;
- at most ``capacity`` reads kept or under way per client, each answer kept ``lifetime``
  seconds at most: an unused one is dropped;
- a failed read is dropped (logged at debug): the request for its position calls as if there
  had been none, and sees that call's own outcome;
- concurrent requests for one position share the one read;
- reads run outside any request's context, so they count for no request's upstream calls,
  and ``aclose`` cancels and waits for them.

Every read ends as one ``outcome``: ``hit`` (a request took its answer; a request that shared
it with another counts too), ``unused`` (expired, pushed out or still kept at shutdown) or
``failed``; ``skipped`` counts the reads that were due but not started (usage, availability,
capacity).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final, Literal

from gateway.errors import UpstreamError
from gateway.observability.context import outside_request
from gateway.platforms.base import AccountRef, AdPlatform, AdSetPage, AdSetQuery
from gateway.platforms.delegating import Delegating

log = logging.getLogger("gateway.readahead")

Outcome = Literal["hit", "unused", "failed", "skipped"]
OUTCOMES: Final[tuple[Outcome, ...]] = ("hit", "unused", "failed", "skipped")

#: Seconds an answer read ahead is kept for the request that continues the walk.
LIFETIME_SECONDS: Final = 30.0
#: Reads kept or under way at once, per wrapped client.
CAPACITY: Final = 32
#: Quota usage (percent, as ``ReportsUsage`` reports it) from which no page is read ahead:
#: well below the level where calls are spaced out (90 %), so that pages no client may ask
#: for never take an account's last headroom.
USAGE_CEILING: Final = 50.0
#: Event-loop passes the request gives its read before it goes on with the page: enough for
#: the read to go through the wrapped client's layers (a task for shared calls, the
#: coordinator, the connection pool) and put its request on the wire, so that the upstream's
#: latency runs while this page is mapped and written, not after.
_HEAD_START_PASSES: Final = 6

_Key = tuple[AccountRef, AdSetQuery, str, int]


class _Read:
    """One read ahead: its task and, once its answer is in, the timer that drops it."""

    __slots__ = ("expiry", "task")

    def __init__(self, task: asyncio.Task[AdSetPage]) -> None:
        self.task = task
        self.expiry: asyncio.TimerHandle | None = None

    def stop(self) -> None:
        self.task.cancel()
        if self.expiry is not None:
            self.expiry.cancel()


class ReadAhead(Delegating):
    """An ``AdPlatform`` that reads a walk's next page ahead; everything else passes through.

    ``outcome`` is told how each read ended (see the module docstring)."""

    def __init__(
        self,
        inner: AdPlatform,
        *,
        lifetime: float = LIFETIME_SECONDS,
        capacity: int = CAPACITY,
        usage_ceiling: float = USAGE_CEILING,
        outcome: Callable[[Outcome], None] | None = None,
    ) -> None:
        super().__init__(inner)
        self._lifetime = lifetime
        self._capacity = capacity
        self._usage_ceiling = usage_ceiling
        self._outcome = outcome or _ignore
        #: Reads by the position they read, oldest first.
        self._reads: dict[_Key, _Read] = {}
        self._closed = False

    @property
    def pending(self) -> int:
        """Reads kept or under way now."""
        return len(self._reads)

    async def list_adsets(
        self, account: AccountRef, query: AdSetQuery, *, start: str | None, count: int
    ) -> AdSetPage:
        """The page, from a read ahead when one was made for exactly this position; a
        continuation page starts the read of the page after it (see the module docstring)."""
        if start is None:
            return await self.inner.list_adsets(account, query, start=None, count=count)
        page = await self._take((account, query, start, count))
        if page is None:
            page = await self.inner.list_adsets(account, query, start=start, count=count)
        if self._read_after(account, query, page, count):
            for _ in range(_HEAD_START_PASSES):
                await asyncio.sleep(0)
        return page

    async def _take(self, key: _Key) -> AdSetPage | None:
        """The answer read ahead for ``key``, waiting for it if still under way; None when
        there is none or it failed. The read leaves the table once its answer is taken, so
        a later request for the same position calls anew."""
        read = self._reads.get(key)
        if read is None:
            return None
        try:
            # Shielded: a request that gives up must not cancel the read others wait for.
            page = await asyncio.shield(read.task)
        except asyncio.CancelledError:
            if read.task.cancelled():
                return None  # dropped at shutdown: the caller meets the closing itself
            raise
        except Exception:
            return None  # counted and dropped as it ended; the caller calls itself
        if self._reads.get(key) is read:
            del self._reads[key]
            if read.expiry is not None:
                read.expiry.cancel()
        self._outcome("hit")
        return page

    def _read_after(
        self, account: AccountRef, query: AdSetQuery, page: AdSetPage, count: int
    ) -> bool:
        """Start reading the page after ``page`` when the rules allow; whether it started."""
        if self._closed or len(page.rows) != count:
            return False  # closing: a read started now would outlive the client
        token = page.resume_after(count)
        if token is None:
            return False
        key = (account, query, token, count)
        if key in self._reads:
            return False  # read already (two requests for the same page)
        if not self._may_call(account) or not self._make_room():
            self._outcome("skipped")
            return False
        task = asyncio.get_running_loop().create_task(
            self.inner.list_adsets(account, query, start=token, count=count),
            name=f"read-ahead {self.platform.value}",
            # Not the request's: its calls are not that request's to count, log or trace.
            context=outside_request(),
        )
        read = _Read(task)
        self._reads[key] = read
        task.add_done_callback(lambda done: self._settled(key, read, done))
        return True

    def _may_call(self, account: AccountRef) -> bool:
        if self.unavailable(account) is not None:
            return False
        usage = self.last_usage_pct(account.external_id)
        return usage is None or usage < self._usage_ceiling

    def _make_room(self) -> bool:
        """Whether a read may be added: at capacity, the oldest answer not yet taken is
        dropped; reads under way are never cut short, so when all are, there is no room."""
        if len(self._reads) < self._capacity:
            return True
        for key, read in self._reads.items():
            if read.task.done():
                self._drop(key, read)
                return True
        return False

    def _settled(self, key: _Key, read: _Read, task: asyncio.Task[AdSetPage]) -> None:
        if task.cancelled():
            return  # stopped by ``_drop`` or ``aclose``, which count it
        error = task.exception()
        if error is not None:
            if self._reads.get(key) is read:
                del self._reads[key]
            self._outcome("failed")
            # The code only: a traceback in the log is kept for internal errors, and the
            # request for this position meets the same failure, if it lasts, and reports it.
            reason = error.code if isinstance(error, UpstreamError) else type(error).__name__
            log.debug(
                "read-ahead failed",
                extra={
                    "event": "read_ahead_failed",
                    "platform": self.platform.value,
                    "reason": reason,
                },
            )
            return
        if self._reads.get(key) is read:
            read.expiry = asyncio.get_running_loop().call_later(
                self._lifetime, self._expire, key, read
            )

    def _expire(self, key: _Key, read: _Read) -> None:
        if self._reads.get(key) is read:
            self._drop(key, read)

    def _drop(self, key: _Key, read: _Read) -> None:
        del self._reads[key]
        read.stop()
        self._outcome("unused")

    async def aclose(self) -> None:
        """Cancel the reads under way and drop the answers kept (waiting for each task),
        then close the wrapped client; no read starts after this begins."""
        self._closed = True
        reads = list(self._reads.items())
        for key, read in reads:
            self._drop(key, read)
        await asyncio.gather(*(read.task for _, read in reads), return_exceptions=True)
        await super().aclose()


def _ignore(_: Outcome) -> None:
    """No one counts the outcomes."""
