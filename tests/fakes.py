"""An in-memory AdPlatform for testing the listing service's merge and paging logic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.errors import RateLimitedError, UpstreamAuthError, UpstreamUnavailableError
from gateway.platforms.base import (
    AccountRef,
    AdAccountInfo,
    AdSetPage,
    AdSetQuery,
    AdSetRecord,
    AdSetStatus,
    CampaignRecord,
    Platform,
    TargetingSummary,
)

STATUSES = list(AdSetStatus)

#: Offsets written in each platform's own token format, as the listing checks tokens from
#: cursors against it.
_TOKEN_PREFIX = {Platform.META_ADS: "|", Platform.TIKTOK_ADS: "o", Platform.APPLE_ADS: "0:"}


def make_record(platform: Platform, account: str, n: int) -> AdSetRecord:
    return AdSetRecord(
        platform=platform,
        external_id=f"{account}-{n:05d}",
        account_external_id=account,
        campaign_external_id=f"{account}-c{n % 3}",
        name=f"Ad set {n}",
        status=STATUSES[n % len(STATUSES)],
        platform_status="RAW",
        optimization_goal="reach",
        billing_event="impressions",
        daily_budget=None,
        lifetime_budget=None,
        start_time=datetime(2026, 4, 1, tzinfo=UTC),
        end_time=None,
        created_at=datetime(2026, 3, 1, tzinfo=UTC),
        targeting=TargetingSummary(),
    )


@dataclass
class FakePlatform:
    """Rows per account; resume tokens are offsets (in the platform's token format); counts
    every call."""

    platform: Platform
    rows: dict[str, list[AdSetRecord]]
    exact_totals: bool = True
    calls: list[tuple[str, str | None, int]] = field(default_factory=list)
    campaign_calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    fail_accounts: set[str] = field(default_factory=set)
    fail_times: dict[str, int] = field(default_factory=dict)
    refuse_accounts: set[str] = field(default_factory=set)

    async def list_adsets(
        self,
        account: AccountRef,
        query: AdSetQuery,
        *,
        start: str | None,
        count: int,
    ) -> AdSetPage:
        self.calls.append((account.external_id, start, count))
        if self.fail_times.get(account.external_id):
            self.fail_times[account.external_id] -= 1
            raise UpstreamUnavailableError(
                "down", platform=self.platform, account_id=account.external_id
            )
        if account.external_id in self.fail_accounts:
            raise RateLimitedError(
                "throttled", platform=self.platform, account_id=account.external_id, retry_after=7
            )
        if account.external_id in self.refuse_accounts:
            raise UpstreamAuthError(
                "token revoked", platform=self.platform, account_id=account.external_id
            )
        rows = [
            r
            for r in self.rows[account.external_id]
            if (query.statuses is None or r.status in query.statuses)
            and (
                query.campaign_external_id is None
                or r.campaign_external_id == query.campaign_external_id
            )
        ]
        prefix = _TOKEN_PREFIX[self.platform]
        offset = int(start.removeprefix(prefix)) if start else 0
        page = rows[offset : offset + count]
        points: list[str | None] = [f"{prefix}{offset + k}" for k in range(len(page) + 1)]
        if offset + len(page) >= len(rows):
            points[-1] = None
        return AdSetPage(page, points, len(rows) if self.exact_totals else None)

    async def get_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        self.campaign_calls.append((account.external_id, tuple(campaign_ids)))
        return {
            cid: CampaignRecord(self.platform, cid, account.external_id, f"Campaign {cid}", "ON")
            for cid in campaign_ids
            if cid.startswith(account.external_id)
        }

    async def list_campaigns(self, account: AccountRef) -> list[CampaignRecord]:
        if account.external_id in self.fail_accounts:
            raise RateLimitedError(
                "throttled", platform=self.platform, account_id=account.external_id, retry_after=7
            )
        ids = sorted({r.campaign_external_id for r in self.rows[account.external_id]})
        return list((await self.get_campaigns(account, ids)).values())

    async def get_account(self, account: AccountRef) -> AdAccountInfo:
        return AdAccountInfo(self.platform, account.external_id, account.name, "USD", "UTC")

    async def aclose(self) -> None:
        return None


def fake_clients(
    sizes: Mapping[Platform, Sequence[int]], *, exact_totals: bool = True
) -> tuple[dict[Platform, FakePlatform], list[AccountRef]]:
    """Fake clients with accounts of the given sizes, and the account refs."""
    clients: dict[Platform, FakePlatform] = {}
    accounts: list[AccountRef] = []
    for platform in Platform:
        rows: dict[str, list[AdSetRecord]] = {}
        for i, size in enumerate(sizes.get(platform, ())):
            external = f"{platform.value[:2]}{i}"
            rows[external] = [make_record(platform, external, n) for n in range(size)]
            accounts.append(AccountRef(platform, external, f"Account {external}"))
        clients[platform] = FakePlatform(platform, rows, exact_totals=exact_totals)
    return clients, accounts
