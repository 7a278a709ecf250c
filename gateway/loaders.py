"""Per-request dataloaders: campaigns and ad accounts, batched per ad account.

Built inside the running event loop for each request (aiodataloader captures the loop) and
dropped with it. A key whose load failed is cleared at once, so a transient upstream failure is
never served from the cache.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from aiodataloader import DataLoader

from gateway.platforms.base import AccountRef, AdAccountInfo, AdPlatform, CampaignRecord, Platform

CampaignKey = tuple[Platform, str, str]  # platform, account external id, campaign external id
AccountKey = tuple[Platform, str]


class RequestLoaders:
    """The dataloaders of one request."""

    def __init__(
        self, clients: Mapping[Platform, AdPlatform], accounts: Sequence[AccountRef]
    ) -> None:
        self._clients = clients
        self._accounts = {(a.platform, a.external_id): a for a in accounts}
        self._campaigns = DataLoader(self._batch_campaigns)
        self._account_info = DataLoader(self._batch_accounts)

    def account_ref(self, platform: Platform, external_id: str) -> AccountRef | None:
        """The configured account, if the request may see it."""
        return self._accounts.get((platform, external_id))

    async def campaign(self, key: CampaignKey) -> CampaignRecord | None:
        """One campaign, batched with every other campaign asked for in this tick."""
        try:
            result: CampaignRecord | None = await self._campaigns.load(key)
        except Exception:
            self._campaigns.clear(key)
            raise
        return result

    async def account(self, key: AccountKey) -> AdAccountInfo | None:
        """What the platform says about one configured ad account."""
        try:
            result: AdAccountInfo | None = await self._account_info.load(key)
        except Exception:
            self._account_info.clear(key)
            raise
        return result

    async def _batch_campaigns(self, keys: Sequence[CampaignKey]) -> list[Any]:
        by_account: dict[AccountKey, list[str]] = defaultdict(list)
        for platform, account_id, campaign_id in keys:
            if campaign_id not in by_account[(platform, account_id)]:
                by_account[(platform, account_id)].append(campaign_id)
        groups = list(by_account.items())
        results = await asyncio.gather(
            *(self._campaigns_of(key, ids) for key, ids in groups), return_exceptions=True
        )
        found: dict[AccountKey, dict[str, CampaignRecord] | BaseException] = {
            key: result for (key, _), result in zip(groups, results, strict=True)
        }
        out: list[Any] = []
        for platform, account_id, campaign_id in keys:
            group = found[(platform, account_id)]
            out.append(group if isinstance(group, BaseException) else group.get(campaign_id))
        return out

    async def _campaigns_of(self, key: AccountKey, ids: list[str]) -> dict[str, CampaignRecord]:
        account = self._accounts.get(key)
        if account is None:
            return {}
        return await self._clients[account.platform].get_campaigns(account, ids)

    async def _batch_accounts(self, keys: Sequence[AccountKey]) -> list[Any]:
        async def one(key: AccountKey) -> AdAccountInfo | None:
            account = self._accounts.get(key)
            if account is None:
                return None
            return await self._clients[account.platform].get_account(account)

        results = await asyncio.gather(*(one(k) for k in keys), return_exceptions=True)
        return list(results)
