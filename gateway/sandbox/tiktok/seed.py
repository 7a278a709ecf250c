"""Deterministic seed data for the TikTok sandbox: advertisers, campaigns and ad groups in the
v1.3 wire shape, with the per-advertiser indexes that keep serving a page cheap."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.platforms.base import AccountRef, Platform
from gateway.sandbox.clock import SEED_CLOCK_NAIVE
from gateway.sandbox.tiktok.geonames import GEONAME_ID_BY_COUNTRY
from gateway.sandbox.tiktok.statuses import ADGROUP_PRIMARY, ADGROUP_PRIMARY_FILTERS

Row = dict[str, Any]

_EPOCH = datetime(2025, 1, 6)  # naive UTC: isoformat(" ") is TikTok's format, and fast
# Creation times spread over ~14 months, ending 90 days before the seed's clock: an ad group
# starts up to 6 days and is modified up to 2000 hours (83 days) after its creation.
_SPAN_SECONDS = int((SEED_CLOCK_NAIVE - _EPOCH).total_seconds()) - 90 * 24 * 3600

# Region-level GeoNames ids TikTok also accepts (kept as given by the client).
_REGIONS = {
    "US": ("5332921", "5128638", "4736286"),  # California, New York State, Texas
    "DE": ("2951839",),  # Bavaria
    "JP": ("1850144",),  # Tokyo prefecture
}

_GOALS = (
    ("CONVERT", "OCPM", "Conversions"),
    ("CLICK", "CPC", "Traffic"),
    ("INSTALL", "OCPM", "App Installs"),
    ("REACH", "CPM", "Reach"),
    ("VALUE", "OCPM", "Value"),
    ("LEAD_GENERATION", "OCPM", "Leads"),
    ("ENGAGED_VIEW", "CPV", "Video Views"),
    ("TRAFFIC_LANDING_PAGE_VIEW", "OCPM", "Landing Page Views"),
)
_OBJECTIVES = ("WEB_CONVERSIONS", "TRAFFIC", "APP_PROMOTION", "REACH", "LEAD_GENERATION")
_AGE_CHOICES: tuple[list[str] | None, ...] = (
    None,
    ["AGE_18_24", "AGE_25_34"],
    ["AGE_25_34", "AGE_35_44"],
    ["AGE_35_44", "AGE_45_54", "AGE_55_100"],
    ["AGE_18_24"],
    ["AGE_55_100"],
    [],
)
_AUDIENCE_LABELS = ("Broad", "Women", "Men", "Lookalike 1%", "Site Visitors 30d", "Cart Abandoners")
_THEMES = ("Spring Sale", "Evergreen", "Launch", "Holiday", "Retargeting", "Prospecting")
_PLACEMENT_CHOICES = (
    ["PLACEMENT_TIKTOK"],
    ["PLACEMENT_TIKTOK", "PLACEMENT_PANGLE"],
    ["PLACEMENT_PANGLE"],
    ["PLACEMENT_TIKTOK", "PLACEMENT_GLOBAL_APP_BUNDLE"],
)
# Common statuses weighted so the data looks like a real account after every value has
# appeared once.
_COMMON_STATUSES = (
    ("ADGROUP_STATUS_DELIVERY_OK", 40),
    ("ADGROUP_STATUS_DISABLE", 15),
    ("ADGROUP_STATUS_DELETE", 10),
    ("ADGROUP_STATUS_TIME_DONE", 8),
    ("ADGROUP_STATUS_CAMPAIGN_DISABLE", 5),
    ("ADGROUP_STATUS_AUDIT", 4),
    ("ADGROUP_STATUS_BUDGET_EXCEED", 4),
    ("ADGROUP_STATUS_NOT_START", 4),
    ("ADGROUP_STATUS_AUDIT_DENY", 3),
    ("ADGROUP_STATUS_CAMPAIGN_DELETE", 3),
    ("ADGROUP_STATUS_FROZEN", 2),
    ("ADGROUP_STATUS_CREATE", 2),
)
_BUDGET_MODES = (("BUDGET_MODE_DAY",) * 6 + ("BUDGET_MODE_TOTAL",) * 3
                 + ("BUDGET_MODE_DYNAMIC_DAILY_BUDGET",))  # fmt: skip
_ALL_SECONDARY = tuple(ADGROUP_PRIMARY)
# The weighted statuses spelled out, so picking one is a single index.
_STATUS_POOL = tuple(name for name, weight in _COMMON_STATUSES for _ in range(weight))


@dataclass(frozen=True, slots=True)
class _Market:
    advertiser_id: str
    name: str
    currency: str
    timezone: str
    countries: tuple[str, ...]
    budget_unit: float  # a typical daily budget in this currency
    adgroups: int
    campaigns: int


@dataclass
class AdvertiserData:
    """One advertiser's rows, newest id first, and the indexes the app serves from."""

    info: Row
    adgroups: list[Row]
    campaigns: list[Row]
    by_primary: dict[str, list[Row]] = field(default_factory=dict)
    by_campaign: dict[str, list[Row]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for value, secondaries in ADGROUP_PRIMARY_FILTERS.items():
            self.by_primary[value] = [
                r for r in self.adgroups if r["secondary_status"] in secondaries
            ]
        for row in self.adgroups:
            self.by_campaign.setdefault(row["campaign_id"], []).append(row)


@dataclass
class TikTokSeed:
    """Everything the sandbox serves; ``accounts[0]`` is the large advertiser."""

    accounts: list[AccountRef]
    advertisers: dict[str, AdvertiserData]
    #: access token -> advertiser ids it may operate
    tokens: Mapping[str, frozenset[str]]

    @property
    def large_account(self) -> AccountRef:
        return self.accounts[0]

    def adset_ids(self, account_external_id: str) -> list[str]:
        """Every ad-group id of the advertiser (deleted included) in the client's order."""
        return [r["adgroup_id"] for r in self.advertisers[account_external_id].adgroups]

    def adset_ids_where(self, account_external_id: str, test: Callable[[Row], bool]) -> list[str]:
        """The ids of the ad groups passing ``test``, in the client's order."""
        return [r["adgroup_id"] for r in self.advertisers[account_external_id].adgroups if test(r)]


def build_seed(large_adsets: int = 1200) -> TikTokSeed:
    """Three advertisers: a large USD one with ``large_adsets`` ad groups, a EUR one and a
    small JPY one. Same input, same data."""
    markets = (
        _Market(
            "7012345678901234567", "Acme US", "USD", "America/New_York",
            ("US", "CA", "GB", "AU", "MX"), 50.0, large_adsets, max(1, large_adsets // 12),
        ),
        _Market(
            "7123456789012345678", "Acme Europe", "EUR", "Europe/Berlin",
            ("DE", "FR", "ES", "IT", "NL", "AT"), 40.0, 90, 8,
        ),
        _Market(
            "7234567890123456789", "Acme Japan", "JPY", "Asia/Tokyo",
            ("JP",), 5000.0, 24, 3,
        ),
    )  # fmt: skip
    advertisers: dict[str, AdvertiserData] = {}
    tokens: dict[str, frozenset[str]] = {}
    accounts: list[AccountRef] = []
    for index, market in enumerate(markets):
        rng = random.Random(f"tiktok-sandbox-{market.advertiser_id}")
        campaigns = _campaigns(market, index, rng)
        adgroups = _adgroups(market, index, campaigns, rng)
        advertisers[market.advertiser_id] = AdvertiserData(
            info=_advertiser_info(market, index),
            adgroups=sorted(adgroups, key=lambda r: int(r["adgroup_id"]), reverse=True),
            campaigns=sorted(campaigns, key=lambda r: int(r["campaign_id"]), reverse=True),
        )
        token = f"tt-sandbox-{market.advertiser_id[-6:]}"
        tokens[token] = frozenset({market.advertiser_id})
        accounts.append(
            AccountRef(
                platform=Platform.TIKTOK_ADS,
                external_id=market.advertiser_id,
                name=market.name,
                credentials={"access_token": token},
            )
        )
    return TikTokSeed(accounts=accounts, advertisers=advertisers, tokens=tokens)


def _fmt(moment: datetime) -> str:
    return moment.isoformat(" ")


def _advertiser_info(market: _Market, index: int) -> Row:
    return {
        "advertiser_id": market.advertiser_id,
        "name": market.name,
        "currency": market.currency,
        "timezone": market.timezone,
        "display_timezone": market.timezone,
        "status": "STATUS_ENABLE",
        "balance": round(market.budget_unit * 400, 2),
        "create_time": int(
            (_EPOCH - timedelta(days=400 - 30 * index)).replace(tzinfo=UTC).timestamp()
        ),
    }


def _campaigns(market: _Market, index: int, rng: random.Random) -> list[Row]:
    rows: list[Row] = []
    base = 1_780_000_000_000_000 + index * 10_000_000
    for i in range(market.campaigns):
        objective = rng.choice(_OBJECTIVES)
        cbo = rng.random() < 0.25
        status = rng.choices(
            ("CAMPAIGN_STATUS_ENABLE", "CAMPAIGN_STATUS_DISABLE", "CAMPAIGN_STATUS_DELETE",
             "CAMPAIGN_STATUS_BUDGET_EXCEED"),
            weights=(70, 15, 10, 5),
        )[0]  # fmt: skip
        created = _EPOCH + timedelta(seconds=rng.randrange(_SPAN_SECONDS))
        row: Row = {
            "campaign_id": str(base + 11 * i + 3),
            "campaign_name": (
                f"Q{rng.randint(1, 4)} {rng.choice(_THEMES)} - "
                f"{objective.replace('_', ' ').title()} #{i + 1}"
            ),
            "advertiser_id": market.advertiser_id,
            "objective_type": objective,
            "operation_status": "ENABLE" if status.endswith(("ENABLE", "EXCEED")) else "DISABLE",
            "secondary_status": status,
            "budget_mode": "BUDGET_MODE_DAY" if cbo else "BUDGET_MODE_INFINITE",
            "budget": round(market.budget_unit * rng.choice((4, 6, 10)), 2) if cbo else 0.0,
            "campaign_type": "REGULAR_CAMPAIGN",
            "is_new_structure": True,
            "campaign_automation_type": "MANUAL",
            "create_time": _fmt(created),
            "modify_time": _fmt(created + timedelta(hours=rng.randrange(1, 500))),
        }
        if cbo:  # TikTok omits the key (rather than sending false) on non-CBO campaigns
            row["budget_optimize_on"] = True
        rows.append(row)
    return rows


def _secondary_for(i: int, rng: random.Random) -> str:
    if i < len(_ALL_SECONDARY):
        return _ALL_SECONDARY[i]  # every value of the table appears at least once
    return _STATUS_POOL[int(rng.random() * len(_STATUS_POOL))]


def _operation_status(secondary: str) -> str:
    """The switch under a secondary status: off when it (or its campaign) is disabled or
    deleted, FROZEN when frozen, else on."""
    if secondary == "ADGROUP_STATUS_FROZEN":
        return "FROZEN"
    off = ADGROUP_PRIMARY[secondary] in ("STATUS_DISABLE", "STATUS_DELETE")
    return "DISABLE" if off else "ENABLE"


def _adgroups(market: _Market, index: int, campaigns: list[Row], rng: random.Random) -> list[Row]:
    rows: list[Row] = []
    base = 1_790_000_000_000_000 + index * 10_000_000
    geo_ids = [GEONAME_ID_BY_COUNTRY[c] for c in market.countries]
    regions = [r for c in market.countries for r in _REGIONS.get(c, ())]
    rand = rng.random  # one float per pick: several times faster than choice()/randrange()

    def pick(seq: Sequence[Any]) -> Any:
        return seq[int(rand() * len(seq))]

    def below(n: int) -> int:
        return int(rand() * n)

    for i in range(market.adgroups):
        campaign = campaigns[below(len(campaigns))]
        secondary = _secondary_for(i, rng)
        goal, billing, goal_label = pick(_GOALS)
        created = _EPOCH + timedelta(seconds=below(_SPAN_SECONDS))
        start = (created + timedelta(days=below(6))).replace(minute=0, second=0)
        # Budget: the campaign's under CBO, else daily (mostly) or lifetime.
        if campaign.get("budget_optimize_on"):
            mode, budget = "BUDGET_MODE_INFINITE", 0.0
        else:
            mode = pick(_BUDGET_MODES)
            factor = pick((0.5, 1, 1.5, 2, 3, 5))
            budget = round(market.budget_unit * factor * (25 if mode == "BUDGET_MODE_TOTAL" else 1))
            budget = float(budget)
        ended = ADGROUP_PRIMARY[secondary] == "STATUS_TIME_DONE"
        if mode == "BUDGET_MODE_TOTAL" or ended or rand() < 0.35:
            schedule = "SCHEDULE_START_END"
            end = start + timedelta(days=7 + below(84), hours=23, minutes=59, seconds=59)
        else:
            schedule = "SCHEDULE_FROM_NOW"
            end = start.replace(year=start.year + 10)  # what TikTok reports for "no end"
        country_count = pick((1, 1, 1, 2, 3))
        first = below(len(geo_ids))
        locations = [geo_ids[(first + k) % len(geo_ids)] for k in range(country_count)]
        locations = list(dict.fromkeys(locations))
        if regions and rand() < 0.15:
            locations = [pick(regions)]
        automatic = rand() < 0.4
        audiences = [
            str(7_100_000_000_000_000_000 + index * 1000 + below(40))
            for _ in range(pick((0, 0, 1, 1, 2)))
        ]
        market_label = market.countries[0] if len(locations) == 1 else "Multi"
        rows.append(
            {
                "adgroup_id": str(base + 7 * i + 1),
                "adgroup_name": (
                    f"{market_label} {pick(_AUDIENCE_LABELS)} - {goal_label} #{i + 1}"
                ),
                "campaign_id": campaign["campaign_id"],
                "campaign_name": campaign["campaign_name"],
                "advertiser_id": market.advertiser_id,
                "operation_status": _operation_status(secondary),
                "secondary_status": secondary,
                "budget_mode": mode,
                "budget": budget,
                "scheduled_budget": 0.0,
                "schedule_type": schedule,
                "schedule_start_time": _fmt(start),
                "schedule_end_time": _fmt(end),
                "dayparting": "",
                "optimization_goal": goal,
                "billing_event": billing,
                "bid_type": pick(("BID_TYPE_NO_BID", "BID_TYPE_CUSTOM")),
                "bid_price": 0.0,
                "pacing": "PACING_MODE_SMOOTH",
                "placement_type": (
                    "PLACEMENT_TYPE_AUTOMATIC" if automatic else "PLACEMENT_TYPE_NORMAL"
                ),
                "placements": (
                    ["PLACEMENT_TIKTOK", "PLACEMENT_PANGLE", "PLACEMENT_GLOBAL_APP_BUNDLE"]
                    if automatic
                    else list(pick(_PLACEMENT_CHOICES))
                ),
                "location_ids": locations,
                "age_groups": pick(_AGE_CHOICES),
                "gender": pick(("GENDER_UNLIMITED", "GENDER_FEMALE", "GENDER_MALE")),
                "languages": [],
                "audience_ids": audiences,
                "excluded_audience_ids": [],
                "promotion_type": "APP_IOS" if goal == "INSTALL" else "WEBSITE",
                "create_time": _fmt(created),
                "modify_time": _fmt(created + timedelta(hours=1 + below(1999))),
            }
        )
    return rows
