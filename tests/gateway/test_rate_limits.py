"""Per-key and per-project rate limits: 429 ``rate_limited`` past either bucket, with
``Retry-After``, and the IETF ``RateLimit-Policy`` / ``RateLimit`` headers on every answer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest

from gateway.app import close_runtime, create_app
from gateway.auth import digest_key
from gateway.config import ApiKeySpec, RateLimits
from gateway.sandbox.suite import SandboxSuite
from tests.gateway.conftest import ADSETS, AUTH, KEY

OTHER_KEY = "lp_test_other_key_same_project"
OTHER_AUTH = {"Authorization": f"Bearer {OTHER_KEY}"}
QUERY = "query($p: ID!) { adSets(projectId: $p, first: 1) { totalCount } }"
POLICY = '"per-key";q=3;w=60, "per-project";q=5;w=60'


@pytest.fixture
async def http(suite: SandboxSuite) -> AsyncIterator[httpx.AsyncClient]:
    suite.reset()
    settings = suite.settings(key=KEY)
    project = settings.projects[0]
    project = replace(
        project,
        api_keys=(*project.api_keys, ApiKeySpec(digest_key(OTHER_KEY), frozenset({"ads:read"}))),
    )
    settings = replace(
        settings,
        projects=(project,),
        rate_limit=RateLimits(per_key=3, per_project=5, per_seconds=60),
    )
    app = create_app(settings, transport=suite.transport())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw.test"
    ) as client:
        yield client
    await close_runtime(app.state.runtime)
    suite.reset()


def remaining(response: httpx.Response) -> list[int]:
    return [int(r) for r in re.findall(r";r=(\d+)", response.headers["ratelimit"])]


async def test_rest_answers_carry_the_limits_and_the_fourth_request_is_429(
    http: httpx.AsyncClient,
) -> None:
    answers = [await http.get(ADSETS, params={"limit": "1"}, headers=AUTH) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert all(a.headers["ratelimit-policy"] == POLICY for a in answers)
    assert [remaining(a) for a in answers[:3]] == [[2, 4], [1, 3], [0, 2]]
    assert re.fullmatch(r'"per-key";r=0;t=\d+', answers[3].headers["ratelimit"])
    refused = answers[3]
    assert refused.json() == {
        "error": {
            "code": "rate_limited",
            "message": "too many requests; retry in 20s",
            "requestId": refused.headers["x-request-id"],
        }
    }
    assert refused.headers["retry-after"] == "20"  # 3 per 60 s: one every 20 s


async def test_a_bad_request_counts_and_still_carries_the_headers(
    http: httpx.AsyncClient,
) -> None:
    bad = await http.get(ADSETS, params={"limit": "0"}, headers=AUTH)
    assert bad.status_code == 400
    assert remaining(bad) == [2, 4]


async def test_the_project_bucket_is_shared_by_its_keys(http: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await http.get(ADSETS, params={"limit": "1"}, headers=AUTH)).status_code == 200
    answers = [await http.get(ADSETS, params={"limit": "1"}, headers=OTHER_AUTH) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited"
    assert answers[2].headers["retry-after"] == "12"  # 5 per 60 s: one every 12 s


async def test_graphql_is_limited_with_a_graphql_shaped_429(
    suite: SandboxSuite, http: httpx.AsyncClient
) -> None:
    body = {"query": QUERY, "variables": {"p": suite.settings().projects[0].id}}
    answers = [await http.post("/graphql", json=body, headers=AUTH) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["ratelimit-policy"] == POLICY
    assert answers[3].json() == {
        "data": None,
        "errors": [
            {
                "message": "too many requests; retry in 20s",
                "extensions": {
                    "code": "rate_limited",
                    "requestId": answers[3].headers["x-request-id"],
                },
            }
        ],
    }
    assert answers[3].headers["retry-after"] == "20"


async def test_unauthenticated_requests_are_answered_by_the_endpoint(
    http: httpx.AsyncClient,
) -> None:
    for _ in range(5):
        answer = await http.get(ADSETS, headers={"Authorization": "Bearer nope"})
        assert answer.status_code == 401
        assert "ratelimit" not in answer.headers
