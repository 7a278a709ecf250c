"""The contract's JSON form of an ad set (REST items), built as plain dicts for orjson."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.platforms.base import Money
from gateway.walk import AdSetItem

#: How response bodies are encoded: a UTC datetime as RFC 3339 with a ``Z``, to the second
#: (``2026-04-01T00:00:00Z``). orjson writes one in ~0.3 us; formatting it in Python took ~5.
JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_NAIVE_UTC


def dumps(body: Any) -> bytes:
    """A response body as JSON."""
    return orjson.dumps(body, option=JSON_OPTIONS)


def format_time(value: datetime | None) -> str | None:
    """One time as the wire writes it: RFC 3339 in UTC with a ``Z``, to the second."""
    if value is None:
        return None
    if value.utcoffset():
        value = value.astimezone(UTC)
    return orjson.dumps(value, option=JSON_OPTIONS)[1:-1].decode()


def _money(value: Money | None) -> dict[str, Any] | None:
    return None if value is None else {"amount": value.amount, "currency": value.currency}


def adset_json(item: AdSetItem) -> dict[str, Any]:
    """One item of ``GET /v1/projects/{projectId}/ads/adsets``, fields in contract order.

    Times stay datetimes (UTC, see ``AdSetRecord``) for ``dumps`` to write."""
    r = item.record
    t = r.targeting
    return {
        "adsetId": item.adset_id,
        "campaignId": item.campaign_id,
        "adAccountId": item.ad_account_id,
        "platform": r.platform,
        "externalId": r.external_id,
        "name": r.name,
        "status": r.status,
        "optimizationGoal": r.optimization_goal,
        "billingEvent": r.billing_event,
        "dailyBudget": _money(r.daily_budget),
        "lifetimeBudget": _money(r.lifetime_budget),
        "startTime": r.start_time,
        "endTime": r.end_time,
        "targetingSummary": {
            "geo": list(t.geo),
            "age": None if t.age is None else {"min": t.age.min, "max": t.age.max},
            "customAudiences": list(t.custom_audiences),
            "placements": list(t.placements),
        },
        "createdAt": r.created_at,
        "metricsSnapshot7d": {},
    }
