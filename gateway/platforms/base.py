"""Domain types shared by every platform client, and the client Protocol.

Platform clients speak one real API each and return these plain records; they never import
Strawberry or Starlette. IDs here are the platforms' own (external) IDs: the gateway's prefixed
IDs are derived later, in the listing layer.

The per-row types (``AdSetRecord`` and what it holds) are ``Record``s: frozen msgspec structs.
They are shared between requests (``platforms.memo``) and cached by identity
(``wire.WrittenItems``), which is only safe because no one can change them. A frozen struct
builds a row about four times faster than the slotted dataclasses they replace, where frozen
dataclasses were 2.5 times slower and a ``NamedTuple`` a third slower (and a tuple). "Changing"
one means building another: ``msgspec.structs.replace(record, name=...)``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeGuard, TypeVar, overload, runtime_checkable

import msgspec

from gateway.errors import UpstreamError


class Platform(enum.StrEnum):
    """The ad platforms, with the contract's wire names."""

    META_ADS = "meta_ads"
    TIKTOK_ADS = "tiktok_ads"
    APPLE_ADS = "apple_ads"


class AdSetStatus(enum.StrEnum):
    """The contract's normalized ad-set status."""

    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"
    DELETED = "deleted"
    IN_REVIEW = "in_review"
    REJECTED = "rejected"


class Record(msgspec.Struct, frozen=True, gc=False):
    """Base of the immutable per-row types.

    Subclasses restate ``frozen=True`` so that mypy knows too. ``gc=False`` keeps them out of
    the cycle collector: a frozen record only holds values built before it, so it can never be
    part of a reference cycle (its fields are scalars, tuples and other records)."""


class Money(Record, frozen=True):
    """An amount in major units (75.0 = 75 dollars) and its ISO 4217 currency."""

    amount: float
    currency: str


class AgeRange(Record, frozen=True):
    """Targeted ages; ``max`` is None when open-ended (65+)."""

    min: int
    max: int | None


class TargetingSummary(Record, frozen=True):
    """The pieces of targeting almost every client needs (design.md section 2)."""

    geo: tuple[str, ...] = ()
    age: AgeRange | None = None
    custom_audiences: tuple[str, ...] = ()
    placements: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountRef:
    """One connected ad account, as configured: platform, external ID and credentials.

    ``external_id`` is the configured form: Meta ``act_123``, TikTok advertiser_id, Apple
    adAccountId. ``credentials`` holds the platform's secrets (never logged).
    """

    platform: Platform
    external_id: str
    name: str = ""
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)


@dataclass(frozen=True, slots=True)
class AdAccountInfo:
    """What the platform says about an ad account."""

    platform: Platform
    external_id: str
    name: str
    currency: str
    timezone: str | None
    platform_status: str | None = None


@dataclass(frozen=True, slots=True)
class CampaignRecord:
    """A campaign as the platform reports it."""

    platform: Platform
    external_id: str
    account_external_id: str
    name: str
    platform_status: str
    objective: str | None = None
    countries: tuple[str, ...] = ()
    placements: tuple[str, ...] = ()
    daily_budget: Money | None = None
    lifetime_budget: Money | None = None


class AdSetRecord(Record, frozen=True):
    """One ad set (TikTok/Apple: ad group), mapped to the contract's vocabulary.

    Times are aware and in UTC (the wire writes them as they are, with a ``Z``)."""

    platform: Platform
    external_id: str
    account_external_id: str
    campaign_external_id: str
    name: str
    status: AdSetStatus
    platform_status: str
    optimization_goal: str | None
    billing_event: str | None
    daily_budget: Money | None
    lifetime_budget: Money | None
    start_time: datetime | None
    end_time: datetime | None
    created_at: datetime | None
    targeting: TargetingSummary


@dataclass(frozen=True, slots=True)
class AdSetQuery:
    """Filters for one account's listing. Clients push down what the platform supports and
    filter the rest locally; ``statuses`` None means every status, deleted rows included."""

    campaign_external_id: str | None = None
    statuses: frozenset[AdSetStatus] | None = None


P = TypeVar("P")


class LazyTokens(Sequence[str | None], Generic[P]):
    """Resume points kept as positions and encoded only when read: a page uses one or two of
    a hundred. None stays None (nothing follows)."""

    __slots__ = ("_encode", "_points")

    def __init__(self, points: Sequence[P | None], encode: Callable[[P], str]) -> None:
        self._points = points
        self._encode = encode

    def __len__(self) -> int:
        return len(self._points)

    @overload
    def __getitem__(self, index: int) -> str | None: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[str | None]: ...

    def __getitem__(self, index: int | slice) -> str | Sequence[str | None] | None:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        point = self._points[index]
        return None if point is None else self._encode(point)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # compares like a list


@dataclass(frozen=True, slots=True)
class AdSetPage:
    """A slice of one account's ad sets in the platform's stable order.

    ``resume_points[k]`` is the opaque token that resumes the walk right after the first ``k``
    rows (so it has ``len(rows) + 1`` entries; ``resume_points[0]`` is where this page started).
    A None entry means nothing follows. ``total`` is the exact number of matching rows in the
    account when the platform reported it for exactly these filters, else None.
    """

    rows: Sequence[AdSetRecord]
    resume_points: Sequence[str | None]
    total: int | None

    def resume_after(self, consumed: int) -> str | None:
        """The token that continues the walk after ``consumed`` rows of this page."""
        return self.resume_points[consumed]


class AdPlatform(Protocol):
    """An async client for one ad platform's listing API."""

    platform: Platform

    async def list_adsets(
        self,
        account: AccountRef,
        query: AdSetQuery,
        *,
        start: str | None,
        count: int,
    ) -> AdSetPage:
        """Up to ``count`` matching ad sets from ``start`` (a resume token; None = beginning).

        Makes as few upstream calls as the platform allows (one, when nothing is filtered
        locally) and never returns fewer than ``count`` rows unless the account is exhausted.
        What mapping needs besides the rows (Meta/TikTok: the account's currency, Apple: the
        campaigns' geo and placements) the client reads itself, so one listing is one
        resilient call.
        """
        ...

    async def get_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        """The named campaigns of the account, batched into as few calls as the platform
        allows. Unknown IDs are absent from the result."""
        ...

    async def list_campaigns(self, account: AccountRef) -> list[CampaignRecord]:
        """Every campaign of the account, deleted ones included (for resolving IDs)."""
        ...

    async def get_account(self, account: AccountRef) -> AdAccountInfo:
        """Name, currency and timezone of the account (clients may cache this briefly)."""
        ...

    async def aclose(self) -> None:
        """Release resources the client owns (not the injected ``Upstream``)."""
        ...


# Optional capabilities: declared here, checked with ``isinstance``.


@runtime_checkable
class ReportsUsage(Protocol):
    """A client that reads the platform's quota usage from its responses (Meta)."""

    def last_usage_pct(self, account_external_id: str) -> float | None:
        """The latest usage reported for the account, in percent of its quota, or None."""
        ...


@runtime_checkable
class KnowsAvailability(Protocol):
    """A client that can tell, without calling anything, that a call would fail now."""

    def unavailable(self, account: AccountRef) -> UpstreamError | None:
        """The error a call for ``account`` would fail fast with now, or None."""
        ...


@runtime_checkable
class WarmsUp(Protocol):
    """A client with work worth doing before the first request needs it (Apple: an access
    token per API user, then kept fresh in the background)."""

    async def warm_up(self, accounts: Sequence[AccountRef]) -> None:
        """Prepare for ``accounts``. Never raises: what fails is met again, and reported, by
        the first request that needs it."""
        ...


@runtime_checkable
class WarmsCampaigns(Protocol):
    """A client whose ``get_campaigns`` reads through a cache that can be filled ahead with
    the account's campaigns, before their IDs are known (Meta, TikTok): a page's campaigns are
    then read at the same time as its ad sets rather than after them."""

    def campaigns_warm(self, account: AccountRef) -> bool:
        """Whether the account's campaigns were read recently enough to be served from the
        cache (then ``warm_campaigns`` would not call the platform)."""
        ...

    async def warm_campaigns(self, account: AccountRef) -> None:
        """Read the account's campaigns into that cache, unless they are warm already."""
        ...

    def cached_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        """Those of the named campaigns the cache holds now (no call, nothing awaited)."""
        ...


@runtime_checkable
class CachesAccounts(Protocol):
    """A client that keeps what ``get_account`` read for a while (every platform's)."""

    def cached_account(self, account: AccountRef) -> AdAccountInfo | None:
        """What ``get_account`` would answer from its cache now, or None (no call made)."""
        ...


def caches_accounts(client: object) -> TypeGuard[CachesAccounts]:
    """Whether ``client`` is a ``CachesAccounts`` (the answer kept per class)."""
    return _implements(client, CachesAccounts)


def warms_campaigns(client: object) -> TypeGuard[WarmsCampaigns]:
    """Whether ``client`` is a ``WarmsCampaigns`` (the answer kept per class)."""
    return _implements(client, WarmsCampaigns)


def reports_usage(client: object) -> TypeGuard[ReportsUsage]:
    """Whether ``client`` is a ``ReportsUsage`` (the answer kept per class)."""
    return _implements(client, ReportsUsage)


def knows_availability(client: object) -> TypeGuard[KnowsAvailability]:
    """Whether ``client`` is a ``KnowsAvailability``, for per-call checks: the answer is kept
    per class, as a runtime protocol check costs tens of microseconds."""
    return _implements(client, KnowsAvailability)


_IMPLEMENTS: dict[tuple[type, type], bool] = {}


def _implements(client: object, protocol: type) -> bool:
    key = (type(client), protocol)
    known = _IMPLEMENTS.get(key)
    if known is None:
        known = _IMPLEMENTS[key] = isinstance(client, protocol)
    return known
