"""Seeded, deterministic Apple Ads v1 data: the generators of API users, ad accounts,
campaigns and ad groups, and ``build_seed``. The model lives in ``model``, the tables drawn
from in ``tables``."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from gateway.platforms.base import AccountRef, Platform
from gateway.sandbox.apple import keys
from gateway.sandbox.apple.model import (
    ENABLED,
    PAUSED,
    AccountData,
    ApiUser,
    AppleSeed,
    Row,
    apple_time,
)
from gateway.sandbox.apple.tables import (
    AGES,
    BIDS,
    EU_CAMPAIGNS,
    LARGE_CAMPAIGNS,
    MAPS_CAMPAIGNS,
    THEMES,
    CampaignSpec,
)

__all__ = ["AppleSeed", "build_seed"]

#: Naive UTC: the seed works in UTC throughout and formats without an offset.
_EPOCH = datetime(2025, 1, 6, 9, 0)


def _between(rng: random.Random, low: int, high: int) -> int:
    """``rng.randint`` without its overhead (seed building runs it ~60k times)."""
    return low + int(rng.random() * (high - low + 1))


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
    spec: CampaignSpec, cid: int, account_id: int, currency: str, rng: random.Random
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
        bid_type, goal, pricing = BIDS[3] if rng.random() < 0.7 else BIDS[0]
    else:
        bid_type, goal, pricing = BIDS[rng.randrange(3)]
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
        low, high = AGES[k % len(AGES)]
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
    theme = THEMES[k % len(THEMES)]
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
    specs: Sequence[CampaignSpec],
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
            specs=LARGE_CAMPAIGNS,
            adgroups=large_adsets,
            rng=rng,
        ),
        "4001002": _account(
            account_id=4_001_002,
            name="Acme Fitness — EU",
            currency="EUR",
            timezone="Europe/Berlin",
            specs=EU_CAMPAIGNS,
            adgroups=36,
            rng=rng,
        ),
        "4001003": _account(
            account_id=4_001_003,
            name="Acme Stores — Maps",
            currency="GBP",
            timezone="Europe/London",
            specs=MAPS_CAMPAIGNS,
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
