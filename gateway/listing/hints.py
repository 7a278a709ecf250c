"""Account sizes last seen, used to size the next requests' upstream calls."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from cachetools import LRUCache

from gateway.coordination import Coordinator
from gateway.listing.types import ScopedAccount
from gateway.platforms.base import AdSetQuery

_HintKey = tuple[str, str, str]  # account public ID, campaign, statuses

#: A hint learned longer ago than this is asked of the coordinator again (another instance
#: may have seen a newer size), and kept as the guess when it knows none.
FRESH_FOR_S = 600.0
#: How long the coordinator keeps a shared hint nobody renews (Redis forgets accounts that
#: are no longer listed).
SHARED_TTL_S = 24 * 3600.0


class SizeHints:
    """How many rows an account held for a filter, as a platform said last.

    A hint only sizes the request for an account whose total the cursor does not carry (so
    rows are not fetched just to be thrown away, and accounts past the page are not called);
    it is never reported as a total. A stale hint costs one more round, never a wrong page:
    the walk goes on until an account says it has no more rows.

    Hints do not expire with time. After an idle spell the last size seen is still the best
    guess: accounts change size by a few rows, rarely by a page, and a guess that turns out
    short costs that one page a second round, once (the platform's answer replaces it),
    whereas no guess costs every first page a full page from every account, rows fetched and
    mapped to be thrown away. Memory is bounded by ``capacity`` (least recently used out).
    An account that reported no total is forgotten (the platform could not say).

    With a ``coordinator``, hints are shared with the other instances: ``shared_hints`` asks
    it for the sizes this process has not seen within ``fresh_for`` seconds, and
    ``learn_shared`` tells it what changed (or was last told long ago), kept ``shared_ttl``.
    """

    def __init__(
        self,
        capacity: int = 10_000,
        fresh_for: float = FRESH_FOR_S,
        *,
        shared_ttl: float = SHARED_TTL_S,
        timer: Callable[[], float] = time.monotonic,
        coordinator: Coordinator | None = None,
    ) -> None:
        self._sizes: LRUCache[_HintKey, tuple[int, float]] = LRUCache(capacity)
        self._fresh_for = fresh_for
        self._shared_ttl = shared_ttl
        self._timer = timer
        self._coordinator = coordinator

    @staticmethod
    def _key(account: ScopedAccount, query: AdSetQuery) -> _HintKey:
        statuses = ",".join(sorted(query.statuses)) if query.statuses is not None else "*"
        return (account.public_id, query.campaign_external_id or "", statuses)

    def hints(self, accounts: Sequence[ScopedAccount], query: AdSetQuery) -> list[int | None]:
        """The size last seen of each account, however long ago (None: never seen)."""
        found = [self._sizes.get(self._key(account, query)) for account in accounts]
        return [None if entry is None else entry[0] for entry in found]

    def learn(
        self,
        accounts: Sequence[ScopedAccount],
        query: AdSetQuery,
        totals: Mapping[int, int | None],
    ) -> None:
        """Remember the totals a page's accounts reported, by index into ``accounts``; an
        account that reported none forgets its size (the platform could not say). A size
        seen again keeps the time it was first seen (or last shared)."""
        now = self._timer()
        for index, total in totals.items():
            key = self._key(accounts[index], query)
            if total is None:
                self._sizes.pop(key, None)
                continue
            entry = self._sizes.get(key)
            if entry is None or entry[0] != total:
                self._sizes[key] = (total, now)

    async def shared_hints(
        self, accounts: Sequence[ScopedAccount], query: AdSetQuery
    ) -> list[int | None]:
        """``hints``, with the sizes this process has not seen lately asked of the
        coordinator (an older one of its own stays the guess when it knows none)."""
        if self._coordinator is None:
            return self.hints(accounts, query)
        now = self._timer()
        hints: list[int | None] = []
        for account in accounts:
            key = self._key(account, query)
            entry = self._sizes.get(key)
            if entry is None or now - entry[1] >= self._fresh_for:
                shared = await self._coordinator.get_hint("|".join(key))
                if shared is not None:
                    entry = self._sizes[key] = (shared, now)
            hints.append(None if entry is None else entry[0])
        return hints

    async def learn_shared(
        self,
        accounts: Sequence[ScopedAccount],
        query: AdSetQuery,
        totals: Mapping[int, int | None],
    ) -> None:
        """``learn``, and tell the coordinator the sizes that changed, or that it was last
        told more than ``fresh_for`` seconds ago (so it keeps those in use)."""
        if self._coordinator is None:
            self.learn(accounts, query, totals)
            return
        now = self._timer()
        told: dict[int, int | None] = {}
        for index, total in totals.items():
            entry = self._sizes.get(self._key(accounts[index], query))
            known = None if entry is None else entry[0]
            if known != total or (entry is not None and now - entry[1] >= self._fresh_for):
                told[index] = total
        self.learn(accounts, query, totals)
        for index, total in told.items():
            key = self._key(accounts[index], query)
            if total is not None:
                self._sizes[key] = (total, now)
            await self._coordinator.set_hint("|".join(key), total, self._shared_ttl)

    def clear(self) -> None:
        self._sizes.clear()
