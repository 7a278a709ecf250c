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
    TextMemo,
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

    A row is mapped on every cold page, so this reads the fields it knows the JSON types of
    directly and hands any other value to the field's own function (``parse_time``,
    ``map_age``...), which reads it, or raises ``PayloadError``, exactly as it always did.
    Fields are read in the same order as before, so the first malformed one is the one an error
    names.
    """
    obj = raw if type(raw) is dict else as_object(raw, "adGroup")
    get = obj.get
    if get("deleted") is True:
        status, platform_status = map_status(obj)
    else:
        status, platform_status = _STATUSES.get((get("status"), get("displayStatus")), obj)
    bid = get("bidStrategy")
    if bid is None:
        goal = None
    elif type(bid) is dict and type(goal := bid.get("bidStrategyGoal")) is str:
        pass
    else:
        goal = opt_str(as_object(bid, "bidStrategy"), "bidStrategyGoal")
    return AdSetRecord(
        PLATFORM,
        _id(obj, "id"),
        account_external_id,
        _id(obj, "campaignId"),
        v if type(v := get("name")) is str else req_str(obj, "name"),
        status,
        platform_status,
        _lower(goal),
        _lower(v if type(v := get("pricingModel")) is str else opt_str(obj, "pricingModel")),
        None,
        None,
        _time(get("startTime"), "startTime"),
        _time(get("endTime"), "endTime"),
        _time(get("creationTime"), "creationTime"),
        TargetingSummary(
            campaign.countries if campaign is not None else (),
            _age(obj),
            (),
            campaign.placements if campaign is not None else (),
        ),
    )


# --- the common case of each field, for map_adgroup -------------------------------------------

#: Results of ``map_status`` by the fields it reads of a row that is not soft-deleted (a
#: handful of combinations exist).
_STATUSES = TextMemo(map_status)


def _id(obj: JsonObject, key: str) -> str:
    """``req_str(obj, key)``: Apple's ids are JSON numbers."""
    value = obj.get(key)
    if type(value) is int:
        return str(value)
    return value if type(value) is str else req_str(obj, key)


#: ``datetime.fromisoformat`` read once: reading it off the class makes a new bound method
#: each time, about a quarter of what the parse of a row's time costs.
_from_iso = datetime.fromisoformat


def _time(value: Any, what: str) -> datetime | None:
    if type(value) is str:
        # Apple's own shape ("2026-04-01T07:00:00.000", or to the second) has no offset:
        # spelled out, it parses straight to UTC, where datetime.replace costs ten times more.
        # A text with an offset of its own fails this parse (two offsets) and is read below.
        if (len(value) == 23 or len(value) == 19) and value[10] == "T":
            try:
                return _from_iso(value + "+00:00")
            except ValueError:
                pass
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return parse_time(value, what)  # raises the PayloadError
        if parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
        # Apple sends no offset: spelled out, it parses straight to UTC, where
        # datetime.replace costs ten times more. A bare date drops the spelled-out offset
        # (still naive), so only a parse that kept it is taken.
        try:
            spelled = datetime.fromisoformat(value + "+00:00")
        except ValueError:
            return parsed.replace(tzinfo=UTC)
        return spelled if spelled.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return parse_time(value, what)


def _age(obj: JsonObject) -> AgeRange | None:
    targeting = obj.get("targeting")
    if targeting is None:
        return None
    if type(targeting) is dict:
        low, high = _age_include(targeting.get("minAge")), _age_include(targeting.get("maxAge"))
        if low != _UNREAD and high != _UNREAD:
            if low is None and high is None:
                return None
            return AgeRange(18 if low is None else low, high)
    return map_age(_targeting(obj))


#: What ``_age_include`` gives for a dimension it leaves to ``map_age``.
_UNREAD = -1


def _age_include(dimension: Any) -> int | None:
    """The age of a ``minAge``/``maxAge`` dimension as ``map_age`` reads it (None when absent
    or empty), for the common shape: an ``include`` list of texts, the first one digits. Any
    other shape gives ``_UNREAD``, and ``map_age`` reads it (or raises its PayloadError)."""
    if dimension is None:
        return None
    if type(dimension) is not dict:
        return _UNREAD
    values = dimension.get("include")
    if values is None:
        return None
    if type(values) is not list:
        return _UNREAD
    for value in values:
        if type(value) is not str:
            return _UNREAD
    if not values:
        return None
    first: str = values[0]
    # isdecimal(): exactly the texts int() reads as they are (no sign, no spaces)
    return int(first) if first.isdecimal() else _UNREAD


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
