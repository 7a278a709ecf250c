"""Per-request GraphQL context: the caller, the listing service and this request's loaders."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth import Principal
from gateway.listing import ListingService
from gateway.loaders import RequestLoaders
from gateway.platforms.base import AccountRef, AdAccountInfo, CampaignRecord, Platform


@dataclass
class GraphQLContext:
    """What resolvers may use; built for each request inside the running loop."""

    principal: Principal
    service: ListingService
    loaders: RequestLoaders

    def account_ref(self, platform: Platform, external_id: str) -> AccountRef | None:
        return self.loaders.account_ref(platform, external_id)

    async def account_info(self, platform: Platform, external_id: str) -> AdAccountInfo | None:
        return await self.loaders.account((platform, external_id))

    async def campaign(
        self, platform: Platform, account_external_id: str, campaign_external_id: str
    ) -> CampaignRecord | None:
        return await self.loaders.campaign((platform, account_external_id, campaign_external_id))
