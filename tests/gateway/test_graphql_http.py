"""GraphQL over HTTP: every request error is a 400 with its real message and a stable code,
in the media type the client asked for (GraphQL-over-HTTP)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.gateway.conftest import AUTH, PROJECT, Gateway

PAGE = """
query Page($projectId: ID!, $first: Int, $filter: AdSetFilter) {
  adSets(projectId: $projectId, first: $first, filter: $filter) { totalCount }
}
"""
TWO_OPERATIONS = """
query First { __typename }
query Second($projectId: ID!) { adSets(projectId: $projectId, first: 1) { totalCount } }
"""
BAD_ENUM_LITERAL = (
    f'{{ adSets(projectId: "{PROJECT}", filter: {{ status: [SLEEPING] }}) {{ totalCount }} }}'
)
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(gateway: Gateway, body: dict[str, Any], accept: str | None = None) -> httpx.Response:
    headers = {**AUTH, **({"Accept": accept} if accept else {})}
    return await gateway.http.post("/graphql", json=body, headers=headers)


def only_error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["data"] is None, body
    (error,) = body["errors"]
    assert isinstance(error, dict)
    return error


@pytest.mark.parametrize(
    ("variables", "message_part"),
    [
        ({}, "$projectId"),
        ({"projectId": PROJECT, "first": "ten"}, "Int cannot represent"),
        ({"projectId": PROJECT, "filter": {"status": ["SLEEPING"]}}, "SLEEPING"),
        ({"projectId": PROJECT, "filter": {"colour": "red"}}, "colour"),
    ],
    ids=["missing", "wrong-type", "bad-enum", "unknown-field"],
)
async def test_variables_that_cannot_be_used_are_a_400_with_their_real_message(
    gateway: Gateway,
    caplog: pytest.LogCaptureFixture,
    variables: dict[str, Any],
    message_part: str,
) -> None:
    caplog.set_level(logging.INFO)
    response = await post(gateway, {"query": PAGE, "variables": variables})
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"] == {"code": "invalid_variables", "requestId": request_id(response)}
    assert message_part in error["message"]
    assert "Unexpected error" not in error["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum(len(c.log.entries) for c in gateway.suite.controls.values()) == 0


async def test_an_operation_name_not_in_the_document_is_a_400(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    response = await post(
        gateway, {"query": PAGE, "variables": {"projectId": PROJECT}, "operationName": "Nope"}
    )
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"] == {"code": "unknown_operation", "requestId": request_id(response)}
    assert "Nope" in error["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_several_operations_need_an_operation_name(gateway: Gateway) -> None:
    response = await post(gateway, {"query": TWO_OPERATIONS})
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"] == {
        "code": "operation_name_required",
        "requestId": request_id(response),
    }
    assert "operationName" in error["message"]
    assert sum(len(c.log.entries) for c in gateway.suite.controls.values()) == 0


async def test_the_named_operation_of_several_runs(gateway: Gateway) -> None:
    response = await post(
        gateway,
        {"query": TWO_OPERATIONS, "variables": {"projectId": PROJECT}, "operationName": "Second"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["adSets"]["totalCount"] > 0


@pytest.mark.parametrize(
    ("query", "message_part"),
    [
        ("{ adSets(", "Syntax Error"),
        ("{ nope }", "Cannot query field 'nope'"),
        (BAD_ENUM_LITERAL, "SLEEPING"),
        ("query { __typename } query { __typename }", "anonymous"),
        ("fragment F on Query { __typename }", "no operation"),
    ],
    ids=["syntax", "unknown-field", "bad-enum-literal", "two-anonymous", "no-operation"],
)
async def test_documents_that_cannot_be_executed_are_a_400(
    gateway: Gateway, query: str, message_part: str
) -> None:
    response = await post(gateway, {"query": query})
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    expected = {"code": "graphql_invalid", "requestId": request_id(response)}
    assert all(e["extensions"] == expected for e in body["errors"]), body
    assert message_part in body["errors"][0]["message"]


async def test_the_graphql_response_media_type_is_used_when_accepted(gateway: Gateway) -> None:
    ok = await post(gateway, {"query": "{ __typename }"}, accept=GRAPHQL_RESPONSE)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == GRAPHQL_RESPONSE
    bad = await post(gateway, {"query": PAGE}, accept=f"{GRAPHQL_RESPONSE}, application/json")
    assert bad.status_code == 400
    assert bad.headers["content-type"] == GRAPHQL_RESPONSE
    plain = await post(gateway, {"query": PAGE}, accept="application/json")
    assert plain.status_code == 400
    assert plain.headers["content-type"] == "application/json"


async def test_get_requests_report_the_same_errors(gateway: Gateway) -> None:
    response = await gateway.http.get(
        "/graphql", params={"query": TWO_OPERATIONS, "operationName": "Third"}, headers=AUTH
    )
    assert response.status_code == 400
    assert only_error(response)["extensions"] == {
        "code": "unknown_operation",
        "requestId": request_id(response),
    }


def request_id(response: httpx.Response) -> str:
    """The id every error of a response carries: the one in its ``X-Request-ID``."""
    return response.headers["x-request-id"]
