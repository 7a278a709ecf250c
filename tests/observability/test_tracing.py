"""OpenTelemetry spans (the otel extra): one per request, one per upstream call under it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from gateway.app import close_runtime, create_app
from gateway.platforms.base import Platform
from gateway.sandbox.suite import SandboxSuite
from tests.gateway.conftest import ADSETS, AUTH, KEY, PROJECT

pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)


@dataclass
class Traced:
    http: httpx.AsyncClient
    exporter: InMemorySpanExporter
    suite: SandboxSuite

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
async def traced(suite: SandboxSuite) -> AsyncIterator[Traced]:
    suite.reset()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(suite.settings(key=KEY), transport=suite.transport(), tracer_provider=provider)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
    ) as http:
        yield Traced(http, exporter, suite)
    await close_runtime(app.state.runtime)
    suite.reset()


async def test_a_request_span_with_a_child_per_upstream_call(traced: Traced) -> None:
    response = await traced.http.get(ADSETS, params={"platforms": "meta_ads"}, headers=AUTH)
    assert response.status_code == 200
    spans = traced.spans()
    meta_accounts = {
        a.external_id
        for p in traced.suite.settings(key=KEY).projects
        for a in p.ad_accounts
        if a.platform is Platform.META_ADS
    }
    (server,) = [s for s in spans if s.kind.name == "SERVER"]
    clients = [s for s in spans if s.kind.name == "CLIENT"]
    assert server.name == "GET /v1/projects/{project_id}/ads/adsets"
    attributes = dict(server.attributes or {})
    assert attributes["http.response.status_code"] == 200
    assert attributes["gateway.request_id"] == response.headers["x-request-id"]
    assert attributes["gateway.project_id"] == PROJECT
    assert len(clients) == len(traced.suite.controls[Platform.META_ADS].log.entries) > 0
    for span in clients:
        assert span.parent is not None and span.parent.span_id == server.context.span_id
        client_attributes = dict(span.attributes or {})
        assert client_attributes["gateway.platform"] == "meta_ads"
        assert client_attributes["http.response.status_code"] == 200
        assert client_attributes["gateway.ad_account_id"] in meta_accounts
