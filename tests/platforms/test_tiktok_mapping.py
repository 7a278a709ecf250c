"""TikTok mapping on raw v1.3 payloads: statuses, budgets, times, targeting, malformed rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.platforms.base import AdSetStatus, AgeRange, Money, Platform
from gateway.platforms.payload import PayloadError
from gateway.platforms.tiktok import mapping
from gateway.platforms.tiktok.geonames import COUNTRY_BY_GEONAME_ID, GEONAME_ID_BY_COUNTRY
from gateway.platforms.tiktok.statuses import (
    PRIMARY_STATUS_FILTERS,
    SECONDARY_STATUSES,
    STATUS_TABLE,
    primary_status_filter,
    status_of,
)

ADVERTISER = "7012345678901234567"


def adgroup(**overrides: Any) -> dict[str, Any]:
    """The first ad group of platforms.md's example 2.7, with overrides."""
    row: dict[str, Any] = {
        "adgroup_id": "1790000000000102",
        "adgroup_name": "US Women 25-44 - Conversions",
        "campaign_id": "1790000000000001",
        "advertiser_id": ADVERTISER,
        "operation_status": "ENABLE",
        "secondary_status": "ADGROUP_STATUS_DELIVERY_OK",
        "budget_mode": "BUDGET_MODE_DAY",
        "budget": 75.0,
        "schedule_type": "SCHEDULE_FROM_NOW",
        "schedule_start_time": "2026-04-01 07:00:00",
        "schedule_end_time": "2036-04-01 07:00:00",
        "optimization_goal": "CONVERT",
        "billing_event": "OCPM",
        "placement_type": "PLACEMENT_TYPE_NORMAL",
        "placements": ["PLACEMENT_TIKTOK"],
        "location_ids": ["6252001"],
        "age_groups": ["AGE_25_34", "AGE_35_44"],
        "audience_ids": ["7100000000000000001"],
        "create_time": "2026-03-30 18:02:11",
    }
    row.update(overrides)
    return row


def test_example_ad_group_maps_every_field() -> None:
    # Given the documented example row; when mapped in a USD account
    record = mapping.map_adgroup(adgroup(), account_id=ADVERTISER, currency="USD")

    # Then every field has the contract's shape
    assert record.platform is Platform.TIKTOK_ADS
    assert record.external_id == "1790000000000102"
    assert record.account_external_id == ADVERTISER
    assert record.campaign_external_id == "1790000000000001"
    assert record.name == "US Women 25-44 - Conversions"
    assert record.status is AdSetStatus.ACTIVE
    assert record.platform_status == "ADGROUP_STATUS_DELIVERY_OK"
    assert record.optimization_goal == "convert"
    assert record.billing_event == "ocpm"
    assert record.daily_budget == Money(75.0, "USD")
    assert record.lifetime_budget is None
    assert record.start_time == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)
    assert record.end_time is None  # SCHEDULE_FROM_NOW reports a far-future end
    assert record.created_at == datetime(2026, 3, 30, 18, 2, 11, tzinfo=UTC)
    assert record.targeting.geo == ("US",)
    assert record.targeting.age == AgeRange(25, 44)
    assert record.targeting.custom_audiences == ("7100000000000000001",)
    assert record.targeting.placements == ("tiktok_feed",)


def test_deleted_lifetime_automatic_ad_group() -> None:
    # Given the example's second row: deleted, lifetime budget, automatic placements
    raw = adgroup(
        operation_status="DISABLE",
        secondary_status="ADGROUP_STATUS_DELETE",
        budget_mode="BUDGET_MODE_TOTAL",
        budget=500.0,
        schedule_type="SCHEDULE_START_END",
        schedule_start_time="2026-02-01 00:00:00",
        schedule_end_time="2026-02-28 23:59:59",
        optimization_goal="CLICK",
        billing_event="CPC",
        placement_type="PLACEMENT_TYPE_AUTOMATIC",
        placements=["PLACEMENT_TIKTOK", "PLACEMENT_PANGLE"],
        age_groups=None,
        audience_ids=[],
    )

    record = mapping.map_adgroup(raw, account_id=ADVERTISER, currency="EUR")

    assert record.status is AdSetStatus.DELETED
    assert record.platform_status == "ADGROUP_STATUS_DELETE"
    assert record.daily_budget is None
    assert record.lifetime_budget == Money(500.0, "EUR")
    assert record.end_time == datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)
    assert record.targeting.placements == ()
    assert record.targeting.age is None
    assert record.targeting.custom_audiences == ()
    assert (record.optimization_goal, record.billing_event) == ("click", "cpc")


@pytest.mark.parametrize(
    ("mode", "budget", "daily", "lifetime"),
    [
        ("BUDGET_MODE_DAY", 50, Money(50.0, "JPY"), None),
        ("BUDGET_MODE_DYNAMIC_DAILY_BUDGET", 20.5, Money(20.5, "JPY"), None),
        ("BUDGET_MODE_TOTAL", 1500.0, None, Money(1500.0, "JPY")),
        ("BUDGET_MODE_INFINITE", 0.0, None, None),  # campaign budget (CBO)
        ("BUDGET_MODE_DAY", 0.0, None, None),  # a zero budget is no budget
        ("BUDGET_MODE_SOMETHING_NEW", 10.0, None, None),
    ],
)
def test_budget_modes(
    mode: str, budget: float, daily: Money | None, lifetime: Money | None
) -> None:
    assert mapping.budgets({"budget_mode": mode, "budget": budget}, "JPY") == (daily, lifetime)


def test_lifetime_budget_keeps_its_end_time_even_from_now() -> None:
    raw = adgroup(budget_mode="BUDGET_MODE_TOTAL", budget=900.0, schedule_type="SCHEDULE_FROM_NOW")

    record = mapping.map_adgroup(raw, account_id=ADVERTISER, currency="USD")

    assert record.end_time == datetime(2036, 4, 1, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (["AGE_25_34", "AGE_35_44"], AgeRange(25, 44)),
        (["AGE_55_100"], AgeRange(55, None)),
        (["AGE_18_24", "AGE_45_54"], AgeRange(18, 54)),
        (["AGE_35_44", "AGE_18_24"], AgeRange(18, 44)),
        ([], None),
        (None, None),
        (
            ["AGE_13_17", "AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_100"],
            None,
        ),
        (["AGE_UNKNOWN"], None),
    ],
)
def test_age_groups(groups: list[str] | None, expected: AgeRange | None) -> None:
    raw = adgroup(age_groups=groups)
    if groups is None:
        del raw["age_groups"]

    assert mapping.targeting(raw).age == expected


@pytest.mark.parametrize(
    ("placement_type", "placements", "expected"),
    [
        ("PLACEMENT_TYPE_AUTOMATIC", ["PLACEMENT_TIKTOK"], ()),
        (
            "PLACEMENT_TYPE_NORMAL",
            ["PLACEMENT_TIKTOK", "PLACEMENT_PANGLE"],
            ("tiktok_feed", "pangle"),
        ),
        ("PLACEMENT_TYPE_NORMAL", ["PLACEMENT_GLOBAL_APP_BUNDLE"], ("global_app_bundle",)),
        ("PLACEMENT_TYPE_NORMAL", ["PLACEMENT_TOPBUZZ"], ("topbuzz",)),
        ("PLACEMENT_TYPE_NORMAL", [], ()),
    ],
)
def test_placements(placement_type: str, placements: list[str], expected: tuple[str, ...]) -> None:
    raw = adgroup(placement_type=placement_type, placements=placements)

    assert mapping.targeting(raw).placements == expected


def test_geo_resolves_countries_and_keeps_other_location_ids() -> None:
    # Given countries, a region (California) and a duplicate
    raw = adgroup(location_ids=["6252001", "6251999", "5332921", "2635167", "6252001"])

    assert mapping.targeting(raw).geo == ("US", "CA", "5332921", "GB")


def test_geonames_table_covers_the_world_with_verified_ids() -> None:
    assert len(COUNTRY_BY_GEONAME_ID) >= 249
    expected = {
        "US": "6252001",
        "CA": "6251999",
        "GB": "2635167",
        "DE": "2921044",
        "FR": "3017382",
        "JP": "1861060",
        "AU": "2077456",
        "BR": "3469034",
        "IN": "1269750",
        "MX": "3996063",
    }
    assert {code: GEONAME_ID_BY_COUNTRY[code] for code in expected} == expected
    assert all(len(code) == 2 and code.isupper() for code in GEONAME_ID_BY_COUNTRY)


def test_status_table_maps_every_secondary_status_once() -> None:
    secondaries = [v for values in STATUS_TABLE.values() for v in values if v in SECONDARY_STATUSES]
    assert sorted(secondaries) == sorted(SECONDARY_STATUSES)
    assert set(STATUS_TABLE) == set(AdSetStatus)
    assert "ADGROUP_STATUS_TIME_DONE" in STATUS_TABLE[AdSetStatus.ARCHIVED]
    assert "ADGROUP_STATUS_CAMPAIGN_DELETE" in STATUS_TABLE[AdSetStatus.DELETED]
    assert "ADGROUP_STATUS_AUDIT_DENY" in STATUS_TABLE[AdSetStatus.REJECTED]
    assert "ADGROUP_STATUS_AUDIT" in STATUS_TABLE[AdSetStatus.IN_REVIEW]
    assert "ADGROUP_STATUS_BUDGET_EXCEED" in STATUS_TABLE[AdSetStatus.ACTIVE]


@pytest.mark.parametrize(
    ("secondary", "operation", "expected"),
    [
        ("ADGROUP_STATUS_CAMPAIGN_DISABLE", "ENABLE",
         (AdSetStatus.PAUSED, "ADGROUP_STATUS_CAMPAIGN_DISABLE")),
        ("ADGROUP_STATUS_FROZEN", "FROZEN", (AdSetStatus.ARCHIVED, "ADGROUP_STATUS_FROZEN")),
        (None, "ENABLE", (AdSetStatus.ACTIVE, "ENABLE")),
        (None, "DISABLE", (AdSetStatus.PAUSED, "DISABLE")),
        (None, "FROZEN", (AdSetStatus.ARCHIVED, "FROZEN")),
        ("ADGROUP_STATUS_BRAND_NEW", "ENABLE", (AdSetStatus.ACTIVE, "ENABLE")),
        ("ADGROUP_STATUS_BRAND_NEW", None, (AdSetStatus.PAUSED, "ADGROUP_STATUS_BRAND_NEW")),
        (None, "SOMETHING", (AdSetStatus.PAUSED, "SOMETHING")),
    ],
)  # fmt: skip
def test_status_falls_back_on_the_switch(
    secondary: str | None, operation: str | None, expected: tuple[AdSetStatus, str]
) -> None:
    assert status_of({"secondary_status": secondary, "operation_status": operation}) == expected


def test_status_without_any_status_field_is_malformed() -> None:
    with pytest.raises(PayloadError):
        status_of({})


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (None, "STATUS_ALL"),
        (frozenset(AdSetStatus), "STATUS_ALL"),
        (frozenset({AdSetStatus.DELETED}), "STATUS_DELETE"),
        (frozenset({AdSetStatus.PAUSED}), "STATUS_DISABLE"),
        (frozenset(set(AdSetStatus) - {AdSetStatus.DELETED}), "STATUS_NOT_DELETE"),
        (frozenset({AdSetStatus.ACTIVE}), None),  # also enabled-but-not-delivering rows
        (frozenset({AdSetStatus.ARCHIVED}), None),  # TIME_DONE + FROZEN + R&F closed
        (frozenset({AdSetStatus.PAUSED, AdSetStatus.DELETED}), None),
    ],
)
def test_push_down_only_when_one_primary_status_is_exact(
    statuses: frozenset[AdSetStatus] | None, expected: str | None
) -> None:
    value = primary_status_filter(statuses)

    assert value == expected
    if value is not None and statuses is not None:
        # the filter selects exactly the secondary statuses our table maps into the set
        selected = {s for s, row in SECONDARY_STATUSES.items() if row.ours in statuses}
        assert PRIMARY_STATUS_FILTERS[value] == selected


@pytest.mark.parametrize(
    "bad",
    [
        {"adgroup_id": None},
        {"campaign_id": ["x"]},
        {"budget": "75"},
        {"schedule_start_time": "2026-04-01T07:00:00Z"},
        {"location_ids": "6252001"},
        {"audience_ids": [{"id": 1}]},
        {"secondary_status": ["x"], "operation_status": None},
    ],
)
def test_wrong_types_raise_payload_error(bad: dict[str, Any]) -> None:
    with pytest.raises(PayloadError):
        mapping.map_adgroup(adgroup(**bad), account_id=ADVERTISER, currency="USD")


def test_numeric_ids_and_empty_times_are_tolerated() -> None:
    raw = adgroup(adgroup_id=1790000000000102, schedule_end_time="", create_time=None)
    raw["schedule_type"] = "SCHEDULE_START_END"

    record = mapping.map_adgroup(raw, account_id=ADVERTISER, currency="USD")

    assert record.external_id == "1790000000000102"
    assert record.end_time is None
    assert record.created_at is None


def test_campaign_and_advertiser_mapping() -> None:
    campaign = mapping.map_campaign(
        {
            "campaign_id": "1780000000000003",
            "campaign_name": "Q2 Launch",
            "advertiser_id": ADVERTISER,
            "objective_type": "WEB_CONVERSIONS",
            "operation_status": "DISABLE",
            "secondary_status": "CAMPAIGN_STATUS_DELETE",
            "budget_mode": "BUDGET_MODE_DAY",
            "budget": 200.0,
            "budget_optimize_on": True,
        },
        account_id=ADVERTISER,
        currency="USD",
    )
    info = mapping.map_advertiser(
        {"advertiser_id": ADVERTISER, "name": "Acme", "currency": "USD", "timezone": "Etc/GMT+5"}
    )

    assert campaign.platform_status == "CAMPAIGN_STATUS_DELETE"
    assert campaign.objective == "WEB_CONVERSIONS"
    assert campaign.daily_budget == Money(200.0, "USD")
    assert (info.currency, info.timezone, info.name) == ("USD", "Etc/GMT+5", "Acme")
