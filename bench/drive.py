"""Requests to the gateway over HTTP: REST pages, GraphQL pages, timed, checked."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from gateway.sandbox.suite import DEMO_PROJECT_ID, demo_key

# The REST item's fields, asked for through GraphQL (same work, other wire format).
REST_FIELDS = """
  adsetId campaignId adAccountId platform externalId name status
  optimizationGoal billingEvent
  dailyBudget { amount currency } lifetimeBudget { amount currency }
  startTime endTime
  targetingSummary { geo age { min max } customAudiences placements }
  createdAt metricsSnapshot7d
"""
NESTED_FIELDS = "id name campaign { id name } adAccount { id name }"
#: The nested fields the README's example selects on each node.
README_NESTED = "campaign { name objective } adAccount { name currency }"

#: The README's GraphQL example (its nested ``campaign`` and ``adAccount`` included), with the
#: page size and cursor as variables and without its filter, so that a 100-row page spans
#: every account in scope.
README_QUERY = """query ReadmeExample($projectId: ID!, $first: Int!, $after: String) {
  adSets(projectId: $projectId, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name platform status platformStatus
      dailyBudget { amount currency }
      targetingSummary { geo age { min max } placements }
      campaign { name objective }
      adAccount { name currency }
    } }
  }
}"""
REST_PATH = f"/v1/projects/{DEMO_PROJECT_ID}/ads/adsets"


def auth_headers() -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {demo_key()}")]


def graphql_body(query: str, first: int, after: str | None = None) -> bytes:
    """The JSON body of a page request (``$projectId``, ``$first``, ``$after``)."""
    variables = {"projectId": DEMO_PROJECT_ID, "first": first, "after": after}
    return orjson.dumps({"query": query, "variables": variables})


def page_query(fields: str) -> str:
    """A first-or-next page of ``adSets`` with ``fields`` on each node."""
    return (
        "query Page($projectId: ID!, $first: Int!, $after: String) {"
        " adSets(projectId: $projectId, first: $first, after: $after) {"
        " pageInfo { hasNextPage endCursor } edges { node {" + fields + "} } } }"
    )


class GatewayClient:
    """An httpx client on one gateway with the sandbox key and the demo project."""

    def __init__(self, url: str, connections: int = 64) -> None:
        self.http = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {demo_key()}"},
            timeout=httpx.Timeout(60.0),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
        self.rest_path = REST_PATH

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.aclose()

    async def rest(self, limit: int, cursor: str | None = None) -> tuple[float, dict[str, Any]]:
        """One REST page: (seconds, body); any status but 200 raises."""
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        started = time.perf_counter()
        response = await self.http.get(self.rest_path, params=params)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"REST {response.status_code}: {response.text[:300]}")
        body: dict[str, Any] = response.json()
        return elapsed, body

    async def graphql(
        self, fields: str, first: int, after: str | None = None
    ) -> tuple[float, dict[str, Any]]:
        """One ``adSets`` page with ``fields`` on each node: (seconds, the connection)."""
        return await self.query(page_query(fields), first, after)

    async def readme(self, first: int, after: str | None = None) -> tuple[float, dict[str, Any]]:
        """One page of the README's example query: (seconds, the connection)."""
        return await self.query(README_QUERY, first, after)

    async def query(
        self, query: str, first: int, after: str | None = None
    ) -> tuple[float, dict[str, Any]]:
        """One ``adSets`` page of ``query``: (seconds, the connection); GraphQL errors raise."""
        content = graphql_body(query, first, after)
        headers = {"Content-Type": "application/json"}
        started = time.perf_counter()
        response = await self.http.post("/graphql", content=content, headers=headers)
        elapsed = time.perf_counter() - started
        body = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"GraphQL {response.status_code}: {response.text[:300]}")
        connection: dict[str, Any] = body["data"]["adSets"]
        return elapsed, connection
