"""GraphQL object types, built from domain objects.

A page's nested objects (each row's campaign and ad account) are read with the page and built
once per page (``PageObjects``), then served as plain fields; where they were not read ahead
(``node``, a project's accounts) the fields' resolvers load them through the request's
dataloaders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import strawberry
from strawberry.scalars import JSON

from gateway.ids import IdKind, derive_id
from gateway.listing.types import AdSetItem
from gateway.platforms import base
from gateway.schema.executor import NOT_LOADED, Unresolved, plain, plain_path
from gateway.wire import format_time

if TYPE_CHECKING:
    from gateway.loaders import (
        AccountOutcome,
        CampaignOutcome,
        RequestLoaders,
    )
    from gateway.schema.context import GraphQLContext

PlatformEnum = strawberry.enum(
    base.Platform,
    name="Platform",
    description="An ad platform: META_ADS (Facebook, Instagram, Messenger, Audience Network), "
    "TIKTOK_ADS and APPLE_ADS (Apple Search Ads); TikTok and Apple call ad sets ad groups.",
)
AdSetStatusEnum = strawberry.enum(
    base.AdSetStatus,
    name="AdSetStatus",
    description="Normalized ad-set status (platformStatus keeps the platform's own value): "
    "ACTIVE enabled (it may still not deliver: not started, out of budget), PAUSED by the "
    "advertiser or a paused parent, ARCHIVED ended for good, DELETED soft-deleted, IN_REVIEW "
    "waiting for the platform's review, REJECTED by that review.",
)


def _parse_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description="An RFC 3339 instant in UTC, e.g. 2026-04-01T00:00:00Z.",
    # The wire's own formatting (graphql-core and the executor handle nulls before). The
    # executor leaves a UTC datetime as it is, for dumps_result to write the same in C.
    serialize=format_time,
    parse_value=_parse_datetime,
)


@strawberry.interface(description="An object with a stable, globally unique ID.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="The object's ID: prj_, aa_, cmp_ or adg_ and 26 base32 characters."
    )


@strawberry.type(description="An amount of money in major units (75.0 = 75 dollars).")
class Money:
    amount: float = strawberry.field(description="Amount in major units of the currency.")
    currency: str = strawberry.field(description="ISO 4217 currency code, e.g. USD.")


@strawberry.type(description="A targeted age range.")
class AgeRange:
    min: int = strawberry.field(description="Youngest targeted age.")
    max: int | None = strawberry.field(description="Oldest targeted age; null when open-ended.")


@strawberry.type(
    description="The targeting pieces most clients need; not the platform's full spec."
)
class TargetingSummary:
    geo: list[str] = strawberry.field(description="ISO 3166-1 alpha-2 countries (or geo IDs).")
    age: AgeRange | None = strawberry.field(description="Targeted ages; null for all ages.")
    custom_audiences: list[str] = strawberry.field(
        description="The platform's custom-audience IDs."
    )
    placements: list[str] = strawberry.field(
        description="<network>_<position> values such as facebook_feed; empty when automatic."
    )


@strawberry.type(description="A connected ad account on one platform.")
class AdAccount(Node):
    external_id: str = strawberry.field(description="The platform's own account ID.")
    name: str = strawberry.field(description="The account's name in the gateway configuration.")
    platform: base.Platform = strawberry.field(description="The account's platform.")

    @strawberry.field(
        description="The account's currency (ISO 4217), from the platform.",
        metadata=plain("_currency"),
    )
    async def currency(self, info: strawberry.Info[GraphQLContext, None]) -> str | None:
        value = self._currency
        if not isinstance(value, Unresolved):
            return value
        if value.error is not None:
            raise value.error.with_traceback(None)  # shared by rows: no chain of raises
        found = await info.context.account_info(self.platform, self.external_id)
        return None if found is None else found.currency

    @strawberry.field(
        description="The account's time zone (IANA name), from the platform.",
        metadata=plain("_timezone"),
    )
    async def timezone(self, info: strawberry.Info[GraphQLContext, None]) -> str | None:
        value = self._timezone
        if not isinstance(value, Unresolved):
            return value
        if value.error is not None:
            raise value.error.with_traceback(None)  # shared by rows: no chain of raises
        found = await info.context.account_info(self.platform, self.external_id)
        return None if found is None else found.timezone

    #: What the platform says, when read ahead (else ``NOT_LOADED``, or the read's failure).
    _currency: strawberry.Private[str | Unresolved | None] = NOT_LOADED
    _timezone: strawberry.Private[str | Unresolved | None] = NOT_LOADED

    @classmethod
    def of(
        cls,
        account: base.AccountRef,
        public_id: str,
        details: AccountOutcome | Unresolved = NOT_LOADED,
    ) -> AdAccount:
        """The account; ``details`` is what ``get_account`` gave for it, if it was read."""
        currency: str | Unresolved | None
        timezone: str | Unresolved | None
        if isinstance(details, base.AdAccountInfo):
            currency, timezone = details.currency, details.timezone
        elif isinstance(details, BaseException):
            currency = timezone = Unresolved(details)
        elif details is None:
            currency = timezone = None
        else:
            currency = timezone = details
        return cls(
            id=strawberry.ID(public_id),
            external_id=account.external_id,
            name=account.name,
            platform=account.platform,
            _currency=currency,
            _timezone=timezone,
        )


@strawberry.type(description="A campaign on one platform.")
class Campaign(Node):
    external_id: str = strawberry.field(description="The platform's own campaign ID.")
    name: str = strawberry.field(description="The campaign's name.")
    platform: base.Platform = strawberry.field(description="The campaign's platform.")
    platform_status: str = strawberry.field(description="The platform's raw status value.")
    objective: str | None = strawberry.field(description="The platform's objective, if any.")
    ad_account_id: strawberry.ID = strawberry.field(description="ID of the owning ad account.")

    @classmethod
    def of(
        cls, record: base.CampaignRecord, ad_account_id: str, *, public_id: str | None = None
    ) -> Campaign:
        """The campaign; ``public_id`` is its ID when already derived (a listed row's)."""
        if public_id is None:
            public_id = derive_id(IdKind.CAMPAIGN, record.platform, record.external_id)
        return cls(
            id=strawberry.ID(public_id),
            external_id=record.external_id,
            name=record.name,
            platform=record.platform,
            platform_status=record.platform_status,
            objective=record.objective,
            ad_account_id=strawberry.ID(ad_account_id),
        )


def _row_field(path: str, description: str) -> Any:
    """A field of ``AdSet`` that reads its row (``AdSet._item``) along ``path``: plain to the
    executor, which reads the path, and a resolver for graphql-core's own execution."""
    read = attrgetter(path)
    return strawberry.field(
        description=description,
        resolver=lambda root: read(root),
        metadata=plain_path(path),
    )


@strawberry.type(description="An ad set (an ad group on TikTok and Apple), normalized.")
class AdSet(Node):
    # Read from the listed row, not copied from it: a page builds one ``AdSet`` per row.
    adset_id: strawberry.ID = _row_field("_item.adset_id", "Same as id (the REST field name).")
    campaign_id: strawberry.ID = _row_field("_item.campaign_id", "ID of the parent campaign.")
    ad_account_id: strawberry.ID = _row_field("_item.ad_account_id", "ID of the owning ad account.")
    platform: base.Platform = _row_field("_item.record.platform", "The ad set's platform.")
    external_id: str = _row_field("_item.record.external_id", "The platform's own ad-set ID.")
    name: str = _row_field("_item.record.name", "The ad set's name.")
    status: base.AdSetStatus = _row_field("_item.record.status", "Normalized status.")
    platform_status: str = _row_field(
        "_item.record.platform_status",
        "The platform's raw status (Meta effective_status, TikTok secondary_status, Apple status).",
    )
    optimization_goal: str | None = _row_field(
        "_item.record.optimization_goal", "Platform-native optimization goal, lowercased."
    )
    billing_event: str | None = _row_field(
        "_item.record.billing_event", "Platform-native billing event, lowercased."
    )
    # The domain records themselves: ``Money``, ``AgeRange`` and ``TargetingSummary`` have
    # exactly the fields of ``base.Money``, ``base.AgeRange`` and ``base.TargetingSummary``
    # (names, and tuples for lists), and fields read attributes, so the immutable records are
    # served as they are (``test_records_served_as_they_are_have_the_graphql_types_fields``).
    daily_budget: Money | None = _row_field(
        "_item.record.daily_budget", "Daily budget; null when none."
    )
    lifetime_budget: Money | None = _row_field(
        "_item.record.lifetime_budget", "Lifetime budget; null when none."
    )
    start_time: datetime | None = _row_field("_item.record.start_time", "Scheduled start.")
    end_time: datetime | None = _row_field(
        "_item.record.end_time", "Scheduled end; null means it runs indefinitely."
    )
    targeting_summary: TargetingSummary = _row_field("_item.record.targeting", "Targeting summary.")
    created_at: datetime | None = _row_field("_item.record.created_at", "When it was created.")
    metrics_snapshot_7d: JSON = strawberry.field(
        name="metricsSnapshot7d", description="Reserved for a future rollup; always {} today."
    )

    @strawberry.field(
        description="The parent campaign (loaded in one batch per ad account).",
        metadata=plain("_campaign"),
    )
    async def campaign(self, info: strawberry.Info[GraphQLContext, None]) -> Campaign | None:
        value = self._campaign
        if not isinstance(value, Unresolved):
            return value
        if value.error is not None:
            raise value.error.with_traceback(None)  # shared by rows: no chain of raises
        r = self._item.record
        record = await info.context.campaign(
            r.platform, r.account_external_id, r.campaign_external_id
        )
        return None if record is None else Campaign.of(record, self._item.ad_account_id)

    @strawberry.field(description="The owning ad account.", metadata=plain("_ad_account"))
    def ad_account(self, info: strawberry.Info[GraphQLContext, None]) -> AdAccount | None:
        value = self._ad_account
        if not isinstance(value, Unresolved):
            return value
        r = self._item.record
        account = info.context.account_ref(r.platform, r.account_external_id)
        return None if account is None else AdAccount.of(account, self._item.ad_account_id)

    #: The listed row the fields above read.
    _item: strawberry.Private[AdSetItem]
    #: The campaign and account objects, when built with the page (``PageObjects``).
    _campaign: strawberry.Private[Campaign | Unresolved | None] = NOT_LOADED
    _ad_account: strawberry.Private[AdAccount | Unresolved | None] = NOT_LOADED

    @classmethod
    def of(cls, item: AdSetItem, nested: PageObjects | None = None) -> AdSet:
        """The row as an ``AdSet``; ``nested`` holds the page's campaigns and accounts when
        they were read with it."""
        return cls.of_rows([item], nested)[0]

    @classmethod
    def of_rows(cls, items: Sequence[AdSetItem], nested: PageObjects | None = None) -> list[AdSet]:
        """``of`` each row, in one loop: a page builds one ``AdSet`` per row.

        Built with their fields set directly in each instance's ``__dict__``, as the dataclass
        ``__init__`` would set them (``test_adset_of_builds_what_init_builds`` checks it), at
        half its cost."""
        new = cls.__new__
        adsets = []
        campaign, account = (None, None) if nested is None else (nested.campaign, nested.account)
        for item in items:
            adset = new(cls)
            adset.__dict__ = {
                "id": item.adset_id,
                "metrics_snapshot_7d": {},
                "_item": item,
                "_campaign": NOT_LOADED if campaign is None else campaign(item),
                "_ad_account": NOT_LOADED if account is None else account(item),
            }
            adsets.append(adset)
        return adsets


class PageObjects:
    """The campaigns and ad accounts of one page's rows, each built once and shared by the rows
    that name it, from what the request's loaders read with the page (``PagePrefetch``)."""

    def __init__(self, loaders: RequestLoaders) -> None:
        self._loaders = loaders
        self._campaigns: dict[tuple[str, str], Campaign | Unresolved | None] = {}
        self._accounts: dict[str, AdAccount | None] = {}

    def campaign(self, item: AdSetItem) -> Campaign | Unresolved | None:
        key = (item.ad_account_id, item.campaign_id)
        found = self._campaigns.get(key, NOT_LOADED)
        if found is NOT_LOADED:
            r = item.record
            outcome = self._loaders.campaigns_read.get(
                (r.platform, r.account_external_id, r.campaign_external_id), NOT_LOADED
            )
            found = self._campaigns[key] = _campaign_of(item, outcome)
        return found

    def inputs(self, items: Sequence[AdSetItem]) -> tuple[object, ...]:
        """What ``campaign`` and ``account`` build the objects of ``items`` from: the read
        outcome of each campaign and the reference and details of each account, in the order
        the rows first name them. The same objects give equal campaigns and accounts."""
        loaders = self._loaders
        keys = loaders.page_keys(items)
        campaigns_read, accounts_read = loaders.campaigns_read, loaders.accounts_read
        inputs: list[object] = [campaigns_read.get(key, NOT_LOADED) for key in keys.campaigns]
        for account in keys.accounts:
            inputs.append(loaders.account_ref(*account))
            inputs.append(accounts_read.get(account, NOT_LOADED))
        return tuple(inputs)

    def account(self, item: AdSetItem) -> AdAccount | None:
        key = item.ad_account_id
        try:
            return self._accounts[key]
        except KeyError:
            pass
        r = item.record
        ref = self._loaders.account_ref(r.platform, r.account_external_id)
        found = self._accounts[key] = (
            None
            if ref is None
            else AdAccount.of(
                ref,
                key,
                self._loaders.accounts_read.get((ref.platform, ref.external_id), NOT_LOADED),
            )
        )
        return found


def _campaign_of(
    item: AdSetItem, outcome: CampaignOutcome | Unresolved
) -> Campaign | Unresolved | None:
    if isinstance(outcome, base.CampaignRecord):
        return Campaign.of(outcome, item.ad_account_id, public_id=item.campaign_id)
    if isinstance(outcome, BaseException):
        return Unresolved(outcome)
    return outcome
