"""Pure mapping of Meta Graph API payloads to domain records.

Every function takes decoded JSON and raises ``PayloadError`` on a shape it cannot read; the
client turns that into ``MalformedResponseError``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from gateway.platforms.base import (
    AdAccountInfo,
    AdSetRecord,
    AgeRange,
    CampaignRecord,
    Money,
    Platform,
    TargetingSummary,
)
from gateway.platforms.meta.currency import budget, currency_offset
from gateway.platforms.meta.statuses import status_of_payload
from gateway.platforms.payload import (
    JsonMemo,
    JsonObject,
    PayloadError,
    TextMemo,
    as_list,
    as_object,
    opt_int,
    opt_str,
    req_str,
    str_list,
)

PLATFORM = Platform.META_ADS

#: Ad-set fields the mapping reads (sent as ``fields=``).
ADSET_FIELDS: tuple[str, ...] = (
    "id", "name", "campaign_id", "account_id", "status", "configured_status",
    "effective_status", "daily_budget", "lifetime_budget", "optimization_goal",
    "billing_event", "start_time", "end_time", "created_time", "targeting",
)  # fmt: skip
CAMPAIGN_FIELDS: tuple[str, ...] = (
    "id", "name", "account_id", "objective", "effective_status", "status",
    "daily_budget", "lifetime_budget",
)  # fmt: skip
ACCOUNT_FIELDS: tuple[str, ...] = (
    "id", "account_id", "name", "currency", "timezone_name", "account_status",
)  # fmt: skip

# Meta's networks in the order its placement UI lists them; used when positions are given
# without publisher_platforms.
NETWORKS: tuple[str, ...] = (
    "facebook", "instagram", "audience_network", "messenger", "threads", "whatsapp",
)  # fmt: skip
# Positions whose Meta name differs from the contract's "<network>_<position>" form.
_POSITION_ALIASES = {
    ("instagram", "stream"): "feed",
    ("instagram", "ig_search"): "search",
    ("threads", "stream"): "feed",
}
# Meta's open-ended maximum age ("65+") and default minimum.
_AGE_OPEN_MAX = 65
_AGE_DEFAULT_MIN = 18


def parse_time(obj: JsonObject, key: str) -> datetime | None:
    """``obj[key]`` ("2026-04-01T00:00:00-0700") as an aware UTC datetime; absent -> None.

    Times without an offset are read as UTC. Meta has reported "no end" as the Unix epoch,
    so anything at or before 1970-01-01 means None too.
    """
    text = opt_str(obj, key)
    if text is None or text == "":
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PayloadError(f"{key}: not an ISO 8601 time: {text!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    if parsed.year <= 1970:
        return None
    return parsed


def _lower(obj: JsonObject, key: str) -> str | None:
    value = opt_str(obj, key)
    return value.lower() if value else None


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def geo_countries(geo: JsonObject) -> tuple[str, ...]:
    """ISO country codes of ``geo_locations``: ``countries`` plus the ``country`` of every
    region, city, zip or other location list entry that names one."""
    codes = [c.upper() for c in str_list(geo, "countries")]
    for key, value in geo.items():
        if key == "countries" or not isinstance(value, list):
            continue
        for item in value:
            if isinstance(item, dict):
                country = opt_str(item, "country")
                if country:
                    codes.append(country.upper())
    return _unique(codes)


def age_range(targeting: JsonObject) -> AgeRange | None:
    """``age_min``/``age_max`` as an AgeRange; 65 (Meta's "65+") is open-ended, and 18+
    open-ended (Meta's default) means every age, i.e. None."""
    low = opt_int(targeting, "age_min")
    high = opt_int(targeting, "age_max")
    minimum = _AGE_DEFAULT_MIN if low is None else low
    maximum = None if high is None or high >= _AGE_OPEN_MAX else high
    if maximum is None and minimum <= _AGE_DEFAULT_MIN:
        return None
    return AgeRange(min=minimum, max=maximum)


def _audience_ids(targeting: JsonObject) -> tuple[str, ...]:
    ids: list[str] = []
    for item in as_list(targeting.get("custom_audiences") or [], "custom_audiences"):
        if isinstance(item, dict):
            ids.append(req_str(item, "id"))
        else:  # some API versions return bare ids
            ids.append(req_str({"id": item}, "id"))
    return _unique(ids)


@lru_cache(maxsize=512)  # a small vocabulary, looked up for every row
def placement_name(network: str, position: str) -> str:
    """The contract's lower-snake name of one Meta position on one network."""
    network = network.lower()
    pos = position.lower()
    alias = _POSITION_ALIASES.get((network, pos))
    if alias is None:
        # Meta repeats the network in some positions ("facebook_reels", "messenger_home").
        stripped = pos.removeprefix(network + "_")
        alias = _POSITION_ALIASES.get((network, stripped), stripped)
    return f"{network}_{alias}"


def placements(targeting: JsonObject) -> tuple[str, ...]:
    """``publisher_platforms`` x ``<network>_positions``; a bare network without positions;
    () when neither is set (automatic placements)."""
    networks = [n.lower() for n in str_list(targeting, "publisher_platforms")]
    if not networks:
        networks = [n for n in NETWORKS if targeting.get(f"{n}_positions")]
    names: list[str] = []
    for network in networks:
        positions = str_list(targeting, f"{network}_positions")
        if positions:
            names.extend(placement_name(network, p) for p in positions)
        else:
            names.append(network)
    return _unique(names)


def targeting_summary(value: Any) -> TargetingSummary:
    """The contract's targeting summary of a Meta ``targeting`` object (None -> empty)."""
    if value is None:
        return TargetingSummary()
    targeting = as_object(value, "targeting")
    geo_value = targeting.get("geo_locations")
    geo = () if geo_value is None else geo_countries(as_object(geo_value, "geo_locations"))
    return TargetingSummary(
        geo=geo,
        age=age_range(targeting),
        custom_audiences=_audience_ids(targeting),
        placements=placements(targeting),
    )


def map_adset(obj: JsonObject, *, account_id: str, currency: str) -> AdSetRecord:
    """One ad-set node (with ``ADSET_FIELDS``) as an AdSetRecord of account ``account_id``
    (``act_...``), budgets in ``currency``.

    A row is mapped on every cold page, so this reads the fields it knows the JSON types of
    directly and hands any other value to the field's own function (``parse_time``, ``budget``,
    ``targeting_summary``...), which reads it, or raises ``PayloadError``, exactly as it always
    did: the result is the same, only the common case skips a call per field.
    """
    get = obj.get
    unit = _money_unit(currency)
    # Arguments are evaluated in the order of the fields, as before: the first malformed field
    # is the one a PayloadError names.
    status, platform_status = _STATUSES.get(
        (get("effective_status"), get("configured_status"), get("status")), obj
    )
    return AdSetRecord(
        PLATFORM,
        v if type(v := get("id")) is str else req_str(obj, "id"),
        account_id,
        v if type(v := get("campaign_id")) is str else req_str(obj, "campaign_id"),
        v if type(v := get("name")) is str else req_str(obj, "name"),
        status,
        platform_status,
        (v.lower() or None)
        if type(v := get("optimization_goal")) is str
        else _lower(obj, "optimization_goal"),
        (v.lower() or None)
        if type(v := get("billing_event")) is str
        else _lower(obj, "billing_event"),
        _budget(obj, "daily_budget", currency, unit),
        _budget(obj, "lifetime_budget", currency, unit),
        _shared_time(obj, "start_time"),
        _shared_time(obj, "end_time"),
        _time(obj, "created_time"),
        _targeting(v) if type(v := get("targeting")) is dict else targeting_summary(v),
    )


# --- the common case of each field, for map_adset ---------------------------------------------

_NO_TARGETING = TargetingSummary()
#: Results of ``status_of_payload`` by the status fields (a few dozen combinations exist).
_STATUSES = TextMemo(status_of_payload)


@lru_cache(maxsize=64)
def _money_unit(currency: str) -> tuple[int, str]:
    """(minor units per major unit, the ISO code) that ``budget`` uses for ``currency``."""
    return currency_offset(currency), currency.upper()


def _budget(obj: JsonObject, key: str, currency: str, unit: tuple[int, str]) -> Money | None:
    value = obj.get(key)
    if value is None:
        return None
    # Digits only: int() reads them all and no sign or space can make the amount negative.
    if type(value) is str and value.isdecimal():
        minor = int(value)
        return None if minor == 0 else Money(minor / unit[0], unit[1])
    return budget(obj, key, currency)


#: Start and end times by their text: ad sets of a campaign mostly share them, and a time with
#: an offset costs a parse and a conversion. Emptied when full.
_SHARED_TIMES: dict[str, datetime | None] = {}
_SHARED_TIMES_MAX = 4096


def _shared_time(obj: JsonObject, key: str) -> datetime | None:
    text = obj.get(key)
    if type(text) is not str:
        return parse_time(obj, key)
    try:
        return _SHARED_TIMES[text]
    except KeyError:
        pass
    parsed = _time(obj, key)
    if len(_SHARED_TIMES) >= _SHARED_TIMES_MAX:
        _SHARED_TIMES.clear()
    _SHARED_TIMES[text] = parsed
    return parsed


#: ``datetime.fromisoformat`` read once: reading it off the class makes a new bound method
#: each time, about a quarter of what the parse of a row's time costs.
_from_iso = datetime.fromisoformat


def _time(obj: JsonObject, key: str) -> datetime | None:
    text = obj.get(key)
    if type(text) is str and text:
        try:
            parsed = _from_iso(text)
        except ValueError:
            return parse_time(obj, key)  # raises the PayloadError
        if parsed.tzinfo is None:
            return parse_time(obj, key)
        parsed = parsed.astimezone(UTC)
        return None if parsed.year <= 1970 else parsed
    return parse_time(obj, key)


def _targeting(targeting: dict[str, Any]) -> TargetingSummary:
    if not targeting:
        return _NO_TARGETING
    get = targeting.get
    geo = get("geo_locations")
    if geo is None:
        countries: tuple[str, ...] = ()
    elif type(geo) is dict:
        countries = _GEOS.get(geo, geo)
    else:
        countries = geo_countries(as_object(geo, "geo_locations"))
    low, high = get("age_min"), get("age_max")
    if (low is None or type(low) is int) and (high is None or type(high) is int):
        minimum = _AGE_DEFAULT_MIN if low is None else low
        maximum = None if high is None or high >= _AGE_OPEN_MAX else high
        age = (
            None if maximum is None and minimum <= _AGE_DEFAULT_MIN else AgeRange(minimum, maximum)
        )
    else:
        age = age_range(targeting)
    audiences = get("custom_audiences")
    return TargetingSummary(
        countries,
        age,
        _AUDIENCES.get(audiences, targeting) if audiences else (),
        _placements(targeting),
    )


def _geo(geo: JsonObject) -> tuple[str, ...]:
    codes: list[str] = []
    for key, value in geo.items():
        if type(value) is not list:
            if key == "countries" and value is not None:
                return geo_countries(geo)  # raises the PayloadError
            continue
        if key == "countries":
            for code in value:
                if type(code) is not str:
                    return geo_countries(geo)
            # countries come first, whatever the key order
            codes[:0] = [code.upper() for code in value]
            continue
        for item in value:
            if isinstance(item, dict):
                country = item.get("country")
                if type(country) is str:
                    if country:
                        codes.append(country.upper())
                elif country is not None:
                    return geo_countries(geo)
    return tuple(dict.fromkeys(codes))


def _audiences(targeting: JsonObject) -> tuple[str, ...]:
    audiences = targeting.get("custom_audiences")
    if not audiences:
        return ()
    if type(audiences) is list:
        ids = [v for item in audiences if type(item) is dict and type(v := item.get("id")) is str]
        if len(ids) == len(audiences):
            return tuple(dict.fromkeys(ids))
    return _audience_ids(targeting)


#: Countries by their ``geo_locations`` and audience ids by their ``custom_audiences``: ad
#: sets share a few dozen of each.
_GEOS = JsonMemo(_geo)
_AUDIENCES = JsonMemo(_audiences)

#: ``<network>_positions`` for the networks Meta documents.
_POSITIONS_KEYS = {network: f"{network}_positions" for network in NETWORKS}
#: Every field ``_placements`` reads when the networks are ones Meta documents.
_PLACEMENT_FIELDS = ("publisher_platforms", *_POSITIONS_KEYS.values())
#: Placements by those fields as orjson writes them: ad sets repeat a few dozen combinations.
#: Only fields of texts are kept, naming only those networks (no other field is read for
#: them): a row whose fields write the same is then the same texts. Past the limit, new
#: combinations are read without being kept.
_PLACEMENTS: dict[bytes, tuple[str, ...]] = {}
_PLACEMENTS_MAX = 1024


def _placements(targeting: dict[str, Any]) -> tuple[str, ...]:
    """``_read_placements(targeting)``, known by the fields it reads."""
    fields = tuple(map(targeting.get, _PLACEMENT_FIELDS))
    for value in fields:
        # Another type could write as a kept field does (orjson writes inf as null).
        if value is not None and type(value) is not list:
            return _read_placements(targeting)
    key = orjson.dumps(fields)
    found = _PLACEMENTS.get(key)
    if found is None:
        found = _read_placements(targeting)
        if len(_PLACEMENTS) < _PLACEMENTS_MAX and _known_texts(fields):
            _PLACEMENTS[key] = found
    return found


def _known_texts(fields: tuple[list[Any] | None, ...]) -> bool:
    """Whether the placement fields are lists of texts, naming only ``NETWORKS``."""
    for value in fields:
        if value is not None:
            for text in value:
                if type(text) is not str:
                    return False
    networks = fields[0]
    return networks is None or all(n.lower() in _POSITIONS_KEYS for n in networks)


def _read_placements(targeting: dict[str, Any]) -> tuple[str, ...]:
    # Plain loops: in Python 3.11 each comprehension or any(...) is a call of its own.
    get = targeting.get
    networks = get("publisher_platforms")
    if networks is not None:
        if type(networks) is not list:
            return placements(targeting)
        lowered: list[str] = []
        for network in networks:
            if type(network) is not str:
                return placements(targeting)
            lowered.append(network.lower())
        networks = lowered
    if not networks:
        networks = [n for n, key in _POSITIONS_KEYS.items() if get(key)]
    names: list[str] = []
    for network in networks:
        positions = get(_POSITIONS_KEYS.get(network) or f"{network}_positions")
        if not positions:
            if positions is None or positions == []:
                names.append(network)
                continue
            return placements(targeting)
        if type(positions) is not list:
            return placements(targeting)
        for position in positions:
            if type(position) is not str:
                return placements(targeting)
            names.append(placement_name(network, position))
    return tuple(dict.fromkeys(names))


def map_campaign(obj: JsonObject, *, account_id: str, currency: str) -> CampaignRecord:
    """One campaign node (with ``CAMPAIGN_FIELDS``) as a CampaignRecord."""
    _, platform_status = status_of_payload(obj)
    return CampaignRecord(
        platform=PLATFORM,
        external_id=req_str(obj, "id"),
        account_external_id=account_id,
        name=req_str(obj, "name"),
        platform_status=platform_status,
        objective=opt_str(obj, "objective"),
        daily_budget=budget(obj, "daily_budget", currency),
        lifetime_budget=budget(obj, "lifetime_budget", currency),
    )


def map_account(obj: JsonObject, *, account_id: str) -> AdAccountInfo:
    """An ad-account node (with ``ACCOUNT_FIELDS``) as AdAccountInfo."""
    currency = req_str(obj, "currency")
    if len(currency) != 3:
        raise PayloadError(f"currency: not an ISO 4217 code: {currency!r}")
    status = opt_int(obj, "account_status")
    return AdAccountInfo(
        platform=PLATFORM,
        external_id=account_id,
        name=opt_str(obj, "name") or "",
        currency=currency.upper(),
        timezone=opt_str(obj, "timezone_name"),
        platform_status=None if status is None else str(status),
    )
