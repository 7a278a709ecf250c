"""GET /v1/projects/{projectId}/ads/adsets: the contract's shape, parameters, errors, auth."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import jsonschema
import pytest

from gateway.app import close_runtime, create_app
from gateway.auth import digest_key
from gateway.config import ApiKeySpec, ProjectConfig
from gateway.openapi import openapi_document
from gateway.platforms.base import Platform
from gateway.sandbox.meta.seed import MetaSeed
from tests.gateway.conftest import ADSETS, AUTH, PROJECT, Gateway

CONTRACT_FIELDS = [
    "adsetId", "campaignId", "adAccountId", "platform", "externalId", "name", "status",
    "optimizationGoal", "billingEvent", "dailyBudget", "lifetimeBudget", "startTime",
    "endTime", "targetingSummary", "createdAt", "metricsSnapshot7d",
]  # fmt: skip


def validate(body: Any, schema_name: str) -> None:
    document = openapi_document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", **document}
    jsonschema.validate(body, schema, cls=jsonschema.Draft202012Validator)


async def walk(gateway: Gateway, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(200):
        response = await gateway.rest([*params, *([("cursor", cursor)] if cursor else [])])
        assert response.status_code == 200, response.text
        body = response.json()
        validate(body, "AdSetPage")
        items.extend(body["items"])
        cursor = body["nextCursor"]
        if cursor is None:
            return items
    raise AssertionError("walk did not end")


async def test_default_page_has_100_items_of_exactly_the_contract_shape(gateway: Gateway) -> None:
    response = await gateway.rest()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["items", "nextCursor"]
    assert len(body["items"]) == 100
    assert isinstance(body["nextCursor"], str)
    for item in body["items"]:
        assert list(item) == CONTRACT_FIELDS
        assert item["metricsSnapshot7d"] == {}
        assert item["adsetId"].startswith("adg_")
        assert item["campaignId"].startswith("cmp_")
        assert item["adAccountId"].startswith("aa_")
    validate(body, "AdSetPage")


async def test_contract_example_request_returns_200(gateway: Gateway) -> None:
    # the contract's own example, with its shortened campaign ID, matches nothing
    response = await gateway.rest({"campaignId": "cmp_01HXG9", "status": "active"})
    assert response.status_code == 200
    assert response.json() == {"items": [], "nextCursor": None}


async def test_full_walk_over_every_account_has_no_gaps_or_duplicates(gateway: Gateway) -> None:
    items = await walk(gateway, [("limit", "200")])
    ids = [i["adsetId"] for i in items]
    assert len(ids) == len(set(ids))
    assert len(ids) == gateway.suite.adset_count()
    assert {i["platform"] for i in items} == {p.value for p in Platform}
    # account order: each account's rows are contiguous, accounts sorted by ID
    account_runs = [
        a
        for k, a in enumerate(i["adAccountId"] for i in items)
        if k == 0 or a != items[k - 1]["adAccountId"]
    ]
    assert account_runs == sorted(set(account_runs))


async def test_list_params_accept_repeated_and_comma_separated_forms(gateway: Gateway) -> None:
    repeated = await walk(gateway, [("status", "paused"), ("status", "deleted"), ("limit", "200")])
    commas = await walk(gateway, [("status", "paused,deleted"), ("limit", "200")])
    assert [i["adsetId"] for i in repeated] == [i["adsetId"] for i in commas]
    assert {i["status"] for i in repeated} == {"paused", "deleted"}
    mixed = await gateway.rest([("platforms", "meta_ads,apple_ads"), ("platforms", "tiktok_ads")])
    assert mixed.status_code == 200


async def test_filters_narrow_rows(gateway: Gateway) -> None:
    page = (await gateway.rest({"limit": "50"})).json()["items"]
    campaign = page[10]["campaignId"]
    account = page[0]["adAccountId"]
    by_campaign = await walk(gateway, [("campaignId", campaign)])
    assert by_campaign
    assert {i["campaignId"] for i in by_campaign} == {campaign}
    by_account = (await gateway.rest({"adAccountId": account, "limit": "200"})).json()["items"]
    assert {i["adAccountId"] for i in by_account} == {account}
    tiktok = (await gateway.rest({"platforms": "tiktok_ads", "limit": "200"})).json()["items"]
    assert {i["platform"] for i in tiktok} == {"tiktok_ads"}


async def test_deleted_rows_are_included_unless_filtered(gateway: Gateway) -> None:
    items = await walk(gateway, [("limit", "200")])
    assert "deleted" in {i["status"] for i in items}
    live = await walk(gateway, [("limit", "200"), ("status", "active,paused,in_review")])
    assert "deleted" not in {i["status"] for i in live}
    assert len(live) == sum(1 for i in items if i["status"] in {"active", "paused", "in_review"})


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"limit": "0"}, "invalid_limit", "limit"),
        ({"limit": "201"}, "invalid_limit", "limit"),
        ({"limit": "ten"}, "invalid_limit", "limit"),
        ({"limit": "1.5"}, "invalid_limit", "limit"),
        ({"limit": "-3"}, "invalid_limit", "limit"),
        ({"platforms": "facebook"}, "invalid_platform", "platforms"),
        ({"platforms": "meta_ads,"}, "invalid_platform", "platforms"),
        ({"status": "live"}, "invalid_status", "status"),
        ({"campaignId": "adg_01HXG9"}, "invalid_id", "campaignId"),
        ({"campaignId": "cmp_01HX!9"}, "invalid_id", "campaignId"),
        ({"campaignId": "cmp_"}, "invalid_id", "campaignId"),
        ({"adAccountId": "cmp_01HXG9"}, "invalid_id", "adAccountId"),
        ({"adAccountId": "aa_OIL"}, "invalid_id", "adAccountId"),
        ({"platform": "meta_ads"}, "unknown_parameter", "platform"),
    ],
)
async def test_bad_input_gets_400_with_a_stable_code(
    gateway: Gateway, params: dict[str, str], code: str, param: str
) -> None:
    response = await gateway.rest(params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["param"] == param
    assert body["error"]["message"]
    validate(body, "Error")


async def test_a_parameter_given_twice_is_rejected(gateway: Gateway) -> None:
    response = await gateway.rest([("limit", "5"), ("limit", "6")])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "duplicate_parameter"


@pytest.mark.parametrize("cursor", ["forged", "eyJ2IjoxfQ.c2ln", "x" * 5000])
async def test_forged_cursor_means_first_page(gateway: Gateway, cursor: str) -> None:
    await gateway.rest({"limit": "5"})  # account sizes learned: the first page is settled
    first = (await gateway.rest({"limit": "5"})).json()
    again = (await gateway.rest({"limit": "5", "cursor": cursor})).json()
    assert again == first


async def test_tampered_cursor_means_first_page(gateway: Gateway) -> None:
    await gateway.rest({"limit": "5"})  # account sizes learned: the first page is settled
    await gateway.rest({"limit": "5", "status": "active"})
    first = (await gateway.rest({"limit": "5"})).json()
    cursor = first["nextCursor"]
    flipped = cursor[:3] + ("A" if cursor[3] != "A" else "B") + cursor[4:]
    again = (await gateway.rest({"limit": "5", "cursor": flipped})).json()
    assert again == first
    # a cursor of other filters is foreign too
    other = (await gateway.rest({"limit": "5", "status": "active", "cursor": cursor})).json()
    fresh = (await gateway.rest({"limit": "5", "status": "active"})).json()
    assert other == fresh


async def test_missing_or_unknown_key_is_401_with_www_authenticate(gateway: Gateway) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await gateway.rest(headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthenticated"


async def test_unknown_project_is_404(gateway: Gateway) -> None:
    response = await gateway.rest(path="/v1/projects/prj_01HXNOPE/ads/adsets")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": "no such project",
            "requestId": response.headers["x-request-id"],
        }
    }


async def test_other_projects_key_gets_404_and_a_key_without_scope_gets_403(
    gateway: Gateway,
) -> None:
    other = ProjectConfig(
        "prj_01HXOTHER",
        "Other",
        (ApiKeySpec(digest_key("other-key"), frozenset({"ads:read"})),),
        (),
    )
    settings = replace(
        gateway.settings,
        projects=(
            replace(
                gateway.settings.projects[0],
                api_keys=(
                    *gateway.settings.projects[0].api_keys,
                    ApiKeySpec(digest_key("no-scope-key"), frozenset()),
                ),
            ),
            other,
        ),
    )
    app = create_app(settings, transport=gateway.suite.transport())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://g"
    ) as http:
        foreign = await http.get(ADSETS, headers={"Authorization": "Bearer other-key"})
        assert foreign.status_code == 404
        assert foreign.json()["error"]["code"] == "not_found"
        no_scope = await http.get(ADSETS, headers={"Authorization": "Bearer no-scope-key"})
        assert no_scope.status_code == 403
        assert no_scope.json()["error"]["code"] == "forbidden"
    await close_runtime(app.state.runtime)


async def test_upstream_failure_is_502_with_sources_never_500(gateway: Gateway) -> None:
    # given Meta failing every call (retries included)
    gateway.suite.controls[Platform.META_ADS].fail_next(100, "500")
    response = await gateway.rest({"limit": "5"})
    # then the page fails as a whole, naming the accounts, rather than lacking rows
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_unavailable"
    validate(response.json(), "Error")
    failed = {s["platform"] for s in error["sources"] if s["status"] == "failed"}
    ok = {s["platform"] for s in error["sources"] if s["status"] == "ok"}
    assert failed == {"meta_ads"}
    assert ok == {"tiktok_ads", "apple_ads"}
    assert int(response.headers["retry-after"]) >= 1


async def test_upstream_throttle_is_503_with_retry_after(gateway: Gateway) -> None:
    gateway.suite.controls[Platform.APPLE_ADS].fail_next(100, "throttle")
    response = await gateway.rest({"limit": "5"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_throttled"
    assert {s["status"] for s in error["sources"] if s["platform"] == "apple_ads"} == {"throttled"}
    assert int(response.headers["retry-after"]) >= 1


async def test_allow_partial_returns_healthy_rows_and_comes_back_for_the_rest(
    gateway: Gateway,
) -> None:
    # given Meta (whose large account comes first) failing for the first page only
    gateway.suite.controls[Platform.META_ADS].fail_next(100, "500")
    first = await gateway.rest({"limit": "200", "allowPartial": "true"})
    assert first.status_code == 200
    body = first.json()
    validate(body, "AdSetPage")
    assert {s["status"] for s in body["sources"] if s["platform"] == "meta_ads"} == {"failed"}
    assert len(body["items"]) == 200
    assert all(i["platform"] != "meta_ads" for i in body["items"])
    # when Meta recovers and the walk goes on
    gateway.suite.controls[Platform.META_ADS].reset()
    items = list(body["items"])
    cursor = body["nextCursor"]
    while cursor:
        page = (
            await gateway.rest({"limit": "200", "allowPartial": "true", "cursor": cursor})
        ).json()
        items += page["items"]
        cursor = page["nextCursor"]
    # then every row arrives exactly once, Meta's skipped rows at the end
    ids = [i["adsetId"] for i in items]
    assert len(ids) == len(set(ids)) == gateway.suite.adset_count()
    assert items[-1]["platform"] == "meta_ads"


async def test_openapi_document_describes_the_path(gateway: Gateway) -> None:
    response = await gateway.http.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    operation = document["paths"]["/v1/projects/{projectId}/ads/adsets"]["get"]
    names = [p["name"] for p in operation["parameters"]]
    assert names == [
        "projectId",
        "campaignId",
        "platforms",
        "adAccountId",
        "status",
        "cursor",
        "limit",
        "allowPartial",
    ]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "429", "502", "503"}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    jsonschema.Draft202012Validator.check_schema(document["components"]["schemas"]["AdSet"])


async def test_unknown_route_and_method_get_json_errors(gateway: Gateway) -> None:
    missing = await gateway.http.get("/v2/nothing", headers=AUTH)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await gateway.http.post(ADSETS, headers=AUTH)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


async def test_project_path_param_is_the_contract_example(gateway: Gateway) -> None:
    assert PROJECT == "prj_01HX9Y7K8M2P4RSTUV56789AB"


@pytest.mark.parametrize("limit", ["²", "١٠", "1e2", " 5", "0x10", "00000000009"])
async def test_limits_that_are_not_plain_ascii_numbers_are_400(
    gateway: Gateway, limit: str
) -> None:
    response = await gateway.rest({"limit": limit})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_limit"


async def test_an_ad_set_renamed_upstream_is_served_renamed(gateway: Gateway) -> None:
    # given a page served before (its rows mapped and written once)
    params = {"limit": "3", "platforms": "meta_ads"}
    before = (await gateway.rest(params)).json()["items"]
    seed = gateway.suite.seeds[Platform.META_ADS]
    assert isinstance(seed, MetaSeed)
    node = next(n for a in seed.data for n in a.adsets if n["id"] == before[1]["externalId"])
    original = node["name"]
    try:
        # when the platform renames one of its ad sets
        node["name"] = original + " (renamed)"
        after = (await gateway.rest(params)).json()["items"]
    finally:
        node["name"] = original
    # then the page shows the new name, and only that changed
    assert after[1] == {**before[1], "name": original + " (renamed)"}
    assert [after[0], after[2]] == [before[0], before[2]]
    assert (await gateway.rest(params)).json()["items"] == before


async def test_a_request_is_authorized_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a count of the service's authorization checks
    service = gateway.app.state.runtime.service
    checks: list[str] = []
    check = type(service).project_for

    def counted(self: Any, principal: Any, project_id: str) -> Any:
        checks.append(project_id)
        return check(self, principal, project_id)

    monkeypatch.setattr(type(service), "project_for", counted)
    # when one page is read
    response = await gateway.rest({"limit": "5"})
    # then the key was checked against the project once
    assert response.status_code == 200
    assert checks == [PROJECT]


@pytest.mark.parametrize(
    ("param", "raw"), [("limit", "0"), ("limit", "201"), ("limit", "x"), ("limit", "")]
)
async def test_rest_graphql_and_openapi_share_one_page_size(
    gateway: Gateway, param: str, raw: str
) -> None:
    # the REST limit and GraphQL's first are refused alike, with the bounds OpenAPI states
    rest = (await gateway.rest({param: raw})).json()["error"]
    del rest["requestId"]  # asserted in tests/observability/test_request_ids.py
    schema = openapi_document()["paths"]["/v1/projects/{projectId}/ads/adsets"]["get"]
    limit = next(p for p in schema["parameters"] if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 200, 100)
    assert rest == {
        "code": "invalid_limit",
        "message": "limit must be a whole number from 1 to 200",
        "param": "limit",
    }
    graphql = await gateway.graphql(
        "query($p: ID!) { adSets(projectId: $p, first: 201) { totalCount } }", {"p": PROJECT}
    )
    error = graphql.json()["errors"][0]
    assert error["message"] == "first must be a whole number from 1 to 200"
    assert error["extensions"] == {
        "code": "invalid_limit",
        "param": "first",
        "requestId": graphql.headers["x-request-id"],
    }
