"""/metrics: OpenTelemetry-style names, bounded labels, one registry per app."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gateway.platforms.base import Platform
from tests.gateway.conftest import ADSETS, PROJECT, Gateway

ROUTE = "/v1/projects/{project_id}/ads/adsets"


async def samples(gateway: Gateway) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await gateway.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_server_durations_are_by_route_template_method_and_status(gateway: Gateway) -> None:
    await gateway.rest({"limit": 1})
    await gateway.rest({"limit": 0})
    for n in range(3):  # three different unknown paths: one label
        await gateway.http.get(f"/no/such/{n}")
    found = await samples(gateway)
    name = "http_server_request_duration_seconds_count"
    common = {"http_route": ROUTE, "http_request_method": "GET"}
    assert value(found, name, **common, http_response_status_code="200") == 1
    assert value(found, name, **common, http_response_status_code="400") == 1
    other = {"http_route": "other", "http_request_method": "GET"}
    assert value(found, name, **other, http_response_status_code="404") == 3
    assert not any(PROJECT in str(labels) for _, labels in found)


async def test_upstream_calls_and_retries_are_counted(gateway: Gateway) -> None:
    # Meta answers a 500 with HTTP 500 (TikTok's errors come as HTTP 200: "ok" on the wire)
    gateway.suite.controls[Platform.META_ADS].fail_next(1, "500")
    assert (await gateway.rest({"platforms": "meta_ads", "limit": 5})).status_code == 200
    found = await samples(gateway)
    name = "http_client_request_duration_seconds_count"
    calls = len(gateway.suite.controls[Platform.META_ADS].log.entries)
    ok = value(found, name, platform="meta_ads", outcome="ok")
    failed = value(found, name, platform="meta_ads", outcome="server_error")
    assert (ok, failed) == (calls - 1, 1)
    assert value(found, "gateway_upstream_retries_total", platform="meta_ads") == 1


async def test_throttled_accounts_and_open_breakers_are_gauges(gateway: Gateway) -> None:
    gateway.suite.controls[Platform.META_ADS].fail_next(1, "throttle")
    assert (await gateway.rest({"platforms": "meta_ads"})).status_code == 503
    gateway.suite.controls[Platform.TIKTOK_ADS].fail_next(100, "500")
    for _ in range(3):  # 3 attempts each: the 5th consecutive failure opens the circuit
        assert (await gateway.rest({"platforms": "tiktok_ads"})).status_code == 502
    found = await samples(gateway)
    assert value(found, "gateway_throttled_accounts", platform="meta_ads") == 1
    assert value(found, "gateway_breaker_state", platform="tiktok_ads", state="open") >= 1


async def test_graphql_operations_by_name_and_outcome(gateway: Gateway) -> None:
    query = "query Page($p: ID!) { adSets(projectId: $p, first: 1) { totalCount } }"
    await gateway.graphql(query, {"p": PROJECT})
    await gateway.graphql("query Broken { nope }")
    await gateway.graphql("{ __typename }")
    found = await samples(gateway)
    name = "gateway_graphql_operations_total"
    assert value(found, name, operation_name="Page", outcome="ok") == 1
    assert value(found, name, operation_name="Broken", outcome="error") == 1
    assert value(found, name, operation_name="anonymous", outcome="ok") == 1


async def test_each_app_counts_its_own(gateway: Gateway) -> None:
    from gateway.app import close_runtime, create_app

    other = create_app(gateway.settings, transport=gateway.suite.transport())
    try:
        await gateway.http.get(ADSETS)
        counted = other.state.metrics.server_duration.labels(ROUTE, "GET", "401")
        assert counted._sum.get() == 0  # the other app saw nothing
        assert (
            value(
                await samples(gateway),
                "http_server_request_duration_seconds_count",
                http_route=ROUTE,
                http_request_method="GET",
                http_response_status_code="401",
            )
            == 1
        )
    finally:
        await close_runtime(other.state.runtime)
