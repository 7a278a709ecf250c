"""Account sizes seen on recent requests, used to size the next requests' upstream calls."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from cachetools import TTLCache

from gateway.coordination import Coordinator
from gateway.listing.types import ScopedAccount
from gateway.platforms.base import AdSetQuery

_HintKey = tuple[str, str, str]  # account public ID, campaign, statuses


class SizeHints:
    """How many rows an account held for a filter, as a platform said recently.

    A hint only sizes the request for an account whose total the cursor does not carry (so
    rows are not fetched just to be thrown away, and accounts past the page are not called);
    it is never reported as a total. A stale hint costs one more round, never a wrong page:
    the walk goes on until an account says it has no more rows.

    With a ``coordinator``, hints are shared with the other instances: ``shared_hints`` asks
    it for the sizes this process has not seen, and ``learn_shared`` tells it what changed.
    """

    def __init__(
        self,
        capacity: int = 10_000,
        ttl: float = 600.0,
        *,
        timer: Callable[[], float] = time.monotonic,
        coordinator: Coordinator | None = None,
    ) -> None:
        self._sizes: TTLCache[_HintKey, int, float] = TTLCache(capacity, ttl, timer)
        self._ttl = ttl
        self._coordinator = coordinator

    @staticmethod
    def _key(account: ScopedAccount, query: AdSetQuery) -> _HintKey:
        statuses = ",".join(sorted(query.statuses)) if query.statuses is not None else "*"
        return (account.public_id, query.campaign_external_id or "", statuses)

    def hints(self, accounts: Sequence[ScopedAccount], query: AdSetQuery) -> list[int | None]:
        """The size last seen of each account (None: not seen within the TTL)."""
        return [self._sizes.get(self._key(account, query)) for account in accounts]

    def learn(
        self,
        accounts: Sequence[ScopedAccount],
        query: AdSetQuery,
        totals: Mapping[int, int | None],
    ) -> None:
        """Remember the totals a page's accounts reported, by index into ``accounts``; an
        account that reported none forgets its size (the platform could not say)."""
        for index, total in totals.items():
            key = self._key(accounts[index], query)
            if total is None:
                self._sizes.pop(key, None)
            else:
                self._sizes[key] = total

    async def shared_hints(
        self, accounts: Sequence[ScopedAccount], query: AdSetQuery
    ) -> list[int | None]:
        """``hints``, with the sizes this process has not seen asked of the coordinator."""
        hints = self.hints(accounts, query)
        if self._coordinator is None:
            return hints
        for index, hint in enumerate(hints):
            if hint is None:
                key = self._key(accounts[index], query)
                hint = await self._coordinator.get_hint("|".join(key))
                if hint is not None:
                    self._sizes[key] = hints[index] = hint
        return hints

    async def learn_shared(
        self,
        accounts: Sequence[ScopedAccount],
        query: AdSetQuery,
        totals: Mapping[int, int | None],
    ) -> None:
        """``learn``, and tell the coordinator the sizes that changed."""
        if self._coordinator is None:
            self.learn(accounts, query, totals)
            return
        changed = {
            index: total
            for index, total in totals.items()
            if self._sizes.get(self._key(accounts[index], query)) != total
        }
        self.learn(accounts, query, totals)
        for index, total in changed.items():
            key = "|".join(self._key(accounts[index], query))
            await self._coordinator.set_hint(key, total, self._ttl)

    def clear(self) -> None:
        self._sizes.clear()
