"""The Apple sandbox speaks Apple's wire format: OAuth, v1 queries, errors, rate limits."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.platforms.apple.auth import AppleCredentials
from gateway.sandbox.apple import build_seed, create_app
from gateway.sandbox.apple.keys import private_pem
from gateway.sandbox.control import SandboxControl
from gateway.sandbox.transport import SandboxTransport
from tests.sandbox.wire import access_token, apple_token_form

SEED = build_seed()
LARGE = SEED.large_account
CREDS = AppleCredentials.from_account(LARGE)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    http: httpx.AsyncClient
    control: SandboxControl
    clock: Clock
    prefix: str

    async def token_response(self, **form: str) -> httpx.Response:
        body = {**apple_token_form(CREDS, now=self.clock.now), **form}
        return await self.http.post(f"{self.prefix}/auth/oauth2/token", data=body)

    async def token(self) -> str:
        return access_token(await self.token_response())

    async def query(
        self,
        kind: str,
        body: Any,
        *,
        account: str = LARGE.external_id,
        token: str | None = None,
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token or await self.token()}",
            "X-AP-Context": f"adAccountId={account}",
        }
        return await self.http.post(f"{self.prefix}/v1/{kind}/query", json=body, headers=headers)


async def _api(prefix: str, **options: Any) -> AsyncIterator[Api]:
    control = SandboxControl()
    clock = Clock()
    app = create_app(SEED, control, clock=clock, **options)
    if prefix:
        app = Starlette(routes=[Mount(prefix, app=app)])
    async with httpx.AsyncClient(
        transport=SandboxTransport(app), base_url="http://sandbox.test"
    ) as http:
        yield Api(http, control, clock, prefix)


@pytest.fixture(params=["", "/apple"], ids=["standalone", "mounted"])
async def api(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    async for a in _api(request.param):
        yield a


def page(offset: int, size: int, total: bool = True) -> dict[str, Any]:
    return {"offset": offset, "pageSize": size, "fetchTotalCount": total}


def deleted(value: bool) -> dict[str, Any]:
    return {"field": "deleted", "operator": "EQUALS", "value": value}


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


# -- seed ------------------------------------------------------------------------------------


def test_seed_builds_ten_thousand_ad_groups_deterministically() -> None:
    # How fast it builds is the bench's business (a timed unit test fails on a busy machine).
    big = build_seed(large_adsets=10_000)

    assert len(big.adset_ids(big.large_account.external_id)) == 10_000
    again = build_seed(large_adsets=10_000)
    assert again.adset_ids("4001001") == big.adset_ids("4001001")
    assert again.large_account.credentials == big.large_account.credentials


def test_seed_covers_what_the_client_must_handle() -> None:
    rows = [r for d in SEED.data.values() for r in d.adgroups]
    campaigns = [c for d in SEED.data.values() for c in d.campaigns]

    assert SEED.large_account is SEED.accounts[0]
    assert len(SEED.adset_ids(LARGE.external_id)) == 1200
    assert len({d.account["currency"] for d in SEED.data.values()}) >= 2
    assert {(r["deleted"], r["status"]) for r in rows} >= {
        (False, "ENABLED"),
        (False, "PAUSED"),
        (True, "ENABLED"),
    }
    assert any(r["deleted"] and r["startTime"] is None for r in rows)
    ages = {
        (
            (r["targeting"] or {}).get("minAge", {}).get("include", [None])[0],
            (r["targeting"] or {}).get("maxAge", {}).get("include", [None])[0],
        )
        for r in rows
    }
    assert (None, None) in ages
    assert any(low is not None and high is None for low, high in ages)
    assert {r["pricingModel"] for r in rows} >= {"CPT", "CPM"}
    assert len({r["bidStrategy"]["bidStrategyType"] for r in rows}) >= 3
    assert any(len(c["targeting"]["countryOrRegion"]["include"]) > 1 for c in campaigns)
    assert any(len(c["targeting"]["countryOrRegion"]["include"]) == 1 for c in campaigns)
    placements = {
        p for c in campaigns for p in c["targeting"].get("supplyPlacement", {}).get("include", [])
    }
    assert len(placements) >= 4
    assert any(c["deleted"] for c in campaigns)
    assert all(r["creationTime"] and r["modificationTime"] for r in rows)


# -- OAuth -----------------------------------------------------------------------------------


async def test_token_endpoint_issues_bearer_tokens(api: Api) -> None:
    response = await api.token_response()

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "searchadsorg"
    assert body["access_token"]


def _secret(**changes: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": CREDS.client_id,
        "iss": CREDS.team_id,
        "aud": "https://appleid.apple.com",
        "iat": now,
        "exp": now + 600,
    }
    key = changes.pop("key", CREDS.private_key_pem)
    headers = {"kid": changes.pop("kid", CREDS.key_id)}
    algorithm = changes.pop("alg", "ES256")
    claims.update(changes)
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(_secret(key=private_pem(2)), id="other-key"),
        pytest.param(_secret(kid="another-key-id"), id="wrong-kid"),
        pytest.param(_secret(aud="https://example.com"), id="wrong-aud"),
        pytest.param(_secret(iss="SEARCHADS.someone-else"), id="wrong-iss"),
        pytest.param(_secret(sub="SEARCHADS.someone-else"), id="wrong-sub"),
        pytest.param(
            _secret(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), id="expired"
        ),
        pytest.param(_secret(alg="HS256", key="x" * 32), id="hs256"),
        pytest.param("not-a-jwt", id="garbage"),
    ],
)
async def test_bad_client_secrets_are_invalid_client(api: Api, secret: str) -> None:
    response = await api.token_response(client_secret=secret)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"scope": "other"}, "invalid_scope"),
        ({"client_id": "SEARCHADS.unknown"}, "invalid_client"),
    ],
)
async def test_bad_token_requests_get_oauth_errors(
    api: Api, form: dict[str, str], error: str
) -> None:
    response = await api.token_response(**form)

    assert response.status_code == 400
    assert response.json()["error"] == error


# -- API auth and context --------------------------------------------------------------------


async def test_missing_or_unknown_token_is_401_with_a_v1_body(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = await api.http.post(
            f"{api.prefix}/v1/adgroups/query",
            json={},
            headers={**headers, "X-AP-Context": "adAccountId=4001001"},
        )
        assert response.status_code == 401
        assert error_code(response) == "UNAUTHORIZED"
        assert "ratelimit-limit" in response.headers


async def test_expired_token_is_401() -> None:
    async for api in _api("", token_ttl_s=60):
        token = await api.token()
        assert (await api.query("adgroups", {}, token=token)).status_code == 200

        api.clock.now += 61

        assert (await api.query("adgroups", {}, token=token)).status_code == 401


async def test_missing_context_is_400(api: Api) -> None:
    token = await api.token()

    response = await api.http.post(
        f"{api.prefix}/v1/adgroups/query", json={}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["info"]["field"] == "X-AP-Context"


async def test_an_account_outside_the_users_reach_is_403(api: Api) -> None:
    response = await api.query("adgroups", {}, account=SEED.accounts[2].external_id)

    assert response.status_code == 403
    assert error_code(response) == "FORBIDDEN"


# -- queries ---------------------------------------------------------------------------------


async def test_paging_reports_offset_page_size_and_total(api: Api) -> None:
    live = [r["id"] for r in SEED.data["4001001"].adgroups if not r["deleted"]]

    response = await api.query("adgroups", {"pagination": page(100, 50)})

    body = response.json()
    assert response.status_code == 200
    assert [r["id"] for r in body["result"]] == live[100:150]
    assert body["pagination"] == {"offset": 100, "pageSize": 50, "totalCount": len(live)}


async def test_total_count_only_when_asked(api: Api) -> None:
    response = await api.query("adgroups", {"pagination": page(0, 5, total=False)})

    assert response.json()["pagination"] == {"offset": 0, "pageSize": 5}


async def test_empty_body_returns_a_default_page_of_live_ad_groups(api: Api) -> None:
    response = await api.query("adgroups", {})

    result = response.json()["result"]
    assert len(result) == 20
    assert not any(r["deleted"] for r in result)
    assert [r["id"] for r in result] == sorted(r["id"] for r in result)


async def test_deleted_ad_groups_only_when_filtered(api: Api) -> None:
    rows = SEED.data["4001001"].adgroups

    only_deleted = await api.query(
        "adgroups", {"filters": [deleted(True)], "pagination": page(0, 1000)}
    )
    both = await api.query(
        "adgroups", {"filters": [deleted(True), deleted(False)], "pagination": page(0, 10)}
    )

    body = only_deleted.json()
    assert body["pagination"]["totalCount"] == sum(1 for r in rows if r["deleted"])
    assert all(r["deleted"] for r in body["result"])
    assert both.json()["result"] == []
    assert both.json()["pagination"]["totalCount"] == 0


async def test_filters_combine_with_and(api: Api) -> None:
    campaign = SEED.data["4001001"].campaigns[0]["id"]
    filters = [
        {"field": "campaignId", "operator": "EQUALS", "value": campaign},
        {"field": "status", "operator": "IN", "value": ["PAUSED"]},
        {"field": "name", "operator": "STARTS_WITH", "value": "Brand"},
    ]

    result = (await api.query("adgroups", {"filters": filters, "pagination": page(0, 1000)})).json()

    assert result["result"]
    for row in result["result"]:
        assert row["campaignId"] == campaign
        assert row["status"] == "PAUSED"
        assert row["name"].startswith("Brand")
        assert row["deleted"] is False


async def test_sorting_by_another_field(api: Api) -> None:
    body = {"sorting": [{"field": "name", "order": "DESC"}], "pagination": page(0, 30)}

    names = [r["name"] for r in (await api.query("adgroups", body)).json()["result"]]

    assert names == sorted(names, reverse=True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"filters": [{"field": "campaignId", "operator": "IN", "value": [1]}]}, "campaignId"),
        ({"filters": [{"field": "deleted", "operator": "IN", "value": [True, False]}]}, "deleted"),
        ({"filters": [{"field": "budget", "operator": "EQUALS", "value": 1}]}, "budget"),
        ({"filters": [{"field": "status", "operator": "EQUALS", "value": "RUNNING"}]}, "status"),
        ({"filters": [{"field": "id", "operator": "EQUALS", "value": "12a"}]}, "id"),
        ({"sorting": [{"field": "targeting", "order": "ASC"}]}, "targeting"),
        ({"pagination": {"offset": 0, "pageSize": 1001}}, "pagination.pageSize"),
        ({"pagination": {"offset": -1, "pageSize": 10}}, "pagination.offset"),
        ({"fields": ["id"]}, "fields"),
    ],
)
async def test_unsupported_query_parts_are_400_with_details(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = await api.query("adgroups", body)

    assert response.status_code == 400
    assert error_code(response) == "INVALID_ARGUMENT"
    assert response.json()["error"]["details"][0]["info"]["field"] == field


async def test_invalid_json_is_400(api: Api) -> None:
    token = await api.token()
    response = await api.http.post(
        f"{api.prefix}/v1/adgroups/query",
        content=b"{nope",
        headers={"Authorization": f"Bearer {token}", "X-AP-Context": "adAccountId=4001001"},
    )

    assert response.status_code == 400


async def test_campaign_query_hides_deleted_unless_asked(api: Api) -> None:
    campaigns = SEED.data["4001001"].campaigns
    every = {"field": "deleted", "operator": "IN", "value": [True, False]}

    default = (await api.query("campaigns", {"pagination": page(0, 100)})).json()
    everything = (await api.query("campaigns", {"filters": [every]})).json()
    by_id = (
        await api.query(
            "campaigns",
            {"filters": [{"field": "id", "operator": "IN", "value": [campaigns[0]["id"]]}]},
        )
    ).json()

    assert len(default["result"]) == sum(1 for c in campaigns if not c["deleted"])
    assert [c["id"] for c in everything["result"]] == [c["id"] for c in campaigns]
    assert [c["id"] for c in by_id["result"]] == [campaigns[0]["id"]]


async def test_get_ad_account(api: Api) -> None:
    token = await api.token()
    headers = {"Authorization": f"Bearer {token}", "X-AP-Context": "adAccountId=4001002"}

    ok = await api.http.get(f"{api.prefix}/v1/ad-accounts/4001002", headers=headers)
    other = await api.http.get(f"{api.prefix}/v1/ad-accounts/4001001", headers=headers)

    assert ok.status_code == 200
    result = ok.json()["result"]
    assert (result["currency"], result["timezone"]) == ("EUR", "Europe/Berlin")
    assert other.status_code == 403


# -- rate limits and faults ------------------------------------------------------------------


async def test_every_api_response_carries_rate_limit_headers(api: Api) -> None:
    first = await api.query("adgroups", {})
    second = await api.query("adgroups", {"pagination": {"pageSize": 0}})

    for response in (first, second):
        assert int(response.headers["ratelimit-limit"]) > 0
        assert 0 < int(response.headers["ratelimit-reset"]) <= 60
    remaining = int(first.headers["ratelimit-remaining"])
    assert int(second.headers["ratelimit-remaining"]) == remaining - 1


async def test_quota_throttles_with_retry_after() -> None:
    async for api in _api("", quota_per_minute=2):
        token = await api.token()
        for _ in range(2):
            assert (await api.query("adgroups", {}, token=token)).status_code == 200

        throttled = await api.query("adgroups", {}, token=token)

        assert throttled.status_code == 429
        assert error_code(throttled) == "RATE_LIMIT_EXCEEDED"
        assert throttled.headers["ratelimit-remaining"] == "0"
        assert 0 < int(throttled.headers["retry-after"]) <= 60

        api.clock.now += 61
        assert (await api.query("adgroups", {}, token=token)).status_code == 200


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("500", 500, "INTERNAL_SERVER_ERROR"),
        ("throttle", 429, "RATE_LIMIT_EXCEEDED"),
        ("auth", 401, "UNAUTHORIZED"),
    ],
)
async def test_fault_forms_are_apples_own(api: Api, kind: Any, status: int, code: str) -> None:
    token = await api.token()
    api.control.fail_next(1, kind)

    response = await api.query("adgroups", {}, token=token)

    assert response.status_code == status
    assert error_code(response) == code
    if status == 429:
        assert response.headers["retry-after"] == "7"
        assert "ratelimit-reset" in response.headers


async def test_pages_of_200_are_served_from_a_large_account() -> None:
    seed = build_seed(large_adsets=10_000)
    control = SandboxControl()
    app = create_app(seed, control)
    async with httpx.AsyncClient(transport=SandboxTransport(app), base_url="http://s") as http:
        api = Api(http, control, Clock(), "")
        token = await api.token()
        for n in range(20):
            response = await api.query("adgroups", {"pagination": page(n * 300, 200)}, token=token)
            assert len(response.json()["result"]) == 200
