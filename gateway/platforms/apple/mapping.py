"""Pure mapping of Apple Ads Platform API v1 payloads to the gateway's domain types.

Every function takes decoded JSON and raises ``PayloadError`` on a shape it cannot read; the
client turns that into ``MalformedResponseError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gateway.platforms.apple.statuses import map_status
from gateway.platforms.base import (
    AdAccountInfo,
    AdSetRecord,
    AgeRange,
    CampaignRecord,
    Money,
    Platform,
    TargetingSummary,
)
from gateway.platforms.payload import (
    JsonObject,
    PayloadError,
    as_object,
    opt_str,
    req_str,
    str_list,
)

PLATFORM = Platform.APPLE_ADS


def parse_time(value: Any, what: str = "time") -> datetime | None:
    """Apple's ``2026-04-01T07:00:00.000`` (UTC, no offset; a trailing Z is accepted too)
    as an aware UTC datetime; null gives None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{what}: expected a string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise PayloadError(f"{what}: not a timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_money(value: Any, what: str) -> Money | None:
    """``{"amount": "50.00", "currency": "USD"}`` (amount a decimal string in major units)."""
    if value is None:
        return None
    obj = as_object(value, what)
    amount = obj.get("amount")
    currency = req_str(obj, "currency")
    if isinstance(amount, bool):
        raise PayloadError(f"{what}.amount: expected a decimal, got a boolean")
    if isinstance(amount, int | float):
        return Money(float(amount), currency)
    if isinstance(amount, str):
        try:
            return Money(float(amount), currency)
        except ValueError as exc:
            raise PayloadError(f"{what}.amount: not a decimal: {amount!r}") from exc
    raise PayloadError(f"{what}.amount: expected a decimal string")


def _dimension(targeting: JsonObject, name: str) -> list[str]:
    """The ``include`` list of one ``TargetingData`` dimension ([] when absent or null)."""
    value = targeting.get(name)
    if value is None:
        return []
    return str_list(as_object(value, f"targeting.{name}"), "include")


def _targeting(raw: JsonObject) -> JsonObject:
    value = raw.get("targeting")
    return {} if value is None else as_object(value, "targeting")


def _age_bound(values: list[str], what: str) -> int | None:
    if not values:
        return None
    try:
        return int(values[0])
    except ValueError as exc:
        raise PayloadError(f"{what}: not an age: {values[0]!r}") from exc


def map_age(targeting: JsonObject) -> AgeRange | None:
    """AgeRange from ``minAge``/``maxAge``; None when neither is set (all ages).

    A missing ``maxAge`` is open-ended (Apple: omit maxAge to reach 65+); a missing ``minAge``
    with a max set starts at Apple's floor of 18.
    """
    low = _age_bound(_dimension(targeting, "minAge"), "targeting.minAge")
    high = _age_bound(_dimension(targeting, "maxAge"), "targeting.maxAge")
    if low is None and high is None:
        return None
    return AgeRange(min=18 if low is None else low, max=high)


def campaign_placements(targeting: JsonObject) -> tuple[str, ...]:
    """Supply placements lowercased (``appstore_search_results``); the bare supply source
    (``appstore``) when only the source is set; () when neither is."""
    placements = _dimension(targeting, "supplyPlacement")
    if placements:
        return tuple(p.lower() for p in placements)
    return tuple(s.lower() for s in _dimension(targeting, "supplySource"))


def map_campaign(raw: Any, account_external_id: str) -> CampaignRecord:
    """A v1 Campaign payload as a CampaignRecord (countries and placements included)."""
    obj = as_object(raw, "campaign")
    targeting = _targeting(obj)
    budget = obj.get("dailyBudget")
    daily = None
    if budget is not None:
        daily = parse_money(as_object(budget, "dailyBudget").get("value"), "dailyBudget.value")
    status = "DELETED" if obj.get("deleted") is True else (opt_str(obj, "status") or "UNKNOWN")
    return CampaignRecord(
        platform=PLATFORM,
        external_id=req_str(obj, "id"),
        account_external_id=account_external_id,
        name=req_str(obj, "name"),
        platform_status=status,
        objective=_lower(opt_str(obj, "promotedObjectType")),
        countries=tuple(c.upper() for c in _dimension(targeting, "countryOrRegion")),
        placements=campaign_placements(targeting),
        daily_budget=daily,
        lifetime_budget=None,
    )


def map_adgroup(raw: Any, account_external_id: str, campaign: CampaignRecord | None) -> AdSetRecord:
    """A v1 AdGroup payload as an AdSetRecord.

    Apple keeps budgets, countries and placements on the campaign: budgets are always None
    here, and geo/placements come from ``campaign`` (empty when it is unknown). The v1
    ad-group targeting has no audience dimension (``appDownloader`` holds app ids, not
    audiences), so custom audiences are always empty.
    """
    obj = as_object(raw, "adGroup")
    status, platform_status = map_status(obj)
    bid = obj.get("bidStrategy")
    goal = None if bid is None else opt_str(as_object(bid, "bidStrategy"), "bidStrategyGoal")
    return AdSetRecord(
        platform=PLATFORM,
        external_id=req_str(obj, "id"),
        account_external_id=account_external_id,
        campaign_external_id=req_str(obj, "campaignId"),
        name=req_str(obj, "name"),
        status=status,
        platform_status=platform_status,
        optimization_goal=_lower(goal),
        billing_event=_lower(opt_str(obj, "pricingModel")),
        daily_budget=None,
        lifetime_budget=None,
        start_time=parse_time(obj.get("startTime"), "startTime"),
        end_time=parse_time(obj.get("endTime"), "endTime"),
        created_at=parse_time(obj.get("creationTime"), "creationTime"),
        targeting=TargetingSummary(
            geo=campaign.countries if campaign is not None else (),
            age=map_age(_targeting(obj)),
            custom_audiences=(),
            placements=campaign.placements if campaign is not None else (),
        ),
    )


def map_account(raw: Any, external_id: str) -> AdAccountInfo:
    """A v1 AdAccount payload (``GET /v1/ad-accounts/{id}`` result) as AdAccountInfo."""
    obj = as_object(raw, "adAccount")
    return AdAccountInfo(
        platform=PLATFORM,
        external_id=external_id,
        name=req_str(obj, "name"),
        currency=req_str(obj, "currency"),
        timezone=opt_str(obj, "timezone"),
        platform_status=opt_str(obj, "systemStatus"),
    )


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def campaign_ids(rows: list[Mapping[str, Any]]) -> list[str]:
    """Distinct campaign ids of ad-group payloads, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.setdefault(req_str(row, "campaignId"), None)
    return list(seen)
