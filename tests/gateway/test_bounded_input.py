"""Request bodies are bounded and read only after authentication; HEAD costs no upstream call;
POST /graphql takes JSON only."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gateway.middleware import MAX_BODY_BYTES
from gateway.platforms.base import Platform
from tests.gateway.conftest import ADSETS, AUTH, PROJECT, Gateway

JSON = {"Content-Type": "application/json"}


def upstream_calls(gateway: Gateway) -> int:
    return sum(len(c.log.entries) for c in gateway.suite.controls.values())


async def test_a_declared_oversized_body_is_413_without_being_read(gateway: Gateway) -> None:
    body = b'{"query": "{ __typename }", "x": "' + b"a" * MAX_BODY_BYTES + b'"}'
    response = await gateway.http.post("/graphql", content=body, headers={**AUTH, **JSON})
    assert response.status_code == 413
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "payload_too_large"
    assert str(MAX_BODY_BYTES) in error["message"]


async def test_an_absurd_content_length_is_413_not_a_server_error(gateway: Gateway) -> None:
    # int() refuses strings of over 4,300 digits: that must not surface as a 500
    headers = {**AUTH, **JSON, "Content-Length": "9" * 5000}
    response = await gateway.http.post("/graphql", content=b"{}", headers=headers)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "payload_too_large"


async def test_a_streamed_oversized_body_is_413_as_it_arrives(gateway: Gateway) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        nonlocal sent
        for _ in range(1000):  # 64 MB if it were all read
            sent += 1
            yield b" " * 65536

    response = await gateway.http.post("/graphql", content=chunks(), headers={**AUTH, **JSON})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "payload_too_large"


async def test_a_body_just_under_the_limit_is_read(gateway: Gateway) -> None:
    padding = " " * (MAX_BODY_BYTES - 100)
    body = f'{{"query": "{{ __typename }}"{padding}}}'.encode()
    response = await gateway.http.post("/graphql", content=body, headers={**AUTH, **JSON})
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


async def test_an_unknown_caller_is_refused_before_its_body_is_read(gateway: Gateway) -> None:
    huge = b"{" * (MAX_BODY_BYTES * 4)
    response = await gateway.http.post("/graphql", content=huge, headers=JSON)
    assert response.status_code == 401
    garbage = await gateway.http.post(
        "/graphql", content=b"{not json", headers={"Authorization": "Bearer nope", **JSON}
    )
    assert garbage.status_code == 401


async def test_post_graphql_takes_json_only(gateway: Gateway) -> None:
    query = '{"query": "{ __typename }"}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**AUTH, **({"Content-Type": content_type} if content_type else {})}
        response = await gateway.http.post("/graphql", content=query, headers=headers)
        assert response.status_code == 415, content_type
        assert response.json()["errors"][0]["extensions"]["code"] == "unsupported_media_type"
    for content_type in ("application/json; charset=utf-8", "application/graphql+json"):
        response = await gateway.http.post(
            "/graphql", content=query, headers={**AUTH, "Content-Type": content_type}
        )
        assert response.status_code == 200, content_type
    get = await gateway.http.get("/graphql", params={"query": "{ __typename }"}, headers=AUTH)
    assert get.status_code == 200


async def test_head_costs_no_upstream_call(gateway: Gateway) -> None:
    gateway.suite.controls[Platform.META_ADS].log.clear()
    rest = await gateway.http.head(ADSETS, params={"limit": "200"}, headers=AUTH)
    assert rest.status_code == 200
    assert rest.headers["content-type"] == "application/json"
    query = f'{{ adSets(projectId: "{PROJECT}", first: 200) {{ edges {{ node {{ id }} }} }} }}'
    graphql = await gateway.http.head("/graphql", params={"query": query}, headers=AUTH)
    assert graphql.status_code == 200
    assert upstream_calls(gateway) == 0
    # and a HEAD is checked like a GET
    assert (await gateway.http.head(ADSETS)).status_code == 401
    assert (await gateway.http.head(ADSETS, params={"limit": "0"}, headers=AUTH)).status_code == 400
