"""The Meta sandbox speaks Graph's wire format: paging, auth, fields, filters, throttles."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.sandbox.control import SandboxControl
from gateway.sandbox.meta import build_seed, create_app
from gateway.sandbox.meta.app import MAX_LIMIT
from gateway.sandbox.meta.seed import AccountData, MetaSeed
from gateway.sandbox.meta.statuses import ADSET_EFFECTIVE_STATUSES, ANY_FILTER_STATUS
from gateway.sandbox.transport import SandboxTransport


@cache
def seed() -> MetaSeed:
    return build_seed()


LARGE = seed().data[0]
JPY = seed().data[1]
ADSETS = f"/v25.0/{LARGE.external_id}/adsets"


@dataclass
class Sandbox:
    http: httpx.AsyncClient
    control: SandboxControl
    clock: list[float]

    async def get(
        self, path: str, params: dict[str, Any] | None = None, token: str | None = LARGE.token
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.http.get(path, params=params, headers=headers)


async def open_sandbox(prefix: str = "/meta", **options: Any) -> AsyncIterator[Sandbox]:
    control = SandboxControl()
    clock = [0.0]
    app = create_app(seed(), control, clock=lambda: clock[0], **options)
    root = Starlette(routes=[Mount(prefix, app=app)]) if prefix else app
    transport = SandboxTransport(root)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://sandbox.test{prefix}") as h:
        yield Sandbox(h, control, clock)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async for s in open_sandbox():
        yield s


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["fbtrace_id"], str)
    return error


def visible_ids(account: AccountData) -> list[str]:
    return [a["id"] for a in account.adsets if a["effective_status"] not in ("ARCHIVED", "DELETED")]


# -- paging ---------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/meta", ""])
async def test_following_next_walks_every_visible_ad_set_once(prefix: str) -> None:
    async for sandbox in open_sandbox(prefix):
        response = await sandbox.get(ADSETS, {"limit": "200", "summary": "true"})
        ids: list[str] = []
        pages = 0
        while True:
            body = response.json()
            pages += 1
            ids.extend(row["id"] for row in body["data"])
            assert body["summary"] == {"total_count": len(visible_ids(LARGE))}
            assert set(body["paging"]["cursors"]) == {"before", "after"}
            next_url = body["paging"].get("next")
            if next_url is None:
                break
            assert next_url.startswith(f"http://sandbox.test{prefix}{ADSETS}?")
            assert next_url.count("after=") == 1
            assert "summary=true" in next_url
            assert f"after={body['paging']['cursors']['after']}" in next_url
            response = await sandbox.http.get(
                next_url, headers={"Authorization": f"Bearer {LARGE.token}"}
            )
        assert ids == visible_ids(LARGE)
        assert pages == -(-len(ids) // 200)


async def test_limit_defaults_to_25_and_rejects_bad_values(sandbox: Sandbox) -> None:
    body = (await sandbox.get(ADSETS)).json()
    assert len(body["data"]) == 25
    assert "summary" not in body
    for bad in ("0", str(MAX_LIMIT + 1), "ten", "-5"):
        response = await sandbox.get(ADSETS, {"limit": bad})
        assert response.status_code == 400
        assert error_of(response)["code"] == 100
    assert len((await sandbox.get(ADSETS, {"limit": str(MAX_LIMIT)})).json()["data"]) == MAX_LIMIT


async def test_an_exhausted_list_has_cursors_but_no_next_and_an_empty_one_no_paging(
    sandbox: Sandbox,
) -> None:
    path = f"/v25.0/{JPY.external_id}/adsets"
    body = (await sandbox.get(path, {"limit": "500"}, token=JPY.token)).json()
    assert "next" not in body["paging"]
    assert len(body["data"]) == len(visible_ids(JPY))

    empty = seed().data[2]
    response = await sandbox.get(
        f"/v25.0/{empty.external_id}/adsets", {"summary": "total_count"}, token=empty.token
    )
    assert response.json() == {"data": [], "summary": {"total_count": 0}}


async def test_invalid_cursors_are_rejected(sandbox: Sandbox) -> None:
    for cursor in ("bm9wZQ", "***", "c2J4OjEyMw"):  # "nope", garbage, an unknown id
        response = await sandbox.get(ADSETS, {"after": cursor})
        assert response.status_code == 400
        assert error_of(response)["code"] == 100


# -- statuses and filters -------------------------------------------------------------------


async def test_archived_and_deleted_are_hidden_unless_named(sandbox: Sandbox) -> None:
    def statuses(body: dict[str, Any]) -> set[str]:
        return {row["effective_status"] for row in body["data"]}

    default = (await sandbox.get(ADSETS, {"limit": "500", "fields": "effective_status"})).json()
    assert statuses(default).isdisjoint({"ARCHIVED", "DELETED"})

    named = await sandbox.get(
        ADSETS,
        {"limit": "500", "fields": "effective_status", "effective_status": '["ARCHIVED"]'},
    )
    assert statuses(named.json()) == {"ARCHIVED"}

    filtered = await sandbox.get(
        ADSETS,
        {
            "fields": "effective_status",
            "limit": "500",
            "summary": "true",
            "filtering": orjson.dumps(
                [{"field": "adset.effective_status", "operator": "IN", "value": ["DELETED"]}]
            ).decode(),
        },
    )
    deleted = [a for a in LARGE.adsets if a["effective_status"] == "DELETED"]
    assert statuses(filtered.json()) == {"DELETED"}
    assert filtered.json()["summary"]["total_count"] == len(deleted)

    every_status = [
        {"field": "adset.effective_status", "operator": "IN", "value": sorted(ANY_FILTER_STATUS)}
    ]
    everything = await sandbox.get(
        ADSETS, {"summary": "true", "filtering": orjson.dumps(every_status).decode()}
    )
    assert everything.json()["summary"]["total_count"] == len(LARGE.adsets)


async def test_campaign_filters_and_the_campaign_edge_agree(sandbox: Sandbox) -> None:
    campaign = LARGE.campaigns[5]["id"]
    expected = [
        a["id"]
        for a in LARGE.adsets
        if a["campaign_id"] == campaign and a["effective_status"] not in ("ARCHIVED", "DELETED")
    ]
    by_filter = await sandbox.get(
        ADSETS,
        {
            "limit": "100",
            "filtering": orjson.dumps(
                [{"field": "campaign.id", "operator": "EQUAL", "value": campaign}]
            ).decode(),
        },
    )
    by_edge = await sandbox.get(f"/v25.0/{campaign}/adsets", {"limit": "100"})
    assert [r["id"] for r in by_filter.json()["data"]] == expected
    assert [r["id"] for r in by_edge.json()["data"]] == expected


@pytest.mark.parametrize(
    "params",
    [
        {"effective_status": '["ACTIVE","RUNNING"]'},
        {"effective_status": "[not json"},
        {"filtering": '{"field": "campaign.id"}'},
        {"filtering": '[{"field": "adset.name", "operator": "EQUAL", "value": "x"}]'},
        {"filtering": '[{"field": "campaign.id", "operator": "LIKE", "value": "1"}]'},
        {"summary": "spend"},
        {"fields": "id,colour"},
        {"fields": "targeting{age_min"},
        {"before": "c2J4OjE"},
    ],
)
async def test_bad_parameters_get_code_100(sandbox: Sandbox, params: dict[str, str]) -> None:
    response = await sandbox.get(ADSETS, params)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["type"]) == (100, "OAuthException")
    assert error["message"].startswith("(#100)")


# -- auth -----------------------------------------------------------------------------------


async def test_tokens_in_the_header_or_the_query_string(sandbox: Sandbox) -> None:
    by_header = await sandbox.get(ADSETS)
    by_query = await sandbox.get(ADSETS, {"access_token": LARGE.token}, token=None)
    assert by_header.status_code == by_query.status_code == 200
    assert by_header.json()["data"] == by_query.json()["data"]


@pytest.mark.parametrize(
    ("path", "token", "status", "code", "subcode"),
    [
        (ADSETS, None, 400, 190, None),
        (ADSETS, "EAAGnope", 400, 190, None),
        (ADSETS, JPY.token, 403, 200, None),
        ("/v25.0/act_999/adsets", LARGE.token, 400, 100, 33),
        ("/v25.0/act_999", LARGE.token, 400, 100, 33),
        (f"/v25.0/{JPY.campaigns[0]['id']}", LARGE.token, 400, 100, 33),
        (f"/v25.0/{LARGE.external_id}/ads", LARGE.token, 400, 100, None),
        (f"/v2.1/{LARGE.external_id}/adsets", LARGE.token, 400, 100, None),
    ],
)
async def test_auth_and_lookup_errors_use_graphs_envelope(
    sandbox: Sandbox, path: str, token: str | None, status: int, code: int, subcode: int | None
) -> None:
    response = await sandbox.get(path, token=token)
    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code
    assert error.get("error_subcode") == subcode
    assert "x-app-usage" in response.headers


# -- fields and node reads ------------------------------------------------------------------


async def test_only_requested_fields_come_back(sandbox: Sandbox) -> None:
    bare = (await sandbox.get(ADSETS, {"limit": "3"})).json()["data"]
    assert all(row.keys() == {"id"} for row in bare)

    named = (await sandbox.get(ADSETS, {"limit": "3", "fields": "name,daily_budget"})).json()
    assert all(row.keys() <= {"id", "name", "daily_budget"} for row in named["data"])
    assert all(isinstance(row["daily_budget"], str) for row in named["data"])

    nested = await sandbox.get(
        ADSETS, {"limit": "50", "fields": "targeting{age_min,geo_locations}"}
    )
    for row in nested.json()["data"]:
        assert row["targeting"].keys() <= {"age_min", "geo_locations"}
        assert "geo_locations" in row["targeting"]


async def test_the_account_node_and_a_deleted_ad_set_by_id(sandbox: Sandbox) -> None:
    account = await sandbox.get(
        f"/v25.0/{LARGE.external_id}", {"fields": "id,account_id,name,currency,timezone_name"}
    )
    assert account.json() == {
        "id": LARGE.external_id,
        "account_id": LARGE.account_id,
        "name": LARGE.name,
        "currency": "USD",
        "timezone_name": "America/Los_Angeles",
    }
    deleted = next(a for a in LARGE.adsets if a["effective_status"] == "DELETED")
    node = await sandbox.get(f"/v25.0/{deleted['id']}", {"fields": "effective_status"})
    assert node.json() == {"id": deleted["id"], "effective_status": "DELETED"}


async def test_the_ids_read_is_keyed_by_id_and_capped_at_fifty(sandbox: Sandbox) -> None:
    wanted = [c["id"] for c in LARGE.campaigns[:3]]
    response = await sandbox.get(
        "/v25.0/", {"ids": ",".join([*wanted, "123456789012345"]), "fields": "name,objective"}
    )
    body = response.json()
    assert list(body) == wanted
    assert body[wanted[0]] == {
        "id": wanted[0],
        "name": LARGE.campaigns[0]["name"],
        "objective": LARGE.campaigns[0]["objective"],
    }
    too_many = await sandbox.get("/v25.0/", {"ids": ",".join(str(10**15 + i) for i in range(51))})
    assert error_of(too_many)["code"] == 100


async def test_the_campaigns_edge_hides_deleted_by_default(sandbox: Sandbox) -> None:
    path = f"/v25.0/{LARGE.external_id}/campaigns"
    default = (await sandbox.get(path, {"limit": "500", "fields": "effective_status"})).json()
    assert {c["effective_status"] for c in default["data"]}.isdisjoint({"DELETED", "ARCHIVED"})
    everything = await sandbox.get(
        path, {"limit": "500", "effective_status": orjson.dumps(sorted(ANY_FILTER_STATUS)).decode()}
    )
    assert [c["id"] for c in everything.json()["data"]] == [c["id"] for c in LARGE.campaigns]


# -- throttling -----------------------------------------------------------------------------


async def test_usage_headers_on_every_response_count_calls(sandbox: Sandbox) -> None:
    first = await sandbox.get(ADSETS)
    second = await sandbox.get(ADSETS)
    for response in (first, second):
        assert set(orjson.loads(response.headers["x-app-usage"])) == {
            "call_count",
            "total_cputime",
            "total_time",
        }
        assert "reset_time_duration" in orjson.loads(response.headers["x-ad-account-usage"])
    usage = [
        orjson.loads(r.headers["x-business-use-case-usage"])[LARGE.account_id][0]
        for r in (first, second)
    ]
    assert usage[0]["type"] == "ads_management"
    assert usage[0]["estimated_time_to_regain_access"] == 0
    assert 0 < usage[0]["call_count"] <= usage[1]["call_count"]


async def test_a_quota_really_throttles_until_the_window_passes() -> None:
    async for sandbox in open_sandbox(quota_per_minute=2):
        assert (await sandbox.get(ADSETS)).status_code == 200
        second = await sandbox.get(ADSETS)
        buc = orjson.loads(second.headers["x-business-use-case-usage"])[LARGE.account_id][0]
        assert buc["call_count"] == 100

        sandbox.clock[0] = 30.0
        throttled = await sandbox.get(ADSETS)
        assert throttled.status_code == 400
        error = error_of(throttled)
        assert (error["code"], error["error_subcode"]) == (80004, 2446079)
        buc = orjson.loads(throttled.headers["x-business-use-case-usage"])[LARGE.account_id][0]
        assert buc["estimated_time_to_regain_access"] == 1
        # Another account has its own quota.
        other = await sandbox.get(f"/v25.0/{JPY.external_id}/adsets", token=JPY.token)
        assert other.status_code == 200

        sandbox.clock[0] = 60.0
        assert (await sandbox.get(ADSETS)).status_code == 200


async def test_unmetered_calls_report_no_usage_and_meet_no_quota() -> None:
    async for sandbox in open_sandbox(quota_per_minute=2):
        sandbox.control.metered = False
        answers = [await sandbox.get(ADSETS) for _ in range(4)]
        assert [a.status_code for a in answers] == [200] * 4
        for answer in answers:
            buc = orjson.loads(answer.headers["x-business-use-case-usage"])[LARGE.account_id][0]
            assert buc["call_count"] == 0
            assert orjson.loads(answer.headers["x-app-usage"])["call_count"] == 0
            assert orjson.loads(answer.headers["x-ad-account-usage"])["acc_id_util_pct"] == 0
        # Metered again, the quota counts from where metering stopped.
        sandbox.control.metered = True
        assert (await sandbox.get(ADSETS)).status_code == 200
        assert (await sandbox.get(ADSETS)).status_code == 200
        assert (await sandbox.get(ADSETS)).status_code == 400


async def test_fault_forms_are_metas_own(sandbox: Sandbox) -> None:
    sandbox.control.fail_next(1, "500")
    sandbox.control.fail_next(1, "throttle")
    sandbox.control.fail_next(1, "auth")

    server = await sandbox.get(ADSETS)
    throttle = await sandbox.get(ADSETS)
    auth = await sandbox.get(ADSETS)

    assert (server.status_code, error_of(server)["code"]) == (500, 1)
    assert error_of(server)["message"] == "An unknown error occurred"
    assert (throttle.status_code, error_of(throttle)["code"]) == (400, 80004)
    buc = orjson.loads(throttle.headers["x-business-use-case-usage"])
    assert set(buc) == {LARGE.account_id}
    assert buc[LARGE.account_id][0]["estimated_time_to_regain_access"] == 5
    assert (auth.status_code, error_of(auth)["code"], error_of(auth)["error_subcode"]) == (
        400,
        190,
        463,
    )


# -- seed -----------------------------------------------------------------------------------


def test_the_seed_is_realistic_and_covers_every_status() -> None:
    s = seed()
    assert [a.currency for a in s.data] == ["USD", "JPY", "GBP", "EUR"]
    assert s.large_account is s.accounts[0]
    assert len(s.adset_ids(s.large_account.external_id)) == 1200
    for account in (LARGE, JPY, seed().data[3]):  # every account with ad sets
        assert {a["effective_status"] for a in account.adsets} == set(ADSET_EFFECTIVE_STATUSES)
    for account in s.data:
        ids = s.adset_ids(account.external_id)
        assert ids == sorted(ids, key=int, reverse=True)
        assert all(re.fullmatch(r"\d{15,18}", i) for i in ids)
        assert re.fullmatch(r"act_\d{15}", account.external_id)
    offsets = {
        account.timezone_name: {a["start_time"][-5:] for a in account.adsets}
        for account in s.data
        if account.adsets
    }
    assert offsets["America/Los_Angeles"] == {"-0700", "-0800"}
    assert offsets["Asia/Tokyo"] == {"+0900"}
    assert offsets["Europe/Berlin"] <= {"+0100", "+0200"}

    by_campaign = {c["id"]: c for c in LARGE.campaigns}
    daily = [a for a in LARGE.adsets if a["daily_budget"] != "0"]
    lifetime = [a for a in LARGE.adsets if a["lifetime_budget"] != "0"]
    cbo = [a for a in LARGE.adsets if a["daily_budget"] == a["lifetime_budget"] == "0"]
    assert daily and lifetime and cbo
    assert all("end_time" in a for a in lifetime)
    assert all("daily_budget" in by_campaign[a["campaign_id"]] for a in cbo)
    targeting = [a["targeting"] for a in LARGE.adsets]
    assert any("publisher_platforms" not in t for t in targeting)  # automatic placements
    assert any(t.get("age_max") == 65 and t.get("age_min", 18) > 18 for t in targeting)
    assert any("regions" in t["geo_locations"] for t in targeting)
    assert any(t.get("custom_audiences") for t in targeting)


def test_seeding_is_deterministic() -> None:
    # How fast it builds is the bench's business (a timed unit test fails on a busy machine).
    assert build_seed(50).data[0].adsets == build_seed(50).data[0].adsets
    big = build_seed(10_000)
    assert len(big.adset_ids(big.large_account.external_id)) == 10_000
