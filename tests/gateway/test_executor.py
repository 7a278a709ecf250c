"""The plain-field executor gives exactly what graphql-core's own execution gives."""

from __future__ import annotations

from typing import Any

from gateway.auth import Principal
from gateway.schema import build_schema
from gateway.schema.context import GraphQLContext
from tests.gateway.conftest import PROJECT, Gateway

QUERY = """
query Mixed($projectId: ID!, $skipBudget: Boolean!) {
  adSets(projectId: $projectId, first: 60) {
    totalCount
    pageInfo { ...Paging }
    edges {
      cursor
      node {
        __typename
        id
        label: name
        status
        platform
        dailyBudget @skip(if: $skipBudget) { amount currency }
        lifetimeBudget { amount }
        ...Times
        targetingSummary { geo age { min max } customAudiences placements }
        campaign { id name }
        adAccount { id name currency }
        metricsSnapshot7d
      }
    }
    sources { platform status code }
  }
}
fragment Paging on PageInfo { hasNextPage hasPreviousPage startCursor endCursor }
fragment Times on AdSet { startTime endTime createdAt }
"""


async def run(gateway: Gateway, fast: bool) -> Any:
    service = gateway.app.state.runtime.service
    context = GraphQLContext(
        principal=Principal(PROJECT, frozenset({"ads:read"})),
        service=service,
        loaders=service.loaders(PROJECT),
    )
    result = await build_schema(fast=fast).execute(
        QUERY, variable_values={"projectId": PROJECT, "skipBudget": False}, context_value=context
    )
    assert result.errors is None, result.errors
    return result.data


async def test_fast_execution_matches_graphql_core_to_the_key_order(gateway: Gateway) -> None:
    fast = await run(gateway, fast=True)
    slow = await run(gateway, fast=False)
    assert fast == slow
    first = fast["adSets"]["edges"][0]["node"]
    assert list(first) == list(slow["adSets"]["edges"][0]["node"])
    assert first["__typename"] == "AdSet"
    assert "label" in first
