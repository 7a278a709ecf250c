"""Assembles one page of the merged list from the accounts' own pages.

The walk is a queue of accounts still to read (see ``cursors.Position``). Each account is
asked for the rows the page still needs beyond what the accounts before it are expected to
give: their totals (learned earlier in the walk; they ride along in the cursor) or else the
sizes seen on recent requests. A round asks, concurrently, the accounts up to the one expected
to complete the page, so rows fetched only to be thrown away stay few and accounts past the
page are not called at all. With an account of unknown size in the way, a first page asks every
account after it as well (for a full page each: one round, at the latency of the slowest);
a later page stops the round there. When the caller wants ``totalCount``, every account whose
total is not known yet is also asked (a row at least) for it. No row is fetched twice for one
page: rows fetched for an account are used when the walk reaches it (also when an account
before it held more rows than expected), and it is asked again only to go on after them.

When an account fails transiently and partial pages are allowed, its rows are not lost: it
moves to the end of the queue with its resume token, so the cursor comes back for it, and the
failure is reported as a source with the wait before it is worth asking again (the platform's
regain time, the breaker's cool-down, or ``RETRY_SOON``). An account that refuses us (revoked
token, no access) leaves the walk instead, so that a walk always ends; its source says
``refused``. A page that would hold no row only because its accounts failed is not answered
as an empty page with a cursor (a client would spin on it): the walk raises
``SourcesFailedError`` and the client retries the same cursor after the wait.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from gateway.cursors import Position, Stop
from gateway.errors import SourcesFailedError, UpstreamError
from gateway.listing.types import AdSetItem, ScopedAccount, Source, make_item
from gateway.platforms.base import (
    AdPlatform,
    AdSetPage,
    AdSetQuery,
    AdSetRecord,
    Platform,
    knows_availability,
)
from gateway.repeats import SameObjects


@dataclass(frozen=True, slots=True)
class _Run:
    """Rows a page took from one account page, from item ``first`` on: enough to rebuild the
    position after any of them when (rarely) a cursor for it is asked for."""

    first: int
    head: Stop
    page: AdSetPage
    rest: tuple[Stop, ...]
    totals: tuple[int | None, ...]

    def after(self, taken: int) -> Position:
        token = self.page.resume_after(taken)
        if token is None:
            return Position(self.rest, self.totals)
        stop = Stop(self.head.index, token, self.head.consumed + taken)
        return Position((stop, *self.rest), self.totals)


class Positions:
    """The position right after each item of a page, built only when asked for."""

    def __init__(self) -> None:
        self._runs: list[_Run] = []
        self._starts: list[int] = []

    def add_run(self, run: _Run) -> None:
        self._runs.append(run)
        self._starts.append(run.first)

    def after(self, index: int) -> Position:
        """The position after item ``index`` (0-based)."""
        if index < 0:
            raise IndexError(index)
        run = self._runs[bisect.bisect_right(self._starts, index) - 1]
        return run.after(index - run.first + 1)


class Items:
    """Items made before, by the record and account ID they were made from.

    The platform clients hand a repeated page's rows out as the records they made before
    (``platforms.memo``), and items are frozen, so the item of a record is the same for as
    long as the record lives: a repeated page takes them as they are instead of building one
    a row. An entry holds its record, so the record's ``id`` is not reused while it is kept;
    the oldest leave first. The items of each account's last records are also kept whole
    (``repeats.SameObjects``): a repeated page takes them without a lookup per record."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._items: OrderedDict[tuple[int, str], AdSetItem] = OrderedDict()
        # By account: as many records as items are kept, for the accounts listed last.
        self._last: SameObjects[str, list[AdSetItem]] = SameObjects(capacity, capacity)

    def __len__(self) -> int:
        return len(self._items)

    def of(self, records: Sequence[AdSetRecord], ad_account_id: str) -> list[AdSetItem]:
        """``[make_item(record, ad_account_id) for record in records]``, reusing items. The
        list may be one handed out before: it is only to be read."""
        last = self._last.get(ad_account_id, records)
        if last is not None:
            return last
        items = self._items
        out: list[AdSetItem] = []
        for record in records:
            key = (id(record), ad_account_id)
            item = items.get(key)
            if item is None or item.record is not record:
                item = items[key] = make_item(record, ad_account_id)
                if len(items) > self._capacity:
                    items.popitem(last=False)
            out.append(item)
        self._last.put(ad_account_id, records, out)
        return out


#: Rounds beyond one per account that a page may take when sizes were misjudged.
_EXTRA_ROUNDS = 2

#: Seconds to wait after a transient failure that names no wait of its own (no throttle, the
#: breaker still closed): the retries inside the call were already spent.
RETRY_SOON = 1.0


class PageWalk:
    """One page of the merged list."""

    def __init__(
        self,
        clients: Mapping[Platform, AdPlatform],
        accounts: list[ScopedAccount],
        query: AdSetQuery,
        limit: int,
        position: Position | None,
        *,
        allow_partial: bool,
        want_total: bool = False,
        hints: Sequence[int | None] = (),
        made: Items | None = None,
    ) -> None:
        """``made``: items made for earlier pages, shared between walks (else this walk's)."""
        self.clients = clients
        self.made = made if made is not None else Items()
        self.hints = hints
        self.accounts = accounts
        self.query = query
        self.limit = limit
        self.allow_partial = allow_partial
        self.want_total = want_total
        self.first_page = position is None
        if position is None:
            self.queue = [Stop(i) for i in range(len(accounts))]
            self.totals: list[int | None] = [None] * len(accounts)
        else:
            self.queue = list(position.queue)
            self.totals = list(position.totals)
        self.items: list[AdSetItem] = []
        self.positions = Positions()
        self.sources: list[Source] = []
        self.learned: dict[int, int | None] = {}  # totals the platforms reported for this page

    def total_count(self) -> int | None:
        """The sum of the accounts' totals, when every one is known."""
        if any(t is None for t in self.totals):
            return None
        return sum(t for t in self.totals if t is not None)

    @property
    def end(self) -> Position:
        """The position after the page's last row."""
        return Position(tuple(self.queue), tuple(self.totals))

    async def run(self) -> None:
        await self._fill()
        if not self.items and self.queue and any(s.failed for s in self.sources):
            raise SourcesFailedError(self.sources)

    async def _fill(self) -> None:
        # Pages fetched for accounts the walk has not reached yet (an account before them held
        # more rows than expected): used once the walk gets there, so no row is fetched twice
        # for a page and no page stops short for want of them.
        ahead: dict[int, AdSetPage] = {}
        # Accounts that failed for this page: the cursor comes back for them, this page does not.
        failed: set[int] = set()
        for _ in range(len(self.accounts) + _EXTRA_ROUNDS):
            self._take_ahead(ahead)
            if len(self.items) >= self.limit or not self.queue:
                return
            plan = self._plan(ahead.keys() | failed)
            if not plan:
                return  # the next account failed for this page
            if not self.allow_partial:
                self._fail_before_calling(plan)
            results = [
                self._with_wait(stop, r)
                for (stop, _), r in zip(plan, await self._fetch(plan), strict=True)
            ]
            self._note_sources(plan, results)
            if not self.allow_partial and any(isinstance(r, UpstreamError) for r in results):
                raise SourcesFailedError(self.sources)
            for (stop, _), result in zip(plan, results, strict=True):
                if isinstance(result, UpstreamError):
                    failed.add(stop.index)
                    self._set_aside(stop.index, come_back=result.retryable)
                else:
                    self.totals[stop.index] = result.total
                    self.learned[stop.index] = result.total
                    ahead[stop.index] = result
        self._take_ahead(ahead)

    def _take_ahead(self, ahead: dict[int, AdSetPage]) -> None:
        """Use the fetched pages of the accounts at the queue's head, in order."""
        while self.queue and len(self.items) < self.limit:
            page = ahead.pop(self.queue[0].index, None)
            if page is None:
                return
            self._take(page)

    def _set_aside(self, index: int, *, come_back: bool) -> None:
        """Take a failed account out of its place: to the end of the queue (its rows come
        after the others'), or out of the walk for a refusal (revoked token, no access), which
        will not pass by retrying; its source says so, and its total is then unknown."""
        at = next(k for k, stop in enumerate(self.queue) if stop.index == index)
        stop = self.queue.pop(at)
        if come_back:
            self.queue.append(stop)
        else:
            self.totals[index] = None

    def _with_wait(
        self, stop: Stop, result: AdSetPage | UpstreamError
    ) -> AdSetPage | UpstreamError:
        """A transient failure with the wait before the account is worth asking again: its
        own, else the breaker's cool-down or throttle the client knows of, else ``RETRY_SOON``."""
        if not isinstance(result, UpstreamError) or not result.retryable:
            return result
        if result.retry_after is None:
            account = self.accounts[stop.index].ref
            client = self.clients[account.platform]
            known = client.unavailable(account) if knows_availability(client) else None
            known_wait = known.retry_after if known is not None else None
            result.retry_after = known_wait if known_wait is not None else RETRY_SOON
        return result

    def _fail_before_calling(self, plan: list[tuple[Stop, int]]) -> None:
        """When an account of the plan is known to be unavailable (throttled, circuit open)
        and the page would fail anyway, fail now: calling the others would only spend their
        quota on rows that are thrown away."""
        known: list[tuple[Stop, int]] = []
        errors: list[AdSetPage | UpstreamError] = []
        for stop, count in plan:
            account = self.accounts[stop.index].ref
            client = self.clients[account.platform]
            error = client.unavailable(account) if knows_availability(client) else None
            if error is not None:
                known.append((stop, count))
                errors.append(error)
        if known:
            self._note_sources(known, errors)
            raise SourcesFailedError(self.sources)

    def _plan(self, skip: AbstractSet[int]) -> list[tuple[Stop, int]]:
        """(stop, rows to ask for) of the next concurrent round, from the queue's head.

        Accounts are added while the rows expected from those before cover less than the page
        needs; past that point only accounts whose total is wanted and unknown are added.
        """
        need = self.limit - len(self.items)
        plan: list[tuple[Stop, int]] = []
        expected: int | None = 0
        covered = False
        for stop in self.queue:
            if stop.index in skip:
                break  # fetched already, or failed, for this page
            if covered:
                if self.want_total and self.totals[stop.index] is None:
                    plan.append((stop, 1))  # asked only for its total
                continue
            plan.append((stop, need if expected is None else max(need - expected, 1)))
            remaining = self._remaining(stop)
            expected = None if expected is None or remaining is None else expected + remaining
            if expected is not None:
                covered = expected >= need
            elif not (self.first_page or self.want_total):
                covered = True  # unknown size: the accounts after it wait for the next round
        return plan

    def _remaining(self, stop: Stop) -> int | None:
        total = self.totals[stop.index]
        if total is None and stop.index < len(self.hints):
            total = self.hints[stop.index]  # only to size the request; never reported
        return None if total is None else max(total - stop.consumed, 0)

    async def _fetch(self, plan: list[tuple[Stop, int]]) -> list[AdSetPage | UpstreamError]:
        async def one(stop: Stop, count: int) -> AdSetPage:
            account = self.accounts[stop.index].ref
            return await self.clients[account.platform].list_adsets(
                account, self.query, start=stop.token, count=count
            )

        if len(plan) == 1:  # most later pages: no task to gather
            try:
                return [await one(*plan[0])]
            except UpstreamError as error:
                return [error]
        results = await asyncio.gather(*(one(s, c) for s, c in plan), return_exceptions=True)
        out: list[AdSetPage | UpstreamError] = []
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, UpstreamError):
                raise result
            out.append(result)
        return out

    def _note_sources(
        self, plan: list[tuple[Stop, int]], results: list[AdSetPage | UpstreamError]
    ) -> None:
        for (stop, _), result in zip(plan, results, strict=True):
            account = self.accounts[stop.index]
            if isinstance(result, UpstreamError):
                self.sources.append(Source.failure(account, result))
            else:
                self.sources.append(Source.ok(account))

    def _take(self, page: AdSetPage) -> None:
        """Use the page's rows for the account at the queue's head, as many as fit."""
        head = self.queue[0]
        account = self.accounts[head.index]
        rows = page.rows[: self.limit - len(self.items)]
        if rows:
            run = _Run(len(self.items), head, page, tuple(self.queue[1:]), tuple(self.totals))
            self.positions.add_run(run)
        self.items.extend(self.made.of(rows, account.public_id))
        token = page.resume_after(len(rows))
        self.queue[0] = Stop(head.index, token, head.consumed + len(rows))
        if token is None:
            self.queue.pop(0)
