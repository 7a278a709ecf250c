"""Deterministic seed data for the Meta sandbox: ad accounts, campaigns and ad sets stored
in their wire form (the JSON objects the Graph API returns with every field selected).

Ad sets carry only the ``effective_status`` values Meta documents for the AdSet node
(``statuses.ADSET_EFFECTIVE_STATUSES``); every one of them appears in each non-empty account.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from gateway.platforms.base import AccountRef, Platform
from gateway.sandbox.clock import SEED_CLOCK
from gateway.sandbox.meta.statuses import ADSET_EFFECTIVE_STATUSES, CAMPAIGN_EFFECTIVE_STATUSES

Node = dict[str, Any]
_T = TypeVar("_T")

_EPOCH = datetime(2025, 3, 3, 16, 0, tzinfo=UTC)
_SPAN = timedelta(days=400)
# The latest creation time: an ad set is updated up to 900 hours (37.5 days) and starts up to
# three days after it is created, and neither may pass the seed's clock.
_LAST_CREATED = SEED_CLOCK - timedelta(days=41)


@dataclass
class AccountData:
    """One ad account with its campaigns and ad sets, each list in id-descending order."""

    account_id: str  # digits, without act_
    name: str
    currency: str
    timezone_name: str
    token: str
    account_status: int = 1
    campaigns: list[Node] = field(default_factory=list)
    adsets: list[Node] = field(default_factory=list)

    @property
    def external_id(self) -> str:
        return f"act_{self.account_id}"

    def node(self) -> Node:
        """The ad-account node with every field the sandbox serves."""
        offset = datetime.now(ZoneInfo(self.timezone_name)).utcoffset() or timedelta()
        return {
            "id": self.external_id,
            "account_id": self.account_id,
            "name": self.name,
            "currency": self.currency,
            "timezone_name": self.timezone_name,
            "timezone_offset_hours_utc": offset.total_seconds() / 3600,
            "account_status": self.account_status,
            "amount_spent": "0",
        }

    def user(self) -> Node:
        """The user the account's token belongs to (``GET /me``)."""
        return {"id": f"10{self.account_id[-8:]}77", "name": f"{self.name} Admin"}

    def business_user(self) -> Node:
        """That user as a business user of the account's business (``/me/business_users``)."""
        return {
            **self.user(),
            "email": f"ads-admin+{self.account_id[-6:]}@example.com",
            "role": "ADMIN",
            "business": {"id": f"9{self.account_id}", "name": "Acme Outdoor"},
        }


@dataclass
class MetaSeed:
    """Every seeded account; ``accounts[0]`` is the large one."""

    data: list[AccountData]
    accounts: list[AccountRef] = field(init=False)

    def __post_init__(self) -> None:
        self.accounts = [
            AccountRef(
                platform=Platform.META_ADS,
                external_id=a.external_id,
                name=a.name,
                credentials={"access_token": a.token},
            )
            for a in self.data
        ]
        self._by_id = {a.external_id: a for a in self.data}

    @property
    def large_account(self) -> AccountRef:
        return self.accounts[0]

    def account(self, external_id: str) -> AccountData:
        return self._by_id[external_id]

    def adset_ids(self, account_external_id: str) -> list[str]:
        """Every ad-set id of the account, deleted included, in the order the API lists
        them (id descending)."""
        return [a["id"] for a in self._by_id[account_external_id].adsets]


# -- vocabulary ---------------------------------------------------------------------------

_IMP = "IMPRESSIONS"
_OBJECTIVES: list[tuple[str, str, list[tuple[str, str]]]] = [
    # objective, campaign word, (optimization_goal, billing_event) choices
    ("OUTCOME_SALES", "Sales", [("OFFSITE_CONVERSIONS", _IMP), ("VALUE", _IMP)]),
    ("OUTCOME_TRAFFIC", "Traffic", [("LINK_CLICKS", "LINK_CLICKS"), ("LANDING_PAGE_VIEWS", _IMP)]),
    ("OUTCOME_AWARENESS", "Awareness", [("REACH", _IMP), ("AD_RECALL_LIFT", _IMP)]),
    ("OUTCOME_ENGAGEMENT", "Engagement", [("POST_ENGAGEMENT", _IMP), ("THRUPLAY", "THRUPLAY")]),
    ("OUTCOME_LEADS", "Leads", [("LEAD_GENERATION", _IMP), ("QUALITY_LEAD", _IMP)]),
    ("OUTCOME_APP_PROMOTION", "App Installs", [("APP_INSTALLS", _IMP)]),
]
_GOALS = {objective: goals for objective, _, goals in _OBJECTIVES}
_THEMES = [
    "Spring Sale", "Summer Launch", "Back to School", "Black Friday", "Holiday Gifting",
    "New Arrivals", "Brand Always-On", "Clearance", "Loyalty Push", "Trail Series",
]  # fmt: skip
_AUDIENCE_NAMES = [
    "Lookalike 1% Purchasers", "Site Visitors 30d", "Cart Abandoners 14d",
    "Newsletter Subscribers", "Lookalike 3% Leads", "App Users 90d",
]  # fmt: skip
_ANGLES = ["Prospecting", "Retargeting", "Broad", "Interest Stack", "Video Viewers", "DPA"]
# (geo_locations, label) per market.
_GEO: dict[str, list[tuple[Node, str]]] = {
    "US": [
        ({"countries": ["US"], "location_types": ["home", "recent"]}, "US"),
        ({"countries": ["US", "CA"]}, "US+CA"),
        ({"regions": [{"key": "4081", "name": "California", "country": "US"}]}, "California"),
        (
            {
                "cities": [
                    {"key": "2420379", "name": "New York", "country": "US", "radius": 10,
                     "distance_unit": "mile"},
                ]
            },
            "NYC 10mi",
        ),
        ({"countries": ["US", "GB", "AU"]}, "EN markets"),
    ],
    "JP": [
        ({"countries": ["JP"]}, "JP"),
        ({"regions": [{"key": "2337", "name": "Tokyo", "country": "JP"}]}, "Tokyo"),
        ({"cities": [{"key": "2343105", "name": "Osaka", "country": "JP", "radius": 25,
                      "distance_unit": "kilometer"}]}, "Osaka"),
    ],
    "DE": [
        ({"countries": ["DE"]}, "DE"),
        ({"countries": ["DE", "AT", "CH"]}, "DACH"),
        ({"regions": [{"key": "1641", "name": "Bavaria", "country": "DE"}]}, "Bayern"),
        ({"countries": ["FR", "BE"]}, "FR+BE"),
    ],
}  # fmt: skip
_AGES: list[tuple[int, int] | None] = [(18, 65), (25, 45), (18, 34), (35, 65), (21, 54), None]
_PLACEMENTS: list[tuple[Node, str]] = [
    ({}, "Advantage+"),
    ({"publisher_platforms": ["facebook", "instagram"], "facebook_positions": ["feed", "story"],
      "instagram_positions": ["stream", "story", "reels"]}, "FB+IG"),
    ({"publisher_platforms": ["facebook"], "facebook_positions": ["feed"]}, "FB Feed"),
    ({"publisher_platforms": ["instagram"], "instagram_positions": ["stream", "reels"]}, "IG"),
    ({"publisher_platforms": ["facebook", "instagram", "audience_network"],
      "facebook_positions": ["feed", "facebook_reels", "marketplace"],
      "instagram_positions": ["stream", "explore"],
      "audience_network_positions": ["classic", "rewarded_video"]}, "FB+IG+AN"),
    ({"publisher_platforms": ["facebook", "messenger"], "facebook_positions": ["feed"]}, "FB+Msgr"),
    ({"publisher_platforms": ["instagram"]}, "IG all"),
]  # fmt: skip
# Ad-set statuses under an ACTIVE campaign (configured switch, effective status, weight);
# CAMPAIGN_PAUSED comes from the parent. Only AdSet values: PENDING_REVIEW, DISAPPROVED,
# PREAPPROVED, PENDING_BILLING_INFO and ADSET_PAUSED are what Meta reports for ads.
_OWN: list[tuple[str, str, int]] = [
    ("ACTIVE", "ACTIVE", 50), ("PAUSED", "PAUSED", 16), ("ACTIVE", "WITH_ISSUES", 9),
    ("ACTIVE", "IN_PROCESS", 9), ("ARCHIVED", "ARCHIVED", 6), ("DELETED", "DELETED", 10),
]  # fmt: skip
# _OWN expanded by weight, for a cheap weighted draw.
_OWN_DRAW = [(switch, effective) for switch, effective, w in _OWN for _ in range(w)]
_MINOR_STEP = {"USD": 500, "EUR": 500, "GBP": 500, "JPY": 500}


@dataclass(frozen=True)
class _AccountSpec:
    account_id: str
    name: str
    currency: str
    timezone_name: str
    market: str
    adsets: int


def _time(local: datetime) -> str:
    """Meta's form of an aware local time, ``2026-04-01T00:00:00-0700`` (isoformat is much
    cheaper than strftime). Wall-clock arithmetic on ZoneInfo times keeps offsets right."""
    text = local.isoformat(timespec="seconds")
    return text[:-3] + text[-2:]


def _int(rng: random.Random, low: int, high: int) -> int:
    """A uniform integer in [low, high]; cheaper than ``randint`` for bulk seeding."""
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: random.Random, items: Sequence[_T]) -> _T:
    return items[int(rng.random() * len(items))]


class _Builder:
    """Builds one account's campaigns and ad sets with ids from a shared counter."""

    def __init__(self, rng: random.Random, next_id: list[int]) -> None:
        self.rng = rng
        self.next_id = next_id

    def new_id(self) -> str:
        self.next_id[0] += _int(self.rng, 3, 977)
        return str(self.next_id[0])

    def build(self, spec: _AccountSpec) -> AccountData:
        rng = self.rng
        tz = ZoneInfo(spec.timezone_name)
        account = AccountData(
            account_id=spec.account_id,
            name=spec.name,
            currency=spec.currency,
            timezone_name=spec.timezone_name,
            token=f"EAAGsbx{spec.account_id[-6:]}ZDmeta{rng.getrandbits(64):016x}",
        )
        audiences = [
            {"id": str(23850000000000000 + rng.randrange(10**12)), "name": name}
            for name in _AUDIENCE_NAMES
        ]
        step = _SPAN / max(spec.adsets, 1)
        moment = _EPOCH
        made = 0
        c = 0
        while made < spec.adsets:
            size = min(spec.adsets - made, _int(rng, 8, 32) if spec.adsets > 100 else 5)
            campaign = self._campaign(account, c, moment, tz)
            account.campaigns.append(campaign)
            for _ in range(size):
                moment = min(moment + step * rng.uniform(0.5, 1.5), _LAST_CREATED)
                account.adsets.append(
                    self._adset(account, spec, campaign, made, moment.astimezone(tz), audiences)
                )
                made += 1
            c += 1
        account.campaigns.reverse()
        account.adsets.reverse()
        return account

    def _campaign(self, account: AccountData, c: int, moment: datetime, tz: ZoneInfo) -> Node:
        rng = self.rng
        objective, word, _ = _OBJECTIVES[c % len(_OBJECTIVES)]
        if c % 7 == 3:
            switch = "PAUSED"
        elif c % 11 == 5:
            switch = "ARCHIVED"
        elif c % 13 == 9:
            switch = "DELETED"
        else:
            switch = "ACTIVE"
        created = (moment - timedelta(hours=_int(rng, 2, 48))).astimezone(tz)
        node: Node = {
            "id": self.new_id(),
            "name": f"Q{created.month // 4 + 1} {_THEMES[c % len(_THEMES)]} - {word}",
            "account_id": account.account_id,
            "objective": objective,
            "status": switch,
            "configured_status": switch,
            "effective_status": switch,
            "buying_type": "AUCTION",
            "special_ad_categories": [],
            "special_ad_category": "NONE",
            "special_ad_category_country": [],
            "smart_promotion_type": "GUIDED_CREATION",
            "source_campaign_id": "0",
            "budget_rebalance_flag": False,
            "start_time": _time(created + timedelta(hours=1)),
            "created_time": _time(created),
            "updated_time": _time(created + timedelta(days=_int(rng, 0, 20))),
        }
        if c % 4 == 3:  # Advantage campaign budget: the ad sets carry none
            step = _MINOR_STEP.get(account.currency, 500)
            node["daily_budget"] = str(step * _int(rng, 10, 200))
            node["budget_remaining"] = node["daily_budget"]
            node["bid_strategy"] = "LOWEST_COST_WITHOUT_CAP"
        return node

    def _adset(
        self,
        account: AccountData,
        spec: _AccountSpec,
        campaign: Node,
        index: int,
        created: datetime,
        audiences: list[Node],
    ) -> Node:
        rng = self.rng
        switch, effective = self._statuses(campaign, index)
        goal, billing = _pick(rng, _GOALS[campaign["objective"]])
        geo, geo_label = _pick(rng, _GEO[spec.market])
        ages = _AGES[index % len(_AGES)] if index < 12 else _pick(rng, _AGES)
        placement, placement_label = (
            _PLACEMENTS[index % len(_PLACEMENTS)] if index < 12 else _pick(rng, _PLACEMENTS)
        )
        first = int(rng.random() * len(audiences))
        picked = _pick(rng, (0, 0, 1, 1, 2))
        chosen = [audiences[(first + k * 3) % len(audiences)] for k in range(picked)]
        targeting: Node = {"geo_locations": geo}
        if ages is not None:
            targeting["age_min"], targeting["age_max"] = ages
        if chosen:
            targeting["custom_audiences"] = chosen
        if rng.random() < 0.2:
            targeting["genders"] = [_pick(rng, [1, 2])]
        targeting.update(placement)
        targeting["device_platforms"] = _pick(rng, [["mobile"], ["mobile", "desktop"]])
        angle = chosen[0]["name"] if chosen else _pick(rng, _ANGLES)
        age_label = "All ages" if ages is None else f"{ages[0]}-{ages[1]}"
        start_local = (created + timedelta(days=_int(rng, 1, 3))).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        node: Node = {
            "id": self.new_id(),
            "name": f"{geo_label} {age_label} {angle} - {placement_label}",
            "campaign_id": campaign["id"],
            "account_id": account.account_id,
            "status": switch,
            "configured_status": switch,
            "effective_status": effective,
            "billing_event": billing,
            "optimization_goal": goal,
            "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
            "destination_type": "APP" if goal == "APP_INSTALLS" else "WEBSITE",
            "start_time": _time(start_local),
            "created_time": _time(created),
            "updated_time": _time(created + timedelta(hours=_int(rng, 1, 900))),
            "targeting": targeting,
        }
        step = _MINOR_STEP.get(account.currency, 500)
        if "daily_budget" in campaign:
            node["daily_budget"] = "0"
            node["lifetime_budget"] = "0"
        elif index % 3 == 1:
            amount = step * _int(rng, 40, 2000)
            end = start_local + timedelta(days=_int(rng, 14, 60), hours=23, minutes=59)
            node["daily_budget"] = "0"
            node["lifetime_budget"] = str(amount)
            node["budget_remaining"] = str(amount // _int(rng, 1, 4))
            node["end_time"] = _time(end)
        else:
            node["daily_budget"] = str(step * _int(rng, 4, 100))
            node["lifetime_budget"] = "0"
            if rng.random() < 0.25:
                node["end_time"] = _time(start_local + timedelta(days=_int(rng, 7, 90)))
        if rng.random() < 0.1:
            node["bid_strategy"] = "LOWEST_COST_WITH_BID_CAP"
            node["bid_amount"] = _int(rng, 50, 900)
            node["bid_info"] = {"ACTIONS": node["bid_amount"]}
        return node

    def _statuses(self, campaign: Node, index: int) -> tuple[str, str]:
        """(configured switch, effective_status) given the campaign's own switch."""
        if index < len(_OWN):  # the first ad sets of an account show every status
            own_switch, own_effective = _OWN[index][0], _OWN[index][1]
        else:
            own_switch, own_effective = _pick(self.rng, _OWN_DRAW)
        parent = campaign["configured_status"]
        if own_switch in ("DELETED", "ARCHIVED") or parent == "ACTIVE":
            return own_switch, own_effective
        if parent in ("DELETED", "ARCHIVED"):
            return own_switch, parent
        # A paused campaign pauses its running children.
        return own_switch, "CAMPAIGN_PAUSED" if own_switch == "ACTIVE" else "PAUSED"


def build_seed(large_adsets: int = 1200) -> MetaSeed:
    """The seeded accounts: a large USD account with ``large_adsets`` ad sets, a JPY
    account, an account without ad sets and a EUR account."""
    specs = [
        _AccountSpec("100231457700182", "Acme Outdoor US", "USD", "America/Los_Angeles", "US",
                     large_adsets),
        _AccountSpec("100231457700219", "Acme Outdoor Japan", "JPY", "Asia/Tokyo", "JP", 48),
        _AccountSpec("100231457700305", "Acme Outdoor UK (new)", "GBP", "Europe/London", "US", 0),
        _AccountSpec("100231457700341", "Acme Outdoor DACH", "EUR", "Europe/Berlin", "DE", 31),
    ]  # fmt: skip
    rng = random.Random(20260401)
    next_id = [120210000000000000]
    builder = _Builder(rng, next_id)
    seed = MetaSeed(data=[builder.build(spec) for spec in specs])
    adset_values = {a["effective_status"] for d in seed.data for a in d.adsets}
    assert set(ADSET_EFFECTIVE_STATUSES) >= adset_values
    assert set(CAMPAIGN_EFFECTIVE_STATUSES) >= {
        c["effective_status"] for d in seed.data for c in d.campaigns
    }
    return seed
