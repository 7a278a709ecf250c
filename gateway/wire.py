"""The contract's JSON form of an ad set (REST items), built as plain dicts for orjson."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.platforms.base import Money
from gateway.walk import AdSetItem


def format_time(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a ``Z``, to the second: ``2026-04-01T00:00:00Z``."""
    if value is None:
        return None
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _money(value: Money | None) -> dict[str, Any] | None:
    return None if value is None else {"amount": value.amount, "currency": value.currency}


def adset_json(item: AdSetItem) -> dict[str, Any]:
    """One item of ``GET /v1/projects/{projectId}/ads/adsets``, fields in contract order."""
    r = item.record
    t = r.targeting
    return {
        "adsetId": item.adset_id,
        "campaignId": item.campaign_id,
        "adAccountId": item.ad_account_id,
        "platform": r.platform.value,
        "externalId": r.external_id,
        "name": r.name,
        "status": r.status.value,
        "optimizationGoal": r.optimization_goal,
        "billingEvent": r.billing_event,
        "dailyBudget": _money(r.daily_budget),
        "lifetimeBudget": _money(r.lifetime_budget),
        "startTime": format_time(r.start_time),
        "endTime": format_time(r.end_time),
        "targetingSummary": {
            "geo": list(t.geo),
            "age": None if t.age is None else {"min": t.age.min, "max": t.age.max},
            "customAudiences": list(t.custom_audiences),
            "placements": list(t.placements),
        },
        "createdAt": format_time(r.created_at),
        "metricsSnapshot7d": {},
    }
