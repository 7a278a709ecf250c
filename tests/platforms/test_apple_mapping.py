"""Apple v1 payloads -> domain records: pure mapping on raw JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.platforms.apple import STATUS_TABLE, map_status
from gateway.platforms.apple.mapping import (
    map_account,
    map_adgroup,
    map_age,
    map_campaign,
    parse_time,
)
from gateway.platforms.apple.phases import plan_phases
from gateway.platforms.base import (
    AdSetQuery,
    AdSetStatus,
    AgeRange,
    CampaignRecord,
    Money,
    Platform,
)
from gateway.platforms.payload import PayloadError

CAMPAIGN: dict[str, Any] = {
    "id": 444000111,
    "adAccountId": 123456789,
    "name": "US Brand",
    "billingEvent": "TAPS",
    "promotedObjectType": "APPSTORE_APP",
    "promotedObjectId": "987654321",
    "status": "ENABLED",
    "displayStatus": "RUNNING",
    "dailyBudget": {"value": {"amount": "100.00", "currency": "USD"}},
    "targeting": {
        "supplySource": {"include": ["APPSTORE"]},
        "supplyPlacement": {"include": ["APPSTORE_SEARCH_RESULTS", "APPSTORE_SEARCH_TAB"]},
        "countryOrRegion": {"include": ["US", "CA"]},
    },
    "deleted": False,
}


def adgroup(**overrides: Any) -> dict[str, Any]:
    """The v1 ad group of platforms.md 3.6, with overrides."""
    raw: dict[str, Any] = {
        "id": 555000001,
        "name": "US Brand - exact",
        "adAccountId": 123456789,
        "campaignId": 444000111,
        "startTime": "2026-04-01T07:00:00.000",
        "endTime": None,
        "pricingModel": "CPT",
        "status": "ENABLED",
        "systemStatus": "RUNNING",
        "displayStatus": "RUNNING",
        "bidStrategy": {
            "bidStrategyType": "MANUAL_CPT",
            "bidStrategyGoal": "TAP",
            "bid": {"amount": "1.75", "currency": "USD"},
        },
        "targeting": {
            "deviceClass": {"include": ["IPHONE"]},
            "minAge": {"include": ["18"]},
            "maxAge": {"include": ["34"]},
            "appDownloader": {"exclude": ["1234567890"]},
        },
        "deleted": False,
        "creationTime": "2026-03-30T18:02:11.000",
        "modificationTime": "2026-04-02T15:20:11.402",
    }
    raw.update(overrides)
    return raw


def campaign_record() -> CampaignRecord:
    return map_campaign(CAMPAIGN, "123456789")


def test_documented_adgroup_maps_every_field() -> None:
    # Given the documented v1 example and its campaign
    # When it is mapped
    record = map_adgroup(adgroup(), "123456789", campaign_record())

    # Then every field is in the contract's vocabulary
    assert record.platform is Platform.APPLE_ADS
    assert record.external_id == "555000001"
    assert record.campaign_external_id == "444000111"
    assert record.account_external_id == "123456789"
    assert record.name == "US Brand - exact"
    assert record.status is AdSetStatus.ACTIVE
    assert record.platform_status == "ENABLED"
    assert record.optimization_goal == "tap"
    assert record.billing_event == "cpt"
    assert record.daily_budget is None
    assert record.lifetime_budget is None
    assert record.start_time == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)
    assert record.end_time is None
    assert record.created_at == datetime(2026, 3, 30, 18, 2, 11, tzinfo=UTC)
    assert record.targeting.geo == ("US", "CA")
    assert record.targeting.age == AgeRange(18, 34)
    assert record.targeting.custom_audiences == ()
    assert record.targeting.placements == ("appstore_search_results", "appstore_search_tab")


def test_deleted_flag_wins_over_status_and_start_may_be_null() -> None:
    raw = adgroup(deleted=True, status="ENABLED", startTime=None, displayStatus="DELETED")

    record = map_adgroup(raw, "1", None)

    assert record.status is AdSetStatus.DELETED
    assert record.platform_status == "DELETED"
    assert record.start_time is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": "ENABLED", "displayStatus": "RUNNING"}, (AdSetStatus.ACTIVE, "ENABLED")),
        (
            {"status": "ENABLED", "systemStatus": "NOT_RUNNING", "displayStatus": "ON_HOLD"},
            (AdSetStatus.ACTIVE, "ENABLED/ON_HOLD"),
        ),
        ({"status": "PAUSED", "displayStatus": "PAUSED"}, (AdSetStatus.PAUSED, "PAUSED")),
        ({"status": "ARCHIVED_SOMEDAY"}, (AdSetStatus.PAUSED, "ARCHIVED_SOMEDAY")),
        ({"status": None}, (AdSetStatus.PAUSED, "UNKNOWN")),
        ({"status": "PAUSED", "deleted": True}, (AdSetStatus.DELETED, "DELETED")),
    ],
)
def test_status_mapping_never_crashes(
    fields: dict[str, Any], expected: tuple[AdSetStatus, str]
) -> None:
    assert map_status(fields) == expected


def test_status_table_names_apple_values_and_leaves_the_rest_empty() -> None:
    assert STATUS_TABLE[AdSetStatus.ACTIVE] == ("ENABLED",)
    assert STATUS_TABLE[AdSetStatus.PAUSED] == ("PAUSED",)
    assert STATUS_TABLE[AdSetStatus.DELETED] == ("deleted:true",)
    for status in (AdSetStatus.ARCHIVED, AdSetStatus.IN_REVIEW, AdSetStatus.REJECTED):
        assert STATUS_TABLE[status] == ()
    assert set(STATUS_TABLE) == set(AdSetStatus)


@pytest.mark.parametrize(
    ("targeting", "expected"),
    [
        ({}, None),
        ({"deviceClass": {"include": ["IPHONE"]}}, None),
        ({"minAge": {"include": ["35"]}}, AgeRange(35, None)),
        ({"minAge": {"include": ["25"]}, "maxAge": {"include": ["54"]}}, AgeRange(25, 54)),
        ({"maxAge": {"include": ["34"]}}, AgeRange(18, 34)),
        ({"minAge": {"include": ["21"]}, "maxAge": {"include": None}}, AgeRange(21, None)),
        ({"minAge": None, "maxAge": None}, None),
    ],
)
def test_age_from_min_and_max_dimensions(
    targeting: dict[str, Any], expected: AgeRange | None
) -> None:
    assert map_age(targeting) == expected


def test_null_targeting_and_unknown_campaign_give_empty_summary() -> None:
    record = map_adgroup(adgroup(targeting=None), "1", None)

    assert record.targeting.geo == ()
    assert record.targeting.age is None
    assert record.targeting.placements == ()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-04-01T07:00:00.000", datetime(2026, 4, 1, 7, tzinfo=UTC)),
        ("2024-10-20T20:37:21.146Z", datetime(2024, 10, 20, 20, 37, 21, 146000, tzinfo=UTC)),
        ("2026-04-01T07:00:00", datetime(2026, 4, 1, 7, tzinfo=UTC)),
        ("2026-04-01T09:00:00.000+02:00", datetime(2026, 4, 1, 7, tzinfo=UTC)),
        (None, None),
    ],
)
def test_times_become_aware_utc(raw: str | None, expected: datetime | None) -> None:
    parsed = parse_time(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


def test_campaign_maps_countries_placements_and_daily_budget() -> None:
    record = campaign_record()

    assert record.external_id == "444000111"
    assert record.countries == ("US", "CA")
    assert record.placements == ("appstore_search_results", "appstore_search_tab")
    assert record.daily_budget == Money(100.0, "USD")
    assert record.lifetime_budget is None
    assert record.platform_status == "ENABLED"
    assert record.objective == "appstore_app"


def test_campaign_with_only_a_supply_source_has_the_bare_network() -> None:
    raw = {**CAMPAIGN, "targeting": {"supplySource": {"include": ["MAPS"]}}, "deleted": True}

    record = map_campaign(raw, "1")

    assert record.placements == ("maps",)
    assert record.countries == ()
    assert record.platform_status == "DELETED"


def test_campaign_without_targeting_or_budget() -> None:
    raw = {"id": 1, "name": "Bare", "status": "PAUSED", "targeting": None, "dailyBudget": None}

    record = map_campaign(raw, "1")

    assert (record.countries, record.placements, record.daily_budget) == ((), (), None)


def test_account_maps_name_currency_timezone() -> None:
    raw = {"id": 4001, "name": "Acme", "currency": "EUR", "timezone": "Europe/Berlin"}

    info = map_account(raw, "4001")

    assert (info.name, info.currency, info.timezone) == ("Acme", "EUR", "Europe/Berlin")


@pytest.mark.parametrize(
    "raw",
    [
        adgroup(id=None),
        adgroup(campaignId=[1]),
        adgroup(startTime="yesterday"),
        adgroup(endTime=17),
        adgroup(targeting=["minAge"]),
        adgroup(targeting={"minAge": {"include": ["eighteen"]}}),
        adgroup(bidStrategy="TAP"),
        "not an object",
    ],
)
def test_malformed_adgroups_raise_payload_error(raw: Any) -> None:
    with pytest.raises(PayloadError):
        map_adgroup(raw, "1", None)


@pytest.mark.parametrize(
    "raw",
    [
        {**CAMPAIGN, "dailyBudget": {"value": {"amount": "lots", "currency": "USD"}}},
        {**CAMPAIGN, "dailyBudget": {"value": {"amount": "1.00"}}},
        {**CAMPAIGN, "targeting": {"countryOrRegion": {"include": "US"}}},
        {**CAMPAIGN, "name": None},
    ],
)
def test_malformed_campaigns_raise_payload_error(raw: Any) -> None:
    with pytest.raises(PayloadError):
        map_campaign(raw, "1")


def test_filter_plan_pushes_every_status_set_down() -> None:
    deleted_true = {"field": "deleted", "operator": "EQUALS", "value": True}
    deleted_false = {"field": "deleted", "operator": "EQUALS", "value": False}

    assert plan_phases(AdSetQuery()) == [[deleted_false], [deleted_true]]
    assert plan_phases(AdSetQuery(statuses=frozenset({AdSetStatus.ACTIVE}))) == [
        [deleted_false, {"field": "status", "operator": "IN", "value": ["ENABLED"]}]
    ]
    assert plan_phases(AdSetQuery(statuses=frozenset({AdSetStatus.DELETED}))) == [[deleted_true]]
    assert plan_phases(
        AdSetQuery(statuses=frozenset({AdSetStatus.ACTIVE, AdSetStatus.PAUSED}))
    ) == [[deleted_false]]
    assert plan_phases(AdSetQuery(statuses=frozenset({AdSetStatus.REJECTED}))) == []
    campaign = {"field": "campaignId", "operator": "EQUALS", "value": 444}
    assert plan_phases(
        AdSetQuery(campaign_external_id="444", statuses=frozenset({AdSetStatus.DELETED}))
    ) == [[campaign, deleted_true]]
    assert plan_phases(AdSetQuery(campaign_external_id="cmp_x")) == []
