"""Per-request GraphQL context: the caller, the listing service and this request's loaders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.auth import Principal
from gateway.listing.service import ListingService
from gateway.listing.types import Source
from gateway.loaders import RequestLoaders
from gateway.platforms.base import AccountRef, AdAccountInfo, CampaignRecord, Platform
from gateway.schema.errors import with_request_id
from gateway.schema.limits import ListingBudget


@dataclass
class GraphQLContext:
    """What resolvers may use; built for each request inside the running loop."""

    principal: Principal
    service: ListingService
    loaders: RequestLoaders
    extra_errors: list[dict[str, Any]] = field(default_factory=list)
    #: Listing and root ``node`` fields this request may still run (see schema.limits).
    budget: ListingBudget = field(default_factory=ListingBudget)

    def report_sources(self, sources: Sequence[Source], path: list[str | int]) -> None:
        """Add an ``errors`` entry for each account whose rows a partial page lacks."""
        for source in sources:
            if not source.failed:
                continue
            # The source as REST reports it, less what an error entry implies or leaves out.
            extensions = {
                key: value
                for key, value in source.as_json().items()
                if key != "status" and value is not None
            }
            self.extra_errors.append(
                {
                    "message": f"{source.platform.value} ad account {source.ad_account_id} is "
                    f"{source.status.value}; its rows are missing from this page",
                    "path": path,
                    "extensions": with_request_id(extensions),
                }
            )

    def account_ref(self, platform: Platform, external_id: str) -> AccountRef | None:
        return self.loaders.account_ref(platform, external_id)

    async def account_info(self, platform: Platform, external_id: str) -> AdAccountInfo | None:
        return await self.loaders.account((platform, external_id))

    async def campaign(
        self, platform: Platform, account_external_id: str, campaign_external_id: str
    ) -> CampaignRecord | None:
        return await self.loaders.campaign((platform, account_external_id, campaign_external_id))
