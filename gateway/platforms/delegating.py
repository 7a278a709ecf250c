"""A platform client that hands every call to the client it wraps, for wrappers that change
what they override (``platforms.readahead``'s listings, the listing service's announced
listings, ``resilience.client``'s calls).

It passes the optional capabilities of ``platforms.base`` on as the wrapped client has them:
a capability the wrapped client lacks answers as "nothing known" (no unavailability, no usage,
nothing cached, nothing to warm), so callers that check a wrapper for a capability behave as
they would with the wrapped client.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.errors import UpstreamError
from gateway.platforms.base import (
    AccountRef,
    AdAccountInfo,
    AdPlatform,
    AdSetPage,
    AdSetQuery,
    CampaignRecord,
    caches_accounts,
    knows_availability,
    reports_usage,
    warms_campaigns,
)


class Delegating:
    """An ``AdPlatform`` that calls ``inner`` for everything; subclasses override what they
    change. ``aclose`` closes ``inner``."""

    def __init__(self, inner: AdPlatform) -> None:
        self.inner = inner
        self.platform = inner.platform

    async def list_adsets(
        self, account: AccountRef, query: AdSetQuery, *, start: str | None, count: int
    ) -> AdSetPage:
        return await self.inner.list_adsets(account, query, start=start, count=count)

    async def get_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        return await self.inner.get_campaigns(account, campaign_ids)

    async def list_campaigns(self, account: AccountRef) -> list[CampaignRecord]:
        return await self.inner.list_campaigns(account)

    async def get_account(self, account: AccountRef) -> AdAccountInfo:
        return await self.inner.get_account(account)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def unavailable(self, account: AccountRef) -> UpstreamError | None:
        inner = self.inner
        return inner.unavailable(account) if knows_availability(inner) else None

    def last_usage_pct(self, account_external_id: str) -> float | None:
        inner = self.inner
        return inner.last_usage_pct(account_external_id) if reports_usage(inner) else None

    def cached_account(self, account: AccountRef) -> AdAccountInfo | None:
        inner = self.inner
        return inner.cached_account(account) if caches_accounts(inner) else None

    def campaigns_warm(self, account: AccountRef) -> bool:
        inner = self.inner
        return not warms_campaigns(inner) or inner.campaigns_warm(account)

    def cached_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        inner = self.inner
        return inner.cached_campaigns(account, campaign_ids) if warms_campaigns(inner) else {}

    async def warm_campaigns(self, account: AccountRef) -> None:
        inner = self.inner
        if warms_campaigns(inner):
            await inner.warm_campaigns(account)
