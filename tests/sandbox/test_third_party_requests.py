"""Requests that published third-party clients of the platforms send (issue 11), answered the
way the platforms answer them, over HTTP to ``gateway sandbox``'s app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import orjson
import pytest

from gateway.platforms.base import Platform
from gateway.sandbox.apple import AppleSeed
from gateway.sandbox.suite import SandboxSuite
from gateway.sandbox.tiktok import TikTokSeed
from tests.sandbox.wire import SuiteHttp, suite_http

SUITE = SandboxSuite.build()


@pytest.fixture
async def h() -> AsyncIterator[SuiteHttp]:
    SUITE.reset()
    async with suite_http(SUITE) as client:
        yield client


# -- TikTok -----------------------------------------------------------------------------------


def campaigns_of(h: SuiteHttp) -> list[dict[str, Any]]:
    seed = SUITE.seeds[Platform.TIKTOK_ADS]
    assert isinstance(seed, TikTokSeed)
    return seed.advertisers[h.account(Platform.TIKTOK_ADS).external_id].campaigns


async def tiktok_campaign_ids(h: SuiteHttp, filtering: dict[str, str]) -> list[str]:
    body = await h.tiktok("/campaign/get/", {"filtering": filtering, "page_size": "1000"})
    assert body["code"] == 0, body
    return [row["campaign_id"] for row in body["data"]["list"]]


async def test_tiktok_campaigns_honour_campaign_status_all(h: SuiteHttp) -> None:
    everything = [r["campaign_id"] for r in campaigns_of(h)]
    deleted = [
        r["campaign_id"]
        for r in campaigns_of(h)
        if r["secondary_status"] == "CAMPAIGN_STATUS_DELETE"
    ]
    assert deleted

    assert await tiktok_campaign_ids(h, {"secondary_status": "CAMPAIGN_STATUS_ALL"}) == everything
    live = await tiktok_campaign_ids(h, {"secondary_status": "CAMPAIGN_STATUS_NOT_DELETE"})
    assert live == [c for c in everything if c not in deleted]
    assert await tiktok_campaign_ids(h, {}) == live


@pytest.mark.parametrize(
    "value", ["CAMPAIGN_STATUS_DELETE", "CAMPAIGN_STATUS_DISABLE", "CAMPAIGN_STATUS_ENABLE"]
)
async def test_tiktok_campaigns_honour_any_secondary_status(h: SuiteHttp, value: str) -> None:
    expected = [r["campaign_id"] for r in campaigns_of(h) if r["secondary_status"] == value]
    assert expected
    assert await tiktok_campaign_ids(h, {"secondary_status": value}) == expected


async def test_tiktok_ad_groups_of_a_deleted_secondary_status_are_listed(h: SuiteHttp) -> None:
    body = await h.tiktok(
        "/adgroup/get/",
        {"filtering": {"secondary_status": "ADGROUP_STATUS_DELETE"}, "page_size": "1000"},
    )
    rows = body["data"]["list"]
    assert rows
    assert {r["secondary_status"] for r in rows} == {"ADGROUP_STATUS_DELETE"}


async def test_tiktok_unknown_secondary_status_is_a_parameter_error(h: SuiteHttp) -> None:
    body = await h.tiktok("/campaign/get/", {"filtering": {"secondary_status": "NOPE"}})
    assert (body["code"], body["data"]) == (40002, {})


async def test_tiktok_user_info_checks_the_token(h: SuiteHttp) -> None:
    body = await h.tiktok("/user/info/")
    assert body["code"] == 0
    assert {"core_user_id", "display_name", "email", "create_time"} <= body["data"].keys()
    response = await h.http.get(
        "http://sandbox.test/tiktok/open_api/v1.3/user/info/", headers={"Access-Token": "bad"}
    )
    assert (response.status_code, response.json()["code"]) == (200, 40105)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/ad/get/", {"filtering": {"primary_status": "STATUS_ALL"}}),
        (
            "/report/integrated/get/",
            {
                "report_type": "BASIC",
                "data_level": "AUCTION_ADGROUP",
                "dimensions": ["adgroup_id", "stat_time_day"],
                "metrics": ["spend", "impressions"],
                "start_date": "2026-04-01",
                "end_date": "2026-04-30",
            },
        ),
    ],
)
async def test_tiktok_ads_and_reports_answer_empty_pages(
    h: SuiteHttp, path: str, params: dict[str, object]
) -> None:
    body = await h.tiktok(path, {**params, "page": "1", "page_size": "50"})
    assert body["code"] == 0, body
    assert body["data"] == {
        "list": [],
        "page_info": {"page": 1, "page_size": 50, "total_number": 0, "total_page": 0},
    }


async def test_tiktok_report_without_dimensions_is_a_parameter_error(h: SuiteHttp) -> None:
    body = await h.tiktok("/report/integrated/get/", {"report_type": "BASIC",
                                                      "data_level": "AUCTION_AD"})  # fmt: skip
    assert body["code"] == 40002


# -- Apple ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "context",
    [
        "adAccountId={id};",
        "adAccountId={id}",
        " adAccountId = {id} ; ",
        "orgId=1; adAccountId={id}",
    ],
)
async def test_apple_context_is_read_as_key_value_pairs(h: SuiteHttp, context: str) -> None:
    account = h.account(Platform.APPLE_ADS).external_id
    response = await h.apple(
        "POST", "/adgroups/query", {"pagination": {"offset": 0, "pageSize": 1}},
        context=context.format(id=account),
    )  # fmt: skip
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("context", ["adAccountId=;", "orgId=4001001", "adAccountId=x1;"])
async def test_apple_context_without_an_account_id_is_a_400(h: SuiteHttp, context: str) -> None:
    response = await h.apple("POST", "/adgroups/query", {}, context=context)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_ARGUMENT"


async def test_apple_id_filters_take_numeric_strings(h: SuiteHttp) -> None:
    seed = SUITE.seeds[Platform.APPLE_ADS]
    assert isinstance(seed, AppleSeed)
    data = seed.data[h.account(Platform.APPLE_ADS).external_id]
    campaign = data.campaigns[0]["id"]
    expected = [r["id"] for r in data.adgroups if r["campaignId"] == campaign and not r["deleted"]]
    two = [str(i) for i in expected[:2]]

    def query(field: str, operator: str, value: object) -> dict[str, object]:
        return {"filters": [{"field": field, "operator": operator, "value": value}],
                "pagination": {"offset": 0, "pageSize": 1000}}  # fmt: skip

    by_string = await h.apple(
        "POST", "/adgroups/query", query("campaignId", "EQUALS", str(campaign))
    )
    by_number = await h.apple("POST", "/adgroups/query", query("campaignId", "EQUALS", campaign))
    by_ids = await h.apple("POST", "/adgroups/query", query("id", "IN", two))
    campaigns = await h.apple("POST", "/campaigns/query", query("id", "EQUALS", str(campaign)))

    assert [r["id"] for r in by_string.json()["result"]] == expected
    assert by_string.json() == by_number.json()
    assert [str(r["id"]) for r in by_ids.json()["result"]] == two
    assert [r["id"] for r in campaigns.json()["result"]] == [campaign]
    bad = await h.apple("POST", "/adgroups/query", query("campaignId", "EQUALS", "12a"))
    assert bad.status_code == 400
    assert bad.json()["error"]["details"][0]["code"] == "INVALID_FILTER"


async def test_apple_acls_and_me_need_no_context(h: SuiteHttp) -> None:
    acls = await h.apple("GET", "/acls", context=None)
    me = await h.apple("GET", "/me", context=None)

    assert acls.status_code == 200
    ids = [str(entry["adAccountId"]) for entry in acls.json()["data"]]
    apple_accounts = SUITE.accounts[Platform.APPLE_ADS]
    assert ids == [a.external_id for a in apple_accounts[:2]]  # the first API user's accounts
    assert {"orgId", "orgName", "currency", "timeZone", "roleNames"} <= acls.json()["data"][
        0
    ].keys()
    assert me.status_code == 200
    assert isinstance(me.json()["data"]["userId"], int)
    anonymous = await h.http.get("http://sandbox.test/apple/v1/acls")
    assert anonymous.status_code == 401


# -- Meta -------------------------------------------------------------------------------------

ADSET_EXTRA = "adlabels,bid_constraints,bid_info"
CAMPAIGN_EXTRA = (
    "adlabels,boosted_object_id,budget_rebalance_flag,budget_remaining,issues_info,"
    "smart_promotion_type,source_campaign_id,special_ad_category,special_ad_category_country,"
    "spend_cap"
)


async def test_meta_serves_the_fields_connectors_select(h: SuiteHttp) -> None:
    account = h.account(Platform.META_ADS).external_id
    adsets = await h.meta(f"/{account}/adsets", {"fields": f"id,{ADSET_EXTRA}", "limit": "500"})
    campaigns = await h.meta(f"/{account}/campaigns", {"fields": f"id,{CAMPAIGN_EXTRA}"})

    assert adsets.status_code == 200, adsets.text
    assert any("bid_info" in row for row in adsets.json()["data"])
    assert campaigns.status_code == 200, campaigns.text
    first = campaigns.json()["data"][0]
    assert first["special_ad_category"] == "NONE"
    assert first["special_ad_category_country"] == []


async def test_meta_business_users_and_me(h: SuiteHttp) -> None:
    users = await h.meta("/me/business_users", {"fields": "id,name,role,business"})
    me = await h.meta("/me", {"fields": "id,name"})

    assert users.status_code == 200
    [user] = users.json()["data"]
    assert user["role"] == "ADMIN" and user["business"]["id"]
    assert me.json() == {"id": user["id"], "name": user["name"]}


# -- unknown paths ----------------------------------------------------------------------------


async def test_unknown_paths_answer_in_each_platforms_envelope(h: SuiteHttp) -> None:
    tiktok = await h.http.get("http://sandbox.test/tiktok/open_api/v1.3/nothing/here/")
    meta_deep = await h.meta("/act_1/adsets/extra/parts")
    meta_alias = await h.meta("/no_such_alias")
    apple = await h.http.get("http://sandbox.test/apple/v1/nothing")

    assert tiktok.status_code == 200
    assert tiktok.json()["code"] != 0 and tiktok.json()["data"] == {}
    assert meta_deep.status_code == 400
    assert meta_deep.json()["error"]["code"] == 100
    assert meta_deep.json()["error"]["type"] == "GraphMethodException"
    assert meta_alias.json()["error"]["code"] == 803
    assert apple.status_code == 404
    assert apple.json()["error"]["errors"][0]["messageCode"] == "NOT_FOUND"
    for response in (tiktok, meta_deep, meta_alias, apple):
        assert response.headers["content-type"].startswith("application/json")


# -- Meta filtering on time fields -------------------------------------------------------------


def unix(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp())


async def meta_walk(h: SuiteHttp, params: dict[str, object]) -> list[dict[str, str]]:
    """Every ad set of the large account the request selects, following ``after``."""
    account = h.account(Platform.META_ADS).external_id
    rows: list[dict[str, str]] = []
    after: str | None = None
    while True:
        page = {**params, "limit": "500", **({"after": after} if after else {})}
        response = await h.meta(f"/{account}/adsets", page)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        if "next" not in body.get("paging", {}):
            return rows
        after = body["paging"]["cursors"]["after"]


Keep = Callable[[int, int, int, int], bool]


@pytest.mark.parametrize(
    ("operator", "keep"),
    [
        ("GREATER_THAN", lambda t, m, lo, hi: t > m),
        ("GREATER_THAN_OR_EQUAL", lambda t, m, lo, hi: t >= m),
        ("LESS_THAN", lambda t, m, lo, hi: t < m),
        ("LESS_THAN_OR_EQUAL", lambda t, m, lo, hi: t <= m),
        ("IN_RANGE", lambda t, m, lo, hi: lo <= t <= hi),
        ("NOT_IN_RANGE", lambda t, m, lo, hi: not lo <= t <= hi),
    ],
)
@pytest.mark.parametrize("field", ["updated_time", "created_time", "start_time"])
async def test_meta_filters_time_fields_with_comparison_operators(
    h: SuiteHttp, operator: str, keep: Keep, field: str
) -> None:
    everything = await meta_walk(h, {"fields": field})
    times = sorted(unix(r[field]) for r in everything)
    middle, low, high = times[len(times) // 2], times[len(times) // 4], times[3 * len(times) // 4]
    # Airbyte sends unix seconds as numbers; strings of digits are accepted too.
    value: object = [low, str(high)] if "RANGE" in operator else str(middle)
    rule = [{"field": f"adset.{field}", "operator": operator, "value": value}]

    filtered = await meta_walk(h, {"fields": field, "filtering": rule})

    expected = [r["id"] for r in everything if keep(unix(r[field]), middle, low, high)]
    assert 0 < len(expected) < len(everything)
    assert [r["id"] for r in filtered] == expected


async def test_meta_time_filter_with_a_bad_value_is_a_100(h: SuiteHttp) -> None:
    account = h.account(Platform.META_ADS).external_id
    rule = [{"field": "adset.updated_time", "operator": "GREATER_THAN", "value": "yesterday"}]
    response = await h.meta(f"/{account}/adsets", {"filtering": rule})
    assert (response.status_code, response.json()["error"]["code"]) == (400, 100)


# -- Meta throttle ----------------------------------------------------------------------------


async def test_an_injected_meta_throttle_names_only_the_called_account(h: SuiteHttp) -> None:
    control = SUITE.controls[Platform.META_ADS]
    control.throttle_regain_minutes = 1
    try:
        for index in (1, 3):
            account = h.account(Platform.META_ADS, index)
            control.fail_next(1, "throttle")
            response = await h.meta(f"/{account.external_id}/adsets", index=index)
            usage = orjson.loads(response.headers["x-business-use-case-usage"])
            assert response.json()["error"]["code"] == 80004
            assert usage == {
                account.external_id.removeprefix("act_"): [
                    {**usage[account.external_id.removeprefix("act_")][0],
                     "estimated_time_to_regain_access": 1}
                ]
            }  # fmt: skip
    finally:
        control.throttle_regain_minutes = 5
