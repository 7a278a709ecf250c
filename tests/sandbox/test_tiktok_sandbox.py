"""The TikTok sandbox speaks v1.3's wire format: envelope, auth codes, paging, fields, filters,
throttles and bad-parameter errors; and its seed is deterministic, varied and fast."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.platforms.tiktok.statuses import SECONDARY_STATUSES
from gateway.sandbox.control import SandboxControl
from gateway.sandbox.tiktok import TikTokSeed, build_seed, create_app
from gateway.sandbox.transport import SandboxTransport

API = "http://sandbox.test/tiktok/open_api/v1.3"


@pytest.fixture(scope="module")
def seed() -> TikTokSeed:
    return build_seed(1200)


@pytest.fixture
def control() -> SandboxControl:
    return SandboxControl()


@pytest.fixture
async def http(seed: TikTokSeed, control: SandboxControl) -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=[Mount("/tiktok", app=create_app(seed, control))])
    async with httpx.AsyncClient(transport=SandboxTransport(app)) as client:
        yield client


def token(seed: TikTokSeed, index: int = 0) -> dict[str, str]:
    return {"Access-Token": seed.accounts[index].credentials["access_token"]}


async def get(
    http: httpx.AsyncClient,
    path: str,
    params: dict[str, Any],
    headers: dict[str, str] | None,
) -> dict[str, Any]:
    """GET with JSON-encoded non-string params; asserts TikTok's HTTP 200 envelope."""
    encoded = {k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in params.items()}
    response = await http.get(f"{API}{path}", params=encoded, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = orjson.loads(response.content)
    assert set(body) == {"code", "message", "request_id", "data"}
    assert isinstance(body, dict)
    return body


async def adgroups(
    http: httpx.AsyncClient, seed: TikTokSeed, index: int = 0, **params: Any
) -> dict[str, Any]:
    params.setdefault("advertiser_id", seed.accounts[index].external_id)
    return await get(http, "/adgroup/get/", params, token(seed, index))


async def test_pages_are_sorted_by_id_descending_with_page_info(
    http: httpx.AsyncClient, seed: TikTokSeed
) -> None:
    visible = [
        r["adgroup_id"]
        for r in seed.advertisers[seed.large_account.external_id].adgroups
        if r["secondary_status"] not in ("ADGROUP_STATUS_DELETE", "ADGROUP_STATUS_CAMPAIGN_DELETE")
    ]

    first = await adgroups(http, seed)
    third = await adgroups(http, seed, page=3, page_size=250)
    past = await adgroups(http, seed, page=99, page_size=250)

    assert (first["code"], first["message"]) == (0, "OK")
    assert first["data"]["page_info"] == {
        "page": 1,
        "page_size": 10,
        "total_number": len(visible),
        "total_page": -(-len(visible) // 10),
    }
    assert [r["adgroup_id"] for r in first["data"]["list"]] == visible[:10]
    assert [r["adgroup_id"] for r in third["data"]["list"]] == visible[500:750]
    assert past["data"]["list"] == []
    ids = [int(i) for i in visible]
    assert ids == sorted(ids, reverse=True)


async def test_deleted_rows_hidden_by_default_and_shown_on_request(
    http: httpx.AsyncClient, seed: TikTokSeed
) -> None:
    deleted = {"ADGROUP_STATUS_DELETE", "ADGROUP_STATUS_CAMPAIGN_DELETE"}

    default = await adgroups(http, seed, page_size=1000, page=1)
    everything = await adgroups(
        http, seed, page_size=1000, page=2, filtering={"primary_status": "STATUS_ALL"}
    )
    legacy = await adgroups(
        http, seed, page_size=1000, filtering={"secondary_status": "ADGROUP_STATUS_ALL"}
    )
    only = await adgroups(http, seed, page_size=1000, filtering={"primary_status": "STATUS_DELETE"})

    assert not {r["secondary_status"] for r in default["data"]["list"]} & deleted
    assert everything["data"]["page_info"]["total_number"] == 1200
    assert len(everything["data"]["list"]) == 200
    assert legacy["data"]["page_info"]["total_number"] == 1200
    assert {r["secondary_status"] for r in only["data"]["list"]} == deleted


async def test_filters_by_campaign_and_secondary_status(
    http: httpx.AsyncClient, seed: TikTokSeed
) -> None:
    rows = seed.advertisers[seed.large_account.external_id].adgroups
    two = list(dict.fromkeys(r["campaign_id"] for r in rows))[:2]
    expected = [r["adgroup_id"] for r in rows if r["campaign_id"] in two]

    by_campaign = await adgroups(
        http,
        seed,
        page_size=1000,
        filtering={"campaign_ids": two, "primary_status": "STATUS_ALL"},
    )
    frozen = await adgroups(
        http,
        seed,
        page_size=1000,
        filtering={"secondary_status": "ADGROUP_STATUS_FROZEN"},
    )

    assert [r["adgroup_id"] for r in by_campaign["data"]["list"]] == expected
    assert {r["secondary_status"] for r in frozen["data"]["list"]} == {"ADGROUP_STATUS_FROZEN"}
    assert {r["operation_status"] for r in frozen["data"]["list"]} == {"FROZEN"}


async def test_field_selection(http: httpx.AsyncClient, seed: TikTokSeed) -> None:
    some = await adgroups(http, seed, fields=["adgroup_id", "budget", "age_groups"])
    full = await adgroups(http, seed)
    bad = await adgroups(http, seed, fields=["adgroup_id", "favourite_colour"])

    assert {tuple(r) for r in some["data"]["list"]} == {("adgroup_id", "budget", "age_groups")}
    assert isinstance(some["data"]["list"][0]["budget"], float)
    assert {"secondary_status", "location_ids", "schedule_end_time"} <= set(full["data"]["list"][0])
    assert bad["code"] == 40002 and "favourite_colour" in bad["message"]


async def test_auth_codes(http: httpx.AsyncClient, seed: TikTokSeed) -> None:
    params = {"advertiser_id": seed.accounts[1].external_id}

    missing = await get(http, "/adgroup/get/", params, None)
    empty = await get(http, "/adgroup/get/", params, {"Access-Token": ""})
    wrong = await get(http, "/adgroup/get/", params, {"Access-Token": "nope"})
    bearer = await get(
        http, "/adgroup/get/", params, {"Authorization": f"Bearer {token(seed, 1)['Access-Token']}"}
    )
    other = await get(http, "/adgroup/get/", params, token(seed, 2))

    assert (missing["code"], empty["code"], wrong["code"], bearer["code"]) == (
        40105,
        40104,
        40105,
        40105,
    )
    assert other["code"] == 40001
    assert other["message"] == f"No permission to operate advertiser: {params['advertiser_id']}"
    assert other["data"] == {}


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"page_size": "1001"}, "page_size"),
        ({"page_size": "0"}, "page_size"),
        ({"filtering": "{not json"}, "filtering"),
        ({"filtering": "[]"}, "filtering"),
        ({"filtering": '{"primary_status": "STATUS_SOMETIMES"}'}, "primary_status"),
        ({"filtering": '{"campaign_ids": "123"}'}, "campaign_ids"),
        ({"filtering": orjson.dumps({"campaign_ids": ["1"] * 101}).decode()}, "campaign_ids"),
        ({"fields": "adgroup_id"}, "fields"),
        ({"advertiser_id": ""}, "advertiser_id"),
    ],
)
async def test_bad_parameters_answer_40002(
    http: httpx.AsyncClient, seed: TikTokSeed, params: dict[str, str], mentions: str
) -> None:
    query = {"advertiser_id": seed.accounts[0].external_id} | params
    body = await get(http, "/adgroup/get/", query, token(seed))

    assert body["code"] == 40002
    assert mentions in body["message"]


async def test_fault_forms_are_tiktoks_own(
    http: httpx.AsyncClient, seed: TikTokSeed, control: SandboxControl
) -> None:
    control.fail_next(1, "500")
    control.fail_next(1, "throttle")
    control.fail_next(1, "auth")

    codes = [(await adgroups(http, seed))["code"] for _ in range(3)]

    assert codes == [50000, 40100, 40105]
    assert [e.fault for e in control.log.entries] == ["500", "throttle", "auth"]


async def test_quota_per_second_really_throttles(seed: TikTokSeed) -> None:
    app = create_app(seed, SandboxControl(), quota_per_second=3)
    async with httpx.AsyncClient(transport=SandboxTransport(app)) as http:
        url = "http://sandbox.test/open_api/v1.3/advertiser/info/"
        params = {"advertiser_ids": orjson.dumps([seed.accounts[0].external_id]).decode()}
        codes = [
            orjson.loads((await http.get(url, params=params, headers=token(seed))).content)["code"]
            for _ in range(5)
        ]

    assert codes == [0, 0, 0, 40100, 40100]


async def test_advertiser_info_and_campaigns(http: httpx.AsyncClient, seed: TikTokSeed) -> None:
    europe = seed.accounts[1]
    info = await get(
        http,
        "/advertiser/info/",
        {"advertiser_ids": [europe.external_id], "fields": ["advertiser_id", "currency"]},
        token(seed, 1),
    )
    denied = await get(
        http,
        "/advertiser/info/",
        {"advertiser_ids": [seed.accounts[0].external_id]},
        token(seed, 1),
    )
    hidden = await get(
        http,
        "/campaign/get/",
        {"advertiser_id": europe.external_id, "page_size": 1000},
        token(seed, 1),
    )
    every = await get(
        http,
        "/campaign/get/",
        {
            "advertiser_id": europe.external_id,
            "page_size": 1000,
            "filtering": {"primary_status": "STATUS_ALL"},
        },
        token(seed, 1),
    )

    assert info["data"] == {"list": [{"advertiser_id": europe.external_id, "currency": "EUR"}]}
    assert denied["code"] == 40001
    all_campaigns = seed.advertisers[europe.external_id].campaigns
    assert [c["campaign_id"] for c in every["data"]["list"]] == [
        c["campaign_id"] for c in all_campaigns
    ]
    assert all(c["secondary_status"] != "CAMPAIGN_STATUS_DELETE" for c in hidden["data"]["list"])
    cbo = [c for c in every["data"]["list"] if "budget_optimize_on" in c]
    assert all(c["budget_optimize_on"] is True for c in cbo)


async def test_standalone_app_serves_at_the_root(seed: TikTokSeed) -> None:
    app = create_app(seed, SandboxControl())
    async with httpx.AsyncClient(transport=SandboxTransport(app)) as http:
        response = await http.get(
            "http://sandbox.test/open_api/v1.3/adgroup/get/",
            params={"advertiser_id": seed.accounts[2].external_id},
            headers=token(seed, 2),
        )

    assert orjson.loads(response.content)["code"] == 0


def test_seed_is_deterministic_and_covers_every_value() -> None:
    # How fast it builds is the bench's business (a timed unit test fails on a busy machine).
    big = build_seed(10_000)

    assert len(big.adset_ids(big.large_account.external_id)) == 10_000
    assert build_seed(300).adset_ids(big.accounts[1].external_id) == big.adset_ids(
        big.accounts[1].external_id
    )
    rows = big.advertisers[big.large_account.external_id].adgroups
    assert {r["secondary_status"] for r in rows} == set(SECONDARY_STATUSES)
    assert set(Counter(r["budget_mode"] for r in rows)) == {
        "BUDGET_MODE_DAY",
        "BUDGET_MODE_TOTAL",
        "BUDGET_MODE_INFINITE",
        "BUDGET_MODE_DYNAMIC_DAILY_BUDGET",
    }
    assert {r["schedule_type"] for r in rows} == {"SCHEDULE_FROM_NOW", "SCHEDULE_START_END"}
    assert all(
        r["schedule_type"] == "SCHEDULE_START_END"
        for r in rows
        if r["budget_mode"] == "BUDGET_MODE_TOTAL"
    )
    assert all(r["budget"] == 0.0 for r in rows if r["budget_mode"] == "BUDGET_MODE_INFINITE")
    locations = {i for r in rows for i in r["location_ids"]}
    assert {"6252001", "6251999", "5332921"} <= locations
    assert any(r["age_groups"] is None for r in rows)
    assert any(r["audience_ids"] for r in rows)
    assert {r["placement_type"] for r in rows} == {
        "PLACEMENT_TYPE_AUTOMATIC",
        "PLACEMENT_TYPE_NORMAL",
    }
    assert [a.external_id for a in big.accounts] == list(big.advertisers)
    assert {big.advertisers[a].info["currency"] for a in big.advertisers} == {"USD", "EUR", "JPY"}


def test_seed_selects_ad_groups_by_a_row_test(seed: TikTokSeed) -> None:
    account = seed.large_account.external_id
    deleted = seed.adset_ids_where(account, lambda r: r["secondary_status"].endswith("DELETE"))

    assert deleted
    assert set(deleted) < set(seed.adset_ids(account))
