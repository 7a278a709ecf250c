"""Seeded, deterministic Apple Ads v1 data: API users, ad accounts, campaigns, ad groups.

Payloads are stored exactly as the v1 API returns them, with per-account indexes precomputed
so that a query page is a lookup plus a slice. The ad-group ``status``/``deleted`` values come
from the one status table in ``gateway.platforms.apple.statuses``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from gateway.platforms.apple.statuses import STATUS_TABLE
from gateway.platforms.base import AccountRef, AdSetStatus, Platform
from gateway.sandbox.apple import keys

Row = dict[str, Any]

#: Ad-group switch values, read from the one status table.
ENABLED = STATUS_TABLE[AdSetStatus.ACTIVE][0]
PAUSED = STATUS_TABLE[AdSetStatus.PAUSED][0]

#: Naive UTC: the seed works in UTC throughout and formats without an offset.
_EPOCH = datetime(2025, 1, 6, 9, 0)


def apple_time(moment: datetime) -> str:
    """Apple's wire form: UTC, milliseconds, no offset."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds")


def _between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint`` without its overhead (seed building runs it ~60k times)."""
    return low + int(rng.random() * (high - low + 1))


@dataclass(frozen=True, slots=True)
class ApiUser:
    """An Apple Ads API user: OAuth identity, uploaded public key, reachable ad accounts."""

    client_id: str
    team_id: str
    key_id: str
    private_key_pem: str = field(repr=False)
    public_key: ec.EllipticCurvePublicKey = field(repr=False)
    account_ids: frozenset[str]

    def credentials(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "team_id": self.team_id,
            "key_id": self.key_id,
            "private_key_pem": self.private_key_pem,
        }


@dataclass(slots=True, repr=False)
class AccountData:
    """One ad account's payloads and indexes (ad groups and campaigns sorted by id)."""

    account: Row
    campaigns: list[Row]
    adgroups: list[Row]
    campaigns_by_id: dict[int, Row] = field(default_factory=dict)
    #: (campaignId or None, deleted, status or None) -> ad groups in id order.
    index: dict[tuple[int | None, bool, str | None], list[Row]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.campaigns.sort(key=lambda c: c["id"])
        self.adgroups.sort(key=lambda a: a["id"])
        self.campaigns_by_id = {c["id"]: c for c in self.campaigns}
        for row in self.adgroups:
            for campaign in (None, row["campaignId"]):
                for status in (None, row["status"]):
                    self.index.setdefault((campaign, row["deleted"], status), []).append(row)

    def __repr__(self) -> str:
        # Short on purpose: test runners print fixtures, and the payloads are large.
        return f"AccountData(id={self.account['id']}, adgroups={len(self.adgroups)})"

    def select(self, campaign: int | None, deleted: bool, status: str | None) -> list[Row]:
        """Ad groups matching the indexed filters, in id order (no copy)."""
        return self.index.get((campaign, deleted, status), [])


@dataclass(slots=True, repr=False)
class AppleSeed:
    """Everything the Apple sandbox serves."""

    accounts: list[AccountRef]
    users: dict[str, ApiUser]
    data: dict[str, AccountData]

    def __repr__(self) -> str:
        return f"AppleSeed(accounts={[a.external_id for a in self.accounts]})"

    @property
    def large_account(self) -> AccountRef:
        return self.accounts[0]

    def adset_ids(self, account_external_id: str) -> list[str]:
        """Every ad-group id of the account, in the client's walk order: live ad groups by
        id, then deleted ones by id."""
        rows = self.data[account_external_id].adgroups
        live = [str(r["id"]) for r in rows if not r["deleted"]]
        return live + [str(r["id"]) for r in rows if r["deleted"]]


@dataclass(frozen=True, slots=True)
class _CampaignSpec:
    name: str
    countries: tuple[str, ...]
    placements: tuple[str, ...]
    budget: str
    status: str = ENABLED
    deleted: bool = False
    source: str = "APPSTORE"


_LARGE_CAMPAIGNS = (
    _CampaignSpec("US Brand — Search Results", ("US",), ("APPSTORE_SEARCH_RESULTS",), "250.00"),
    _CampaignSpec(
        "NA Discovery — Search",
        ("US", "CA"),
        ("APPSTORE_SEARCH_RESULTS", "APPSTORE_SEARCH_TAB"),
        "400.00",
    ),
    _CampaignSpec("Today Tab Launch", ("US", "GB", "AU"), ("APPSTORE_TODAY_TAB",), "1200.00"),
    _CampaignSpec("Product Pages — Similar Apps", ("US",), ("APPSTORE_PRODUCT_PAGES",), "90.00"),
    _CampaignSpec(
        "Competitor Conquest",
        ("US", "CA", "MX"),
        ("APPSTORE_SEARCH_RESULTS",),
        "150.00",
        status=PAUSED,
    ),
    _CampaignSpec("Holiday 2025", ("US",), ("APPSTORE_SEARCH_RESULTS",), "500.00", deleted=True),
)
_EU_CAMPAIGNS = (
    _CampaignSpec("DACH Brand", ("DE", "AT", "CH"), ("APPSTORE_SEARCH_RESULTS",), "120.00"),
    _CampaignSpec("France — Search Tab", ("FR",), ("APPSTORE_SEARCH_TAB",), "60.00"),
    _CampaignSpec("Spain Launch", ("ES",), (), "45.00", status=PAUSED),
)
_MAPS_CAMPAIGNS = (
    _CampaignSpec(
        "London Stores — Maps", ("GB",), ("MAPS_SEARCH_RESULTS",), "80.00", source="MAPS"
    ),
)

_THEMES = (
    "Brand exact",
    "Brand broad",
    "Generic fitness",
    "Running tracker",
    "Meal planner",
    "Sleep sounds",
    "Habit builder",
    "Competitor A",
    "Competitor B",
    "Discovery",
    "Lookalike installs",
    "Re-engage lapsed",
    "Weekend push",
    "iPad users",
    "Women 25-44",
)
_AGES: tuple[tuple[str | None, str | None], ...] = (
    (None, None),
    (None, None),
    ("18", "34"),
    ("25", "54"),
    ("35", None),
    ("18", "24"),
    ("45", None),
    ("21", "64"),
)
_BIDS = (
    ("MANUAL_CPT", "TAP", "CPT"),
    ("MANUAL_CPT", "TAP", "CPT"),
    ("MAX_CONVERSIONS", "INSTALL", "CPT"),
    ("MANUAL_CPM", "IMPRESSION", "CPM"),
)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()


def _user(index: int, rng: random.Random, account_ids: Sequence[str]) -> ApiUser:
    return ApiUser(
        client_id=f"SEARCHADS.{_uuid(rng).lower()}",
        team_id=f"SEARCHADS.{_uuid(rng).lower()}",
        key_id=_uuid(rng).lower(),
        private_key_pem=keys.private_pem(index),
        public_key=keys.public_key(index),
        account_ids=frozenset(account_ids),
    )


def _campaign(
    spec: _CampaignSpec, cid: int, account_id: int, currency: str, rng: random.Random
) -> Row:
    created = _EPOCH + timedelta(days=_between(rng, 0, 200), seconds=_between(rng, 0, 86399))
    targeting: Row = {"supplySource": {"include": [spec.source]}}
    if spec.placements:
        targeting["supplyPlacement"] = {"include": list(spec.placements)}
    targeting["countryOrRegion"] = {"include": list(spec.countries)}
    cpm = any(p in ("APPSTORE_TODAY_TAB", "APPSTORE_PRODUCT_PAGES") for p in spec.placements)
    running = spec.status == ENABLED and not spec.deleted
    return {
        "id": cid,
        "adAccountId": account_id,
        "name": spec.name,
        "billingEvent": "IMPRESSIONS" if cpm else "TAPS",
        "paymentModel": "PAYG",
        "startTime": apple_time(created + timedelta(days=1)),
        "endTime": None,
        "promotedObjectType": "BUSINESS_BRAND" if spec.source == "MAPS" else "APPSTORE_APP",
        "promotedObjectId": str(1_480_000_000 + account_id % 1000),
        "status": spec.status,
        "systemStatus": "RUNNING" if running else "NOT_RUNNING",
        "systemStatusReasons": [] if running else ["PAUSED_BY_USER"],
        "systemStatusLimitingReasons": [],
        "displayStatus": "DELETED" if spec.deleted else ("RUNNING" if running else "PAUSED"),
        "dailyBudget": {"value": {"amount": spec.budget, "currency": currency}},
        "targeting": targeting,
        "creationTime": apple_time(created),
        "modificationTime": apple_time(created + timedelta(days=_between(rng, 1, 60))),
        "deleted": spec.deleted,
    }


def _adgroup(k: int, agid: int, campaign: Row, currency: str, rng: random.Random) -> Row:
    placements = campaign["targeting"].get("supplyPlacement", {}).get("include", [])
    maps = campaign["targeting"]["supplySource"]["include"] == ["MAPS"]
    if maps:
        bid_type, goal, pricing = "MAX_ENGAGEMENTS", "TAP", "CPT"
    elif campaign["billingEvent"] == "IMPRESSIONS":
        bid_type, goal, pricing = _BIDS[3] if rng.random() < 0.7 else _BIDS[0]
    else:
        bid_type, goal, pricing = _BIDS[rng.randrange(3)]
    roll = rng.random()
    deleted = campaign["deleted"] or roll < 0.08
    status = PAUSED if (not deleted and roll > 0.74) or campaign["status"] == PAUSED else ENABLED
    if rng.random() < 0.05 and not deleted:
        status = PAUSED
    created = datetime.fromisoformat(campaign["creationTime"]) + timedelta(
        hours=_between(rng, 1, 24 * 120), milliseconds=_between(rng, 0, 999)
    )
    start = created + timedelta(hours=_between(rng, 0, 72))
    end = start + timedelta(days=_between(rng, 14, 180)) if rng.random() < 0.35 else None
    targeting: Row = {}
    if maps:
        targeting["radius"] = {"include": [rng.choice(("CLOSE", "MEDIUM", "FAR"))]}
    else:
        targeting["deviceClass"] = {"include": rng.choice((["IPHONE"], ["IPHONE", "IPAD"]))}
        low, high = _AGES[k % len(_AGES)]
        if low is not None:
            targeting["minAge"] = {"include": [low]}
        if high is not None:
            targeting["maxAge"] = {"include": [high]}
        if rng.random() < 0.3:
            targeting["gender"] = {"include": [rng.choice(("M", "F"))]}
        if rng.random() < 0.5:
            targeting["appDownloader"] = {"exclude": [campaign["promotedObjectId"]]}
    system, reasons, limiting, display = _serving(status, deleted, campaign, rng)
    amount = (
        f"{_between(rng, 30, 900) / 100:.2f}"
        if pricing == "CPT"
        else f"{_between(rng, 200, 1500) / 100:.2f}"
    )
    theme = _THEMES[k % len(_THEMES)]
    placement = (
        placements[0].replace("APPSTORE_", "").replace("_", " ").title() if placements else "Auto"
    )
    return {
        "id": agid,
        "name": f"{theme} — {placement} #{k + 1}",
        "adAccountId": campaign["adAccountId"],
        "campaignId": campaign["id"],
        "startTime": None if deleted and rng.random() < 0.5 else apple_time(start),
        "endTime": None if end is None else apple_time(end),
        "pricingModel": pricing,
        "automatedKeywordsOptIn": rng.random() < 0.4,
        "automatedKeywordsRequired": False,
        "status": status,
        "systemStatus": system,
        "systemStatusReasons": reasons,
        "systemStatusLimitingReasons": limiting,
        "displayStatus": display,
        "bidStrategy": {
            "bidStrategyType": bid_type,
            "bidStrategyGoal": goal,
            "bid": {"amount": amount, "currency": currency},
        },
        "targeting": targeting or None,
        "cpaCap": None,
        "deleted": deleted,
        "creationTime": apple_time(created),
        "modificationTime": apple_time(created + timedelta(days=_between(rng, 0, 90))),
    }


def _serving(
    status: str, deleted: bool, campaign: Row, rng: random.Random
) -> tuple[str, list[str], list[str], str]:
    """(systemStatus, reasons, limiting reasons, displayStatus) consistent with the switch."""
    if deleted:
        return "NOT_RUNNING", ["DELETED_BY_USER"], [], "DELETED"
    if status == PAUSED:
        return "NOT_RUNNING", ["PAUSED_BY_USER"], [], "PAUSED"
    if campaign["status"] != ENABLED:
        return "NOT_RUNNING", ["CAMPAIGN_NOT_RUNNING"], [], "CAMPAIGN_ON_HOLD"
    roll = rng.random()
    if roll < 0.06:
        return "NOT_RUNNING", ["SCHEDULE_PENDING"], [], "ON_HOLD"
    if roll < 0.10:
        return "RUNNING", [], ["ADS_LIMITED"], "LIMITED"
    return "RUNNING", [], [], "RUNNING"


def _account(
    *,
    account_id: int,
    name: str,
    currency: str,
    timezone: str,
    specs: Sequence[_CampaignSpec],
    adgroups: int,
    rng: random.Random,
) -> AccountData:
    info = {
        "id": account_id,
        "name": name,
        "orgId": 40_669_820,
        "timezone": timezone,
        "currency": currency,
        "paymentModel": "PAYG",
        "systemStatus": "ACTIVE",
        "systemStatusReasons": [],
        "productFeatures": [
            "BUSINESS_BRAND_MANUAL" if specs[0].source == "MAPS" else "APPSTORE_APP_MANUAL"
        ],
        "creationTime": apple_time(_EPOCH - timedelta(days=30)),
        "modificationTime": apple_time(_EPOCH),
    }
    base = account_id * 1000
    campaigns = [
        _campaign(spec, base + 100 + i, account_id, currency, rng) for i, spec in enumerate(specs)
    ]
    ad_base = account_id * 100_000
    rows: list[Row] = []
    next_id = ad_base + 1
    for k in range(adgroups):
        # Round-robin over campaigns, as ad groups are created over time in each of them.
        rows.append(_adgroup(k, next_id, campaigns[k % len(campaigns)], currency, rng))
        next_id += _between(rng, 1, 3)
    return AccountData(account=info, campaigns=campaigns, adgroups=rows)


def build_seed(large_adsets: int = 1200) -> AppleSeed:
    """The sandbox data: a large US account (``large_adsets`` ad groups, first), a small EUR
    account sharing its API user, and an Apple Maps GBP account with its own API user."""
    rng = random.Random(20260401)
    data = {
        "4001001": _account(
            account_id=4_001_001,
            name="Acme Fitness — US",
            currency="USD",
            timezone="America/Los_Angeles",
            specs=_LARGE_CAMPAIGNS,
            adgroups=large_adsets,
            rng=rng,
        ),
        "4001002": _account(
            account_id=4_001_002,
            name="Acme Fitness — EU",
            currency="EUR",
            timezone="Europe/Berlin",
            specs=_EU_CAMPAIGNS,
            adgroups=36,
            rng=rng,
        ),
        "4001003": _account(
            account_id=4_001_003,
            name="Acme Stores — Maps",
            currency="GBP",
            timezone="Europe/London",
            specs=_MAPS_CAMPAIGNS,
            adgroups=9,
            rng=rng,
        ),
    }
    # Identities come from their own stream so they do not depend on the seed's size.
    ids = random.Random(4242)
    apps_user = _user(0, ids, ["4001001", "4001002"])
    maps_user = _user(1, ids, ["4001003"])
    users = {u.client_id: u for u in (apps_user, maps_user)}
    owner = {"4001001": apps_user, "4001002": apps_user, "4001003": maps_user}
    accounts = [
        AccountRef(
            platform=Platform.APPLE_ADS,
            external_id=ext,
            name=str(d.account["name"]),
            credentials=owner[ext].credentials(),
        )
        for ext, d in data.items()
    ]
    return AppleSeed(accounts=accounts, users=users, data=data)


# -- querying: Apple's v1 /query semantics over one account --------------------------------


class QueryError(Exception):
    """A query body Apple would reject with HTTP 400; ``details`` are v1 ErrorDetail dicts."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.details = [
            {"code": "INVALID_FILTER", "message": message, "info": {"field": field_name}}
        ]


_MULTI = frozenset({"IN", "NOT_IN"})
#: Filterable fields and their operators, per the "Query Ad Groups" / "Query Campaigns" pages.
_FILTERS: dict[str, dict[str, tuple[str, ...]]] = {
    "adgroups": {
        "id": ("EQUALS", "IN"),
        "campaignId": ("EQUALS",),
        "name": ("EQUALS", "STARTS_WITH"),
        "status": ("EQUALS", "IN"),
        "startTime": ("LESS_THAN", "GREATER_THAN"),
        "endTime": ("LESS_THAN", "GREATER_THAN"),
        "deleted": ("EQUALS",),
    },
    "campaigns": {
        "id": ("EQUALS", "IN"),
        "name": ("EQUALS", "IN", "STARTS_WITH", "ENDS_WITH"),
        "status": ("EQUALS", "IN"),
        "billingEvent": ("EQUALS", "IN"),
        "promotedObjectType": ("EQUALS", "NOT_EQUALS", "IN", "NOT_IN"),
        "promotedObjectId": ("EQUALS", "NOT_EQUALS", "IN", "NOT_IN"),
        "deleted": ("EQUALS", "IN"),
    },
}
_SORTABLE: dict[str, frozenset[str]] = {
    "adgroups": frozenset(
        {
            "id",
            "campaignId",
            "name",
            "status",
            "startTime",
            "endTime",
            "deleted",
            "creationTime",
            "modificationTime",
        }
    ),
    "campaigns": frozenset(
        {
            "id",
            "name",
            "status",
            "billingEvent",
            "startTime",
            "endTime",
            "deleted",
            "creationTime",
            "modificationTime",
        }
    ),
}
_INT_FIELDS = frozenset({"id", "campaignId"})
_ENUMS = {"status": frozenset({ENABLED, PAUSED})}
MAX_QUERY_PAGE = 1000
DEFAULT_QUERY_PAGE = 20


@dataclass(frozen=True, slots=True)
class _Filter:
    field: str
    operator: str
    values: tuple[Any, ...]

    def test(self, row: Row) -> bool:
        value = row.get(self.field)
        op = self.operator
        if op in ("EQUALS", "IN"):
            return value in self.values
        if op in ("NOT_EQUALS", "NOT_IN"):
            return value not in self.values
        if value is None:
            return False
        target = self.values[0]
        if op == "STARTS_WITH":
            return str(value).startswith(target)
        if op == "ENDS_WITH":
            return str(value).endswith(target)
        if op == "LESS_THAN":
            return bool(value < target)
        return bool(value > target)  # GREATER_THAN


def _parse_filter(kind: str, raw: Any) -> _Filter:
    if not isinstance(raw, dict):
        raise QueryError("filters", "Each filter must be an object.")
    name, op = raw.get("field"), raw.get("operator")
    allowed = _FILTERS[kind]
    if not isinstance(name, str) or name not in allowed:
        raise QueryError(str(name), f"Field {name!r} is not filterable.")
    if op not in allowed[name]:
        raise QueryError(name, f"Operator {op!r} is not supported for field {name!r}.")
    value = raw.get("value")
    if op in _MULTI:
        if not isinstance(value, list) or not value:
            raise QueryError(name, f"Operator {op} needs a non-empty array value.")
        values = tuple(value)
    elif isinstance(value, list):
        if op != "EQUALS" or len(value) != 1:
            raise QueryError(name, f"Operator {op} needs a single value.")
        values = (value[0],)
    else:
        values = (value,)
    for item in values:
        _check_value(name, item)
    return _Filter(name, str(op), values)


def _check_value(name: str, value: Any) -> None:
    if name in _INT_FIELDS:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif name == "deleted":
        ok = isinstance(value, bool)
    elif name in ("startTime", "endTime"):
        ok = isinstance(value, str) and _is_time(value)
    else:
        ok = isinstance(value, str) and (name not in _ENUMS or value in _ENUMS[name])
    if not ok:
        raise QueryError(name, f"Invalid value {value!r} for field {name!r}.")


def _is_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _int_in(raw: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise QueryError(
            f"pagination.{key}", f"pagination.{key} must be an integer in [{low}, {high}]."
        )
    return value


def run_query(kind: str, data: AccountData, body: Any) -> tuple[int, dict[str, Any]]:
    """Answer a v1 ``/query`` body for ``kind`` ("adgroups" or "campaigns") over one account.

    Deleted rows are hidden unless a ``deleted`` filter admits them; filters are AND-ed.
    """
    if not isinstance(body, dict):
        raise QueryError("body", "The query body must be an object.")
    unknown = set(body) - {"filters", "sorting", "pagination"}
    if unknown:
        raise QueryError(sorted(unknown)[0], f"Unknown query field {sorted(unknown)[0]!r}.")
    raw_filters = body.get("filters") or []
    if not isinstance(raw_filters, list):
        raise QueryError("filters", "filters must be an array.")
    filters = [_parse_filter(kind, f) for f in raw_filters]
    sorting = _parse_sorting(kind, body.get("sorting") or [])
    paging = body.get("pagination") or {}
    if not isinstance(paging, dict):
        raise QueryError("pagination", "pagination must be an object.")
    offset = _int_in(paging, "offset", 0, 0, 2**31 - 1)
    size = _int_in(paging, "pageSize", DEFAULT_QUERY_PAGE, 1, MAX_QUERY_PAGE)
    fetch_total = paging.get("fetchTotalCount", False)
    if not isinstance(fetch_total, bool):
        raise QueryError("pagination.fetchTotalCount", "fetchTotalCount must be a boolean.")

    rows = _candidates(kind, data, filters)
    if sorting:
        rows = list(rows)  # never sort an index list in place
        for name, order in reversed(sorting):
            rows.sort(key=_sort_key(name), reverse=order == "DESC")
    pagination: dict[str, Any] = {"offset": offset, "pageSize": size}
    if fetch_total:
        pagination["totalCount"] = len(rows)
    return 200, {"result": rows[offset : offset + size], "pagination": pagination}


def _sort_key(name: str) -> Callable[[Row], tuple[bool, Any]]:
    """Sort by ``name`` with nulls last (ascending)."""

    def key(row: Row) -> tuple[bool, Any]:
        value = row.get(name)
        return value is None, value

    return key


def _parse_sorting(kind: str, raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, list):
        raise QueryError("sorting", "sorting must be an array.")
    out: list[tuple[str, str]] = []
    for item in raw:
        name = item.get("field") if isinstance(item, dict) else None
        order = item.get("order", "ASC") if isinstance(item, dict) else None
        if name not in _SORTABLE[kind]:
            raise QueryError(str(name), f"Field {name!r} is not sortable.")
        if order not in ("ASC", "DESC"):
            raise QueryError("order", "order must be ASC or DESC.")
        out.append((str(name), str(order)))
    if out == [("id", "ASC")]:
        return []  # the stored order already
    return out


def _candidates(kind: str, data: AccountData, filters: list[_Filter]) -> list[Row]:
    """Rows matching ``filters`` in id order, using the precomputed indexes where possible."""
    deleted: set[bool] = {False}
    rest: list[_Filter] = []
    explicit = False
    for f in filters:
        if f.field == "deleted":
            chosen = {bool(v) for v in f.values}
            deleted = chosen if not explicit else deleted & chosen
            explicit = True
        else:
            rest.append(f)
    if kind == "campaigns":
        rows = [c for c in data.campaigns if c["deleted"] in deleted]
        return [r for r in rows if all(f.test(r) for f in rest)]
    campaign: int | None = None
    status: str | None = None
    generic: list[_Filter] = []
    for f in rest:
        if f.field == "campaignId" and campaign is None:
            campaign = f.values[0]
        elif f.field == "status" and status is None and len(f.values) == 1:
            status = f.values[0]
        else:
            generic.append(f)
    parts = [data.select(campaign, d, status) for d in sorted(deleted)]
    rows = (
        parts[0]
        if len(parts) == 1
        else sorted((r for p in parts for r in p), key=lambda r: r["id"])
    )
    if generic:
        rows = [r for r in rows if all(f.test(r) for f in generic)]
    return rows
