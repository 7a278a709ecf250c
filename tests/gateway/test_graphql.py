"""GraphQL at /graphql: connections, node, nested loaders with upstream call counts, limits,
errors, parity with REST, GraphiQL."""

from __future__ import annotations

from typing import Any

from gateway.platforms.base import Platform
from tests.gateway.conftest import AUTH, PROJECT, Gateway

ADSETS_PAGE = """
query Page($projectId: ID!, $first: Int, $after: String, $filter: AdSetFilter) {
  adSets(projectId: $projectId, first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id adsetId campaignId adAccountId platform externalId name status
      platformStatus optimizationGoal billingEvent dailyBudget { amount currency }
      lifetimeBudget { amount currency } startTime endTime createdAt metricsSnapshot7d
      targetingSummary { geo age { min max } customAudiences placements } } }
  }
}
"""

NESTED = """
query Nested($projectId: ID!, $first: Int) {
  adSets(projectId: $projectId, first: $first) {
    edges { node { id campaign { id name externalId platformStatus } adAccount { id name } } }
  }
}
"""

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename id
    ... on AdSet { name campaign { id } }
    ... on Campaign { name adAccountId }
    ... on AdAccount { name currency }
    ... on Project { name }
  }
}
"""


async def page(gateway: Gateway, **variables: Any) -> dict[str, Any]:
    response = await gateway.graphql(ADSETS_PAGE, {"projectId": PROJECT, **variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["adSets"]
    return result


async def graphql_walk(gateway: Gateway, **variables: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    for _ in range(200):
        result = await page(gateway, first=200, after=after, **variables)
        nodes.extend(edge["node"] for edge in result["edges"])
        if not result["pageInfo"]["hasNextPage"]:
            assert len(nodes) == result["totalCount"] or result["totalCount"] is None
            return nodes
        after = result["pageInfo"]["endCursor"]
    raise AssertionError("walk did not end")


async def rest_walk(gateway: Gateway, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(200):
        extra: list[tuple[str, str]] = [("cursor", cursor)] if cursor else []
        body = (await gateway.rest([("limit", "200"), *params, *extra])).json()
        items.extend(body["items"])
        cursor = body["nextCursor"]
        if cursor is None:
            return items
    raise AssertionError("walk did not end")


async def test_connection_shape_and_first_page(gateway: Gateway) -> None:
    result = await page(gateway, first=3)
    assert len(result["edges"]) == 3
    info = result["pageInfo"]
    assert info["hasNextPage"] is True
    assert info["hasPreviousPage"] is False
    assert info["startCursor"] == result["edges"][0]["cursor"]
    assert info["endCursor"] == result["edges"][-1]["cursor"]
    node = result["edges"][0]["node"]
    assert node["id"] == node["adsetId"]
    assert node["metricsSnapshot7d"] == {}
    assert node["platform"] in {"META_ADS", "TIKTOK_ADS", "APPLE_ADS"}
    assert isinstance(result["totalCount"], int)
    assert result["totalCount"] > 3000


async def test_the_page_after_the_last_edge_is_empty_without_cursors(gateway: Gateway) -> None:
    # given every ad set of one campaign, on one page
    first = await page(gateway, first=1)
    campaign = {"campaignId": first["edges"][0]["node"]["campaignId"]}
    whole = await page(gateway, first=200, filter=campaign)
    assert whole["edges"] and not whole["pageInfo"]["hasNextPage"]
    # when the page after its last edge is asked for
    after = await page(gateway, first=200, filter=campaign, after=whole["pageInfo"]["endCursor"])
    # then it has no edges, and no cursor to start or go on from
    assert after["edges"] == []
    assert after["pageInfo"]["startCursor"] is None
    assert after["pageInfo"]["endCursor"] is None


async def test_rest_and_graphql_return_the_same_rows_in_the_same_order(gateway: Gateway) -> None:
    cases: list[tuple[list[tuple[str, str]], dict[str, Any]]] = [
        ([], {}),
        ([("status", "active,deleted")], {"filter": {"status": ["ACTIVE", "DELETED"]}}),
        ([("platforms", "apple_ads")], {"filter": {"platforms": ["APPLE_ADS"]}}),
    ]
    for params, variables in cases:
        rest = await rest_walk(gateway, params)
        graphql = await graphql_walk(gateway, **variables)
        assert [n["id"] for n in graphql] == [i["adsetId"] for i in rest]
        for node, item in zip(graphql[:300], rest[:300], strict=False):
            assert node["status"] == item["status"].upper()
            assert node["dailyBudget"] == item["dailyBudget"]
            assert node["startTime"] == item["startTime"]
            assert node["targetingSummary"] == item["targetingSummary"]


async def test_edge_cursor_resumes_after_its_edge(gateway: Gateway) -> None:
    result = await page(gateway, first=20)
    resumed = await page(gateway, first=2, after=result["edges"][9]["cursor"])
    assert [e["node"]["id"] for e in resumed["edges"]] == [
        e["node"]["id"] for e in result["edges"][10:12]
    ]
    assert resumed["pageInfo"]["hasPreviousPage"] is True


async def test_forged_after_means_first_page(gateway: Gateway) -> None:
    first = await page(gateway, first=5)
    forged = await page(gateway, first=5, after="not-a-cursor")
    assert [e["node"]["id"] for e in forged["edges"]] == [e["node"]["id"] for e in first["edges"]]


async def test_nested_campaign_and_account_cost_one_campaign_call_per_account(
    gateway: Gateway,
) -> None:
    # given a warm gateway (account currencies cached) and empty request logs
    await page(gateway, first=1)
    gateway.suite.reset()
    # when a 200-row page asks for every row's campaign and ad account
    response = await gateway.graphql(NESTED, {"projectId": PROJECT, "first": 200})
    body = response.json()
    assert "errors" not in body, body
    edges = body["data"]["adSets"]["edges"]
    assert len(edges) == 200
    assert all(e["node"]["campaign"] is not None for e in edges)
    assert all(e["node"]["adAccount"]["id"] for e in edges)
    # then campaigns were read in at most one batch per account, never one per ad set
    for platform, control in gateway.suite.controls.items():
        accounts = len(gateway.suite.accounts[platform])
        campaign_reads = [e for e in control.log.entries if _is_campaign_read(e.path, e.query)]
        assert len(campaign_reads) <= accounts, (platform, campaign_reads)
        assert len(control.log.entries) <= 3 * accounts


TOTAL_BY_FRAGMENT = """
query Total($projectId: ID!) {
  adSets(projectId: $projectId, first: 5) { ...Counted edges { node { id } } }
}
fragment Counted on AdSetConnection { ... on AdSetConnection { totalCount } }
"""

FIVE_IDS = """
query Five($projectId: ID!) { adSets(projectId: $projectId, first: 5) { edges { node { id } } } }
"""


async def test_total_count_is_exact_when_asked_for_and_costs_nothing_when_not(
    gateway: Gateway,
) -> None:
    # given a gateway that has listed the project (account sizes seen)
    cold = await page(gateway, first=5)
    ids = [e["node"]["id"] for e in cold["edges"]]
    gateway.suite.reset()
    # when a page does not select totalCount, only the accounts holding its rows are called
    body = (await gateway.graphql(FIVE_IDS, {"projectId": PROJECT})).json()
    assert [e["node"]["id"] for e in body["data"]["adSets"]["edges"]] == ids
    calls = {p: len(c.log.entries) for p, c in gateway.suite.controls.items()}
    assert 1 <= sum(calls.values()) <= 2  # the first account (Apple: live and deleted phases)
    # and when it selects totalCount (here through nested fragments), every account is asked
    gateway.suite.reset()
    body = (await gateway.graphql(TOTAL_BY_FRAGMENT, {"projectId": PROJECT})).json()
    assert body["data"]["adSets"]["totalCount"] == cold["totalCount"]
    for platform, control in gateway.suite.controls.items():
        assert len(control.log.entries) >= len(gateway.suite.accounts[platform])


def _is_campaign_read(path: str, query: str) -> bool:
    return path.endswith(("/campaign/get/", "/campaigns/query")) or "ids=" in query


async def test_node_resolves_every_kind_and_hides_unknown_ids(gateway: Gateway) -> None:
    nested = (await gateway.graphql(NESTED, {"projectId": PROJECT, "first": 1})).json()
    adset = nested["data"]["adSets"]["edges"][0]["node"]
    for node_id, typename in [
        (adset["id"], "AdSet"),
        (adset["campaign"]["id"], "Campaign"),
        (adset["adAccount"]["id"], "AdAccount"),
        (PROJECT, "Project"),
    ]:
        body = (await gateway.graphql(NODE, {"id": node_id})).json()
        assert "errors" not in body, body
        assert body["data"]["node"]["__typename"] == typename
        assert body["data"]["node"]["id"] == node_id
    for unknown in ["adg_00000000000000000000000000", "prj_01HXOTHER", "cmp_ZZZ"]:
        body = (await gateway.graphql(NODE, {"id": unknown})).json()
        assert body["data"]["node"] is None


async def test_first_out_of_range_is_a_coded_error(gateway: Gateway) -> None:
    response = await gateway.graphql(ADSETS_PAGE, {"projectId": PROJECT, "first": 201})
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "invalid_limit"
    assert body["errors"][0]["path"] == ["adSets"]


async def test_unknown_project_is_a_not_found_error(gateway: Gateway) -> None:
    body = (await gateway.graphql(ADSETS_PAGE, {"projectId": "prj_01HXNOPE"})).json()
    assert body["errors"][0]["extensions"]["code"] == "not_found"


SOURCES = """
query Page($projectId: ID!) {
  adSets(projectId: $projectId, first: 200) {
    totalCount
    edges { node { id platform } }
    sources { platform adAccountId status code retryAfter }
  }
}
"""


async def test_a_failing_platform_gives_partial_data_sources_and_coded_errors(
    gateway: Gateway,
) -> None:
    # given Meta, whose large account comes first, failing
    gateway.suite.controls[Platform.META_ADS].fail_next(100, "500")
    body = (await gateway.graphql(SOURCES, {"projectId": PROJECT})).json()
    # then the healthy accounts' rows come back, with the failure stated twice over
    connection = body["data"]["adSets"]
    assert len(connection["edges"]) == 200
    assert {e["node"]["platform"] for e in connection["edges"]} <= {"TIKTOK_ADS", "APPLE_ADS"}
    assert connection["totalCount"] is None
    statuses = {(s["platform"], s["status"]) for s in connection["sources"]}
    assert ("META_ADS", "FAILED") in statuses
    assert ("META_ADS", "OK") not in statuses
    errors = body["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"upstream_unavailable"}
    assert all(e["extensions"]["platform"] == "meta_ads" for e in errors)
    assert all(e["extensions"]["adAccountId"].startswith("aa_") for e in errors)
    assert all(e["path"] == ["adSets"] for e in errors)
    assert "Traceback" not in str(body)


async def test_missing_key_is_401_and_bad_body_is_400(gateway: Gateway) -> None:
    unauthorized = await gateway.http.post("/graphql", json={"query": "{ __typename }"})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["www-authenticate"] == "Bearer"
    assert unauthorized.json()["errors"][0]["extensions"]["code"] == "unauthenticated"
    bad = await gateway.http.post(
        "/graphql", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["extensions"]["code"] == "bad_request"


async def test_graphiql_page_is_served_to_browsers_without_a_cdn(gateway: Gateway) -> None:
    response = await gateway.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "/graphiql/static/" in response.text
    assert "https://" not in response.text
    asset = await gateway.http.get("/graphiql/static/graphiql.min.js")
    assert asset.status_code == 200
