"""GraphQL limits, each shown with a valid document and told apart by ``extensions.code``:
depth, aliases, tokens, document size and cost (listings counted where they run)."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_introspection_query

from gateway.auth import READ_SCOPE, Principal
from gateway.loaders import RequestLoaders
from gateway.platforms.base import Platform
from gateway.schema import MAX_ALIASES, MAX_DEPTH, MAX_DOCUMENT_CHARS, MAX_TOKENS, build_schema
from gateway.schema.context import GraphQLContext
from gateway.schema.errors import format_error
from gateway.schema.limits import MAX_COSTLY_FIELDS, ListingBudget, QueryTooCostlyError
from tests.gateway.conftest import PROJECT, Gateway

FRAGMENT_29 = (
    "query { "
    + " ".join(f'p{i}: project(id: "{PROJECT}") {{ ...Listing }}' for i in range(29))
    + " } fragment Listing on Project { adSets(first: 200) { edges { node { id } } } }"
)


def upstream_calls(gateway: Gateway) -> int:
    return sum(len(c.log.entries) for c in gateway.suite.controls.values())


async def rejected(gateway: Gateway, document: str, variables: dict[str, Any] | None = None) -> str:
    """The code of the single error a rejected document gets; nothing may reach a platform."""
    response = await gateway.graphql(document, variables)
    body = response.json()
    assert response.status_code == 400, body
    assert body["data"] is None
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert len(codes) == 1, body
    assert upstream_calls(gateway) == 0
    (code,) = codes
    return str(code)


async def test_a_fragment_spread_by_29_aliases_is_rejected_before_any_call(
    gateway: Gateway,
) -> None:
    assert await rejected(gateway, FRAGMENT_29) == "query_too_costly"


async def test_listings_are_counted_through_nested_fragments_and_inline_fragments(
    gateway: Gateway,
) -> None:
    document = (
        "query { a: project(id: $p) { ...Two } b: project(id: $p) { ...Two } "
        "c: node(id: $p) { ... on Project { adSets(first: 1) { totalCount } } } } "
        "fragment Two on Project { ...One x: adSets(first: 1) { totalCount } } "
        "fragment One on Project { adSets(first: 1) { totalCount } }"
    ).replace("query {", "query Q($p: ID!) {")
    # 2 aliases x 2 listings + node + its listing = 6 > 5
    assert await rejected(gateway, document, {"p": PROJECT}) == "query_too_costly"


async def test_five_listings_with_edges_and_nodes_fit(gateway: Gateway) -> None:
    document = (
        "query { "
        + " ".join(
            f'a{i}: adSets(projectId: "{PROJECT}", first: 2) {{ edges {{ cursor node {{ id }} }} }}'
            for i in range(MAX_COSTLY_FIELDS)
        )
        + " }"
    )
    body = (await gateway.graphql(document)).json()
    assert "errors" not in body, body
    assert all(len(body["data"][f"a{i}"]["edges"]) == 2 for i in range(MAX_COSTLY_FIELDS))


async def test_six_listings_are_rejected_before_any_call(gateway: Gateway) -> None:
    document = (
        "query { "
        + " ".join(
            f'a{i}: adSets(projectId: "{PROJECT}", first: 2) {{ totalCount }}'
            for i in range(MAX_COSTLY_FIELDS + 1)
        )
        + " }"
    )
    assert await rejected(gateway, document) == "query_too_costly"


async def test_depth_limit(gateway: Gateway) -> None:
    # 11 fields deep, valid, and within graphql-core's own introspection list-depth rule
    # (two nested ``fields`` lists)
    deep = (
        "query { __schema { directives { args { type { fields { args { type { fields { args { "
        "type { enumValues { name } } } } } } } } } } } }"
    )
    assert MAX_DEPTH == 10
    assert await rejected(gateway, deep) == "query_too_deep"
    fits = deep.replace("enumValues { name }", "name")
    body = (await gateway.graphql(fits)).json()
    assert "errors" not in body, body["errors"]


async def test_graphiqls_introspection_query_is_within_the_limits(gateway: Gateway) -> None:
    # its TypeRef nests ofType seven times: a chain of single objects, not depth
    query = get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True
    )
    body = (await gateway.graphql(query)).json()
    assert "errors" not in body, body["errors"]
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_alias_limit(gateway: Gateway) -> None:
    document = (
        "query { "
        + " ".join(f'a{i}: project(id: "{PROJECT}") {{ id }}' for i in range(MAX_ALIASES + 1))
        + " }"
    )
    assert await rejected(gateway, document) == "too_many_aliases"


async def test_token_limit_counts_every_token_comments_too(gateway: Gateway) -> None:
    plain = "query { " + "__typename " * (MAX_TOKENS + 1) + "}"
    assert await rejected(gateway, plain) == "too_many_tokens"
    comments = "query { __typename }\n" + "#c\n" * MAX_TOKENS
    assert await rejected(gateway, comments) == "too_many_tokens"


@pytest.mark.parametrize("filler", ["#", " "])
async def test_document_size_limit(gateway: Gateway, filler: str) -> None:
    document = "query { __typename }\n#" + filler * MAX_DOCUMENT_CHARS
    assert await rejected(gateway, document) == "document_too_large"


async def test_a_maximal_document_within_every_limit_runs(gateway: Gateway) -> None:
    head = "query { __typename }\n#"
    document = head + "x" * (MAX_DOCUMENT_CHARS - len(head))
    body = (await gateway.graphql(document)).json()
    assert body == {"data": {"__typename": "Query"}}


async def test_the_execution_budget_stops_a_listing_before_it_calls_anything(
    gateway: Gateway,
) -> None:
    # given a request whose budget holds one listing (the validation count is bypassed by
    # running the schema directly with the rules' own budget type)
    runtime = gateway.app.state.runtime
    project = gateway.settings.project(PROJECT)
    assert project is not None
    principal = Principal(PROJECT, frozenset({READ_SCOPE}))
    context = GraphQLContext(
        principal=principal,
        service=runtime.service,
        loaders=RequestLoaders(runtime.clients, project.ad_accounts),
        budget=ListingBudget(1),
    )
    document = (
        f'query {{ a: adSets(projectId: "{PROJECT}", first: 1, '
        "filter: { platforms: [META_ADS] }) "
        "{ edges { node { id } } } "
        f'b: adSets(projectId: "{PROJECT}", first: 1, filter: {{ platforms: [TIKTOK_ADS] }}) '
        "{ edges { node { id } } } }"
    )
    result = await build_schema().execute(document, context_value=context)
    # then the first listing runs (Meta is asked), the second errors with its code and calls
    # nothing (adSets is non-null, so the error nulls the whole answer)
    (error,) = [format_error(e) for e in result.errors or ()]
    assert error["extensions"]["code"] == "query_too_costly"
    assert error["path"] == ["b"]
    assert result.data is None
    assert gateway.suite.controls[Platform.META_ADS].log.entries
    assert gateway.suite.controls[Platform.TIKTOK_ADS].log.entries == []


def test_a_budget_gives_out_exactly_its_units() -> None:
    budget = ListingBudget(2)
    budget.spend()
    budget.spend()
    with pytest.raises(QueryTooCostlyError):
        budget.spend()
