"""X-Request-ID: taken from the client when safe, else generated; echoed on every response and
carried in every error body."""

from __future__ import annotations

import pytest

from tests.gateway.conftest import ADSETS, AUTH, PROJECT, Gateway
from tests.observability.conftest import CapturedLogs


@pytest.mark.parametrize(
    ("path", "status"),
    [(ADSETS, 200), ("/nowhere", 404), (f"{ADSETS}?limit=0", 400), ("/healthz", 200)],
)
async def test_every_response_has_a_generated_id(gateway: Gateway, path: str, status: int) -> None:
    first = await gateway.http.get(path, headers=AUTH)
    second = await gateway.http.get(path, headers=AUTH)
    assert first.status_code == status
    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_clients_id_is_echoed_and_logged(gateway: Gateway, logs: CapturedLogs) -> None:
    response = await gateway.rest({"limit": 0}, headers={**AUTH, "X-Request-ID": "abc-123.x"})
    assert response.headers["x-request-id"] == "abc-123.x"
    assert response.json()["error"]["requestId"] == "abc-123.x"
    (line,) = logs.events("request")
    assert line["request_id"] == "abc-123.x"


@pytest.mark.parametrize(
    "unsafe", ["x" * 129, "has space", "semi;colon", "new\\nline", "<script>", ""]
)
async def test_an_unsafe_id_is_replaced(gateway: Gateway, unsafe: str) -> None:
    response = await gateway.rest(headers={**AUTH, "X-Request-ID": unsafe})
    assert response.status_code == 200
    assert response.headers["x-request-id"] != unsafe
    assert len(response.headers["x-request-id"]) == 32


async def test_rest_errors_carry_the_id(gateway: Gateway) -> None:
    for response in (
        await gateway.rest(headers={}),
        await gateway.rest({"platforms": "myspace"}),
        await gateway.http.get("/v1/projects/prj_01HXNOPE/ads/adsets", headers=AUTH),
        await gateway.http.post(ADSETS, headers=AUTH),
    ):
        assert response.status_code in (400, 401, 404, 405)
        assert response.json()["error"]["requestId"] == response.headers["x-request-id"]


async def test_graphql_errors_carry_the_id(gateway: Gateway) -> None:
    field_error = await gateway.graphql(
        "query($p: ID!) { adSets(projectId: $p, first: 0) { totalCount } }", {"p": PROJECT}
    )
    request_error = await gateway.graphql("{ nope }")
    refused = await gateway.http.post("/graphql", json={"query": "{ __typename }"})
    bad_body = await gateway.http.post("/graphql", content=b"[", headers=AUTH)
    for response in (field_error, request_error, refused, bad_body):
        errors = response.json()["errors"]
        assert errors
        for error in errors:
            assert error["extensions"]["requestId"] == response.headers["x-request-id"]
