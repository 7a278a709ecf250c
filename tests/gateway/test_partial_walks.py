"""Partial walks (``allowPartial``) end without spinning and never lose a row silently.

A page whose accounts fail carries a wait (``Retry-After`` and ``retryAfter`` in sources); a
page that would hold no row only because its accounts fail is an error with that wait, not an
empty 200 with a cursor to spin on; an account that refuses us is declared ``refused``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gateway.platforms.base import Platform
from tests.gateway.conftest import PROJECT, Gateway
from tests.gateway.test_rest import validate

PLATFORMS = (Platform.META_ADS, Platform.TIKTOK_ADS, Platform.APPLE_ADS)


def fail_everywhere(gateway: Gateway, kind: Any) -> None:
    for platform in PLATFORMS:
        gateway.suite.controls[platform].fail_next(10_000, kind)


async def test_every_account_failing_is_an_error_with_a_wait_not_an_empty_page(
    gateway: Gateway,
) -> None:
    fail_everywhere(gateway, "500")
    response = await gateway.rest({"allowPartial": "true"})
    assert response.status_code == 502
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    validate(body, "Error")
    error = body["error"]
    assert error["code"] == "upstream_unavailable"
    assert {s["status"] for s in error["sources"]} == {"failed"}
    assert all(s["retryAfter"] and s["retryAfter"] > 0 for s in error["sources"])


async def test_a_502_without_allow_partial_carries_retry_after(gateway: Gateway) -> None:
    gateway.suite.controls[Platform.META_ADS].fail_next(10_000, "500")
    response = await gateway.rest({"limit": "200"})
    assert response.status_code == 502
    assert int(response.headers["retry-after"]) >= 1
    failed = [s for s in response.json()["error"]["sources"] if s["status"] != "ok"]
    assert failed and all(s["retryAfter"] for s in failed)


async def test_a_partial_page_states_the_wait_of_each_failed_account(gateway: Gateway) -> None:
    gateway.suite.controls[Platform.META_ADS].fail_next(10_000, "500")
    body = (await gateway.rest({"limit": "200", "allowPartial": "true"})).json()
    failed = [s for s in body["sources"] if s["status"] != "ok"]
    assert failed and all(s["retryAfter"] and s["retryAfter"] > 0 for s in failed)


async def test_every_account_throttled_is_a_503_with_the_platforms_wait(gateway: Gateway) -> None:
    fail_everywhere(gateway, "throttle")
    response = await gateway.rest({"allowPartial": "true"})
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == "upstream_throttled"


async def test_an_account_refusing_us_is_declared_refused(gateway: Gateway) -> None:
    gateway.suite.controls[Platform.META_ADS].fail_next(10_000, "auth")
    response = await gateway.rest({"limit": "200", "allowPartial": "true"})
    assert response.status_code == 200
    body = response.json()
    validate(body, "AdSetPage")
    meta = [s for s in body["sources"] if s["platform"] == "meta_ads"]
    assert meta and {s["status"] for s in meta} == {"refused"}
    assert {s["code"] for s in meta} == {"upstream_auth_failed"}


async def rows_by_account(gateway: Gateway) -> dict[str, set[str]]:
    rows: dict[str, set[str]] = defaultdict(set)
    cursor: str | None = None
    for _ in range(100):
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        body = (await gateway.rest(params)).json()
        for item in body["items"]:
            rows[item["adAccountId"]].add(item["adsetId"])
        cursor = body["nextCursor"]
        if cursor is None:
            return rows
    raise AssertionError("the clean walk did not end")


async def test_with_auth_faults_missing_rows_are_always_declared(gateway: Gateway) -> None:
    expected = await rows_by_account(gateway)
    for seed, platform in enumerate(PLATFORMS):
        control = gateway.suite.controls[platform]
        control.faults = ("auth",)
        control.fault_rate = 0.1
        control._rng.seed(seed)
    seen: list[str] = []
    refused: set[str] = set()
    cursor: str | None = None
    for _ in range(400):
        params = {"limit": "200", "allowPartial": "true", **({"cursor": cursor} if cursor else {})}
        response = await gateway.rest(params)
        if response.status_code != 200:  # every account of the page refused or failed: retry
            assert response.status_code in (502, 503) and response.headers["retry-after"]
            continue
        body = response.json()
        seen += [item["adsetId"] for item in body["items"]]
        refused |= {s["adAccountId"] for s in body["sources"] if s["status"] == "refused"}
        cursor = body["nextCursor"]
        if cursor is None:
            break
    else:
        raise AssertionError("the walk did not end")
    assert len(seen) == len(set(seen))  # no duplicates
    missing = set().union(*expected.values()) - set(seen)
    undeclared = {r for account, ids in expected.items() if account not in refused for r in ids}
    assert not missing & undeclared


GRAPHQL_PAGE = """
query ($projectId: ID!) {
  project(id: $projectId) {
    adSets(first: 50) {
      pageInfo { hasNextPage endCursor }
      sources { status retryAfter }
    }
  }
}
"""


async def test_graphql_never_says_next_page_without_end_cursor(gateway: Gateway) -> None:
    fail_everywhere(gateway, "throttle")
    body = (await gateway.graphql(GRAPHQL_PAGE, {"projectId": PROJECT})).json()
    project = (body.get("data") or {}).get("project") or {}
    connection = project.get("adSets")
    if connection is not None:
        info = connection["pageInfo"]
        assert not info["hasNextPage"] or info["endCursor"]
    else:
        codes = {e["extensions"]["code"] for e in body["errors"]}
        assert codes == {"upstream_throttled"}
        assert all(e["extensions"]["retryAfter"] >= 1 for e in body["errors"])
