"""Meta mapping, status table and currency offsets, on raw Graph payloads."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.platforms.base import AdSetStatus, AgeRange, Money, Platform, TargetingSummary
from gateway.platforms.meta import STATUS_TABLE, effective_status_filter, status_of
from gateway.platforms.meta.currency import budget, currency_offset
from gateway.platforms.meta.mapping import (
    age_range,
    map_account,
    map_adset,
    map_campaign,
    parse_time,
    placement_name,
    placements,
    targeting_summary,
)
from gateway.platforms.meta.statuses import EFFECTIVE_STATUSES, status_of_payload
from gateway.platforms.payload import PayloadError

# platforms.md section 1.9, first row.
ADSET: dict[str, Any] = {
    "id": "120210000000000101",
    "name": "US 18-34 Prospecting",
    "campaign_id": "120210000000000001",
    "account_id": "1234567890",
    "status": "ACTIVE",
    "configured_status": "ACTIVE",
    "effective_status": "ACTIVE",
    "daily_budget": "5000",
    "lifetime_budget": "0",
    "billing_event": "IMPRESSIONS",
    "optimization_goal": "OFFSITE_CONVERSIONS",
    "start_time": "2026-04-01T00:00:00-0700",
    "created_time": "2026-03-28T10:15:02-0700",
    "targeting": {
        "age_min": 18,
        "age_max": 34,
        "geo_locations": {"countries": ["US"], "location_types": ["home", "recent"]},
        "custom_audiences": [{"id": "23850000000000001", "name": "Site visitors 30d"}],
        "publisher_platforms": ["facebook", "instagram"],
        "facebook_positions": ["feed", "story"],
        "instagram_positions": ["stream", "story", "reels"],
        "device_platforms": ["mobile"],
    },
}


def adset(**changes: Any) -> dict[str, Any]:
    row = copy.deepcopy(ADSET)
    for key, value in changes.items():
        if value is None:
            row.pop(key, None)
        else:
            row[key] = value
    return row


def test_a_documented_ad_set_maps_to_every_contract_field() -> None:
    record = map_adset(ADSET, account_id="act_1234567890", currency="USD")

    assert record.platform is Platform.META_ADS
    assert record.external_id == "120210000000000101"
    assert record.account_external_id == "act_1234567890"
    assert record.campaign_external_id == "120210000000000001"
    assert record.name == "US 18-34 Prospecting"
    assert record.status is AdSetStatus.ACTIVE
    assert record.platform_status == "ACTIVE"
    assert record.optimization_goal == "offsite_conversions"
    assert record.billing_event == "impressions"
    assert record.daily_budget == Money(50.0, "USD")
    assert record.lifetime_budget is None
    assert record.start_time == datetime(2026, 4, 1, 7, 0, tzinfo=UTC)
    assert record.end_time is None
    assert record.created_at == datetime(2026, 3, 28, 17, 15, 2, tzinfo=UTC)
    assert record.targeting == TargetingSummary(
        geo=("US",),
        age=AgeRange(18, 34),
        custom_audiences=("23850000000000001",),
        placements=(
            "facebook_feed",
            "facebook_story",
            "instagram_feed",
            "instagram_story",
            "instagram_reels",
        ),
    )


def test_lifetime_budget_with_end_time_under_a_paused_campaign() -> None:
    raw = adset(
        effective_status="CAMPAIGN_PAUSED",
        daily_budget="0",
        lifetime_budget="120000",
        end_time="2026-05-31T23:59:00-0700",
    )

    record = map_adset(raw, account_id="act_1", currency="USD")

    assert record.status is AdSetStatus.PAUSED
    assert record.platform_status == "CAMPAIGN_PAUSED"
    assert record.daily_budget is None
    assert record.lifetime_budget == Money(1200.0, "USD")
    assert record.end_time == datetime(2026, 6, 1, 6, 59, tzinfo=UTC)


def test_campaign_budget_ad_sets_have_no_budget() -> None:
    for raw in (adset(daily_budget="0", lifetime_budget="0"), adset(daily_budget=None)):
        record = map_adset(raw, account_id="act_1", currency="USD")
        assert record.daily_budget is None
        assert record.lifetime_budget is None


@pytest.mark.parametrize(
    ("currency", "minor", "major"),
    [("USD", "5000", 50.0), ("EUR", "1999", 19.99), ("JPY", "5000", 5000.0), ("krw", "700", 700.0)],
)
def test_budgets_divide_minor_units_by_the_currency_offset(
    currency: str, minor: str, major: float
) -> None:
    assert budget({"daily_budget": minor}, "daily_budget", currency) == Money(
        major, currency.upper()
    )


def test_zero_offset_currencies_are_the_documented_list() -> None:
    ones = {"CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND"}
    assert all(currency_offset(c) == 1 for c in ones)
    assert currency_offset("USD") == currency_offset("GBP") == currency_offset("BRL") == 100


def test_a_budget_that_is_not_a_number_is_malformed() -> None:
    with pytest.raises(PayloadError):
        budget({"daily_budget": "50.00 USD"}, "daily_budget", "USD")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-04-01T00:00:00-0700", datetime(2026, 4, 1, 7, tzinfo=UTC)),
        ("2026-01-10T09:30:00+0900", datetime(2026, 1, 10, 0, 30, tzinfo=UTC)),
        ("2026-01-10T09:30:00+01:00", datetime(2026, 1, 10, 8, 30, tzinfo=UTC)),
        ("2026-01-10T09:30:00", datetime(2026, 1, 10, 9, 30, tzinfo=UTC)),
        ("1970-01-01T00:00:00+0000", None),
    ],
)
def test_times_become_aware_utc(text: str, expected: datetime | None) -> None:
    parsed = parse_time({"t": text}, "t")
    assert parsed == expected
    assert parsed is None or parsed.utcoffset() is not None


def test_a_garbled_time_is_malformed() -> None:
    with pytest.raises(PayloadError):
        parse_time({"t": "next tuesday"}, "t")


@pytest.mark.parametrize(
    ("targeting", "expected"),
    [
        ({}, None),
        ({"age_min": 18, "age_max": 65}, None),
        ({"age_min": 25, "age_max": 65}, AgeRange(25, None)),
        ({"age_min": 21}, AgeRange(21, None)),
        ({"age_max": 44}, AgeRange(18, 44)),
        ({"age_min": 13, "age_max": 65}, None),
        ({"age_min": "25", "age_max": "34"}, AgeRange(25, 34)),
    ],
)
def test_age_ranges(targeting: dict[str, Any], expected: AgeRange | None) -> None:
    assert age_range(targeting) == expected


def test_geo_takes_countries_then_the_country_of_regions_and_cities() -> None:
    summary = targeting_summary(
        {
            "geo_locations": {
                "countries": ["us"],
                "regions": [{"key": "4081", "name": "California", "country": "US"}],
                "cities": [
                    {"key": "777934", "radius": 10, "distance_unit": "mile", "country": "CA"},
                    {"key": "1", "radius": 5},
                ],
                "location_types": ["home"],
            },
            "excluded_geo_locations": {"countries": ["MX"]},
        }
    )
    assert summary.geo == ("US", "CA")


@pytest.mark.parametrize(
    ("network", "position", "name"),
    [
        ("facebook", "feed", "facebook_feed"),
        ("facebook", "facebook_reels", "facebook_reels"),
        ("facebook", "marketplace", "facebook_marketplace"),
        ("instagram", "stream", "instagram_feed"),
        ("instagram", "reels", "instagram_reels"),
        ("instagram", "story", "instagram_story"),
        ("instagram", "ig_search", "instagram_search"),
        ("audience_network", "classic", "audience_network_classic"),
        ("messenger", "messenger_home", "messenger_home"),
        ("messenger", "story", "messenger_story"),
        ("threads", "threads_stream", "threads_feed"),
    ],
)
def test_placement_names(network: str, position: str, name: str) -> None:
    assert placement_name(network, position) == name


def test_placements_bare_networks_and_automatic() -> None:
    assert placements({}) == ()
    assert placements({"publisher_platforms": ["facebook", "messenger"]}) == (
        "facebook",
        "messenger",
    )
    assert placements(
        {"publisher_platforms": ["facebook", "instagram"], "facebook_positions": ["feed"]}
    ) == ("facebook_feed", "instagram")
    # Positions without publisher_platforms still name their network.
    assert placements({"instagram_positions": ["reels"]}) == ("instagram_reels",)


def test_placements_kept_by_their_fields_are_only_those_their_fields_decide() -> None:
    def mapped(targeting: dict[str, Any]) -> tuple[str, ...]:
        row = adset(targeting=targeting)
        return map_adset(row, account_id="act_1", currency="USD").targeting.placements

    # networks Meta does not document read positions fields outside the kept key
    oculus = {"publisher_platforms": ["oculus"], "oculus_positions": ["home"]}
    assert mapped(oculus) == ("oculus_home",)
    assert mapped({**oculus, "oculus_positions": ["store"]}) == ("oculus_store",)
    # a value of another type that orjson writes as a kept one (null) is still refused
    assert mapped({"facebook_positions": ["feed"]}) == ("facebook_feed",)
    with pytest.raises(PayloadError):
        mapped({"publisher_platforms": float("inf"), "facebook_positions": ["feed"]})
    # the same texts in a row mapped again give the placements kept for them
    assert mapped({"facebook_positions": ["feed"]}) == ("facebook_feed",)


def test_missing_targeting_is_an_empty_summary() -> None:
    record = map_adset(adset(targeting=None), account_id="act_1", currency="USD")
    assert record.targeting == TargetingSummary()


def test_every_effective_status_has_one_row_in_the_table() -> None:
    listed = [v for values in STATUS_TABLE.values() for v in values]
    assert sorted(listed) == sorted(set(listed)) == sorted(EFFECTIVE_STATUSES)
    assert set(STATUS_TABLE) == set(AdSetStatus)
    for ours, values in STATUS_TABLE.items():
        assert all(status_of(v, "ACTIVE") is ours for v in values)


@pytest.mark.parametrize(
    ("effective", "configured", "expected"),
    [
        ("SOMETHING_NEW", "ACTIVE", AdSetStatus.ACTIVE),
        ("SOMETHING_NEW", "PAUSED", AdSetStatus.PAUSED),
        (None, "DELETED", AdSetStatus.DELETED),
        ("SOMETHING_NEW", "WHATEVER", AdSetStatus.PAUSED),
        (None, None, AdSetStatus.PAUSED),
        ("with_issues", None, AdSetStatus.ACTIVE),
    ],
)
def test_unknown_statuses_fall_back_on_the_switch(
    effective: str | None, configured: str | None, expected: AdSetStatus
) -> None:
    assert status_of(effective, configured) is expected


def test_platform_status_is_the_raw_effective_status() -> None:
    assert status_of_payload({"effective_status": "NEW_STATE", "status": "ACTIVE"}) == (
        AdSetStatus.ACTIVE,
        "NEW_STATE",
    )
    assert status_of_payload({"status": "PAUSED"}) == (AdSetStatus.PAUSED, "PAUSED")
    with pytest.raises(PayloadError):
        status_of_payload({"id": "1"})


def test_status_push_down_names_exactly_the_mapped_values() -> None:
    assert effective_status_filter(None) == list(EFFECTIVE_STATUSES)
    assert "DELETED" in effective_status_filter(None)
    assert "ARCHIVED" in effective_status_filter(None)
    assert effective_status_filter({AdSetStatus.ACTIVE}) == ["ACTIVE", "WITH_ISSUES"]
    assert effective_status_filter({AdSetStatus.REJECTED, AdSetStatus.DELETED}) == [
        "DELETED",
        "DISAPPROVED",
    ]


@pytest.mark.parametrize(
    "broken",
    [
        {"id": None},
        {"campaign_id": None},
        {"name": 17.5},
        {"targeting": ["not", "an", "object"]},
        {"targeting": {"custom_audiences": [{"name": "no id"}]}},
        {"targeting": {"geo_locations": {"countries": "US"}}},
        {"start_time": 1711929600.5},
        {"daily_budget": True},
    ],
)
def test_wrong_shapes_raise_payload_errors(broken: dict[str, Any]) -> None:
    raw = copy.deepcopy(ADSET)
    raw.update(broken)
    with pytest.raises(PayloadError):
        map_adset(raw, account_id="act_1", currency="USD")


def test_campaign_and_account_nodes() -> None:
    campaign = map_campaign(
        {
            "id": "120210000000000001",
            "name": "Prospecting",
            "account_id": "1234567890",
            "objective": "OUTCOME_SALES",
            "status": "ACTIVE",
            "effective_status": "ACTIVE",
            "daily_budget": "250000",
        },
        account_id="act_1234567890",
        currency="JPY",
    )
    assert campaign.external_id == "120210000000000001"
    assert campaign.account_external_id == "act_1234567890"
    assert campaign.objective == "OUTCOME_SALES"
    assert campaign.platform_status == "ACTIVE"
    assert campaign.daily_budget == Money(250000.0, "JPY")
    assert campaign.lifetime_budget is None

    info = map_account(
        {
            "id": "act_1234567890",
            "account_id": "1234567890",
            "name": "Acme",
            "currency": "EUR",
            "timezone_name": "Europe/Berlin",
            "account_status": 1,
        },
        account_id="act_1234567890",
    )
    assert (info.name, info.currency, info.timezone, info.platform_status) == (
        "Acme",
        "EUR",
        "Europe/Berlin",
        "1",
    )
    with pytest.raises(PayloadError):
        map_account({"id": "act_1", "currency": None}, account_id="act_1")
