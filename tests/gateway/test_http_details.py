"""HTTP around the API: probes, Allow on 405, CORS for configured origins only, docs page."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway import app as app_module
from gateway.app import close_runtime, create_app
from gateway.sandbox.suite import SandboxSuite
from tests.gateway.conftest import ADSETS, AUTH, Gateway

ORIGIN = "https://app.example.com"


async def test_healthz_is_alive_without_auth(gateway: Gateway) -> None:
    response = await gateway.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_the_store_without_auth(gateway: Gateway) -> None:
    ready = await gateway.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"configuration": "ok", "startup": "ok", "store": "ok"},
        "projects": 1,
    }
    # when the store can no longer answer
    await gateway.app.state.runtime.store.close()
    not_ready = await gateway.http.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["status"] == "not_ready"
    assert not_ready.json()["checks"]["store"] == "failed"
    # the process is still alive
    assert (await gateway.http.get("/healthz")).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", ADSETS, {"GET", "HEAD"}), ("PUT", "/graphql", {"GET", "HEAD", "POST"})],
)
async def test_405_names_the_allowed_methods(
    gateway: Gateway, method: str, path: str, allowed: set[str]
) -> None:
    response = await gateway.http.request(method, path, headers=AUTH)
    assert response.status_code == 405
    assert set(re.split(r",\s*", response.headers["allow"])) == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_cors_is_off_by_default(gateway: Gateway) -> None:
    preflight = await gateway.http.options(
        "/graphql",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = await gateway.http.get(ADSETS, headers={**AUTH, "Origin": ORIGIN})
    assert "access-control-allow-origin" not in simple.headers


@pytest.fixture
async def cors_gateway(suite: SandboxSuite) -> AsyncIterator[httpx.AsyncClient]:
    settings = dataclasses.replace(suite.settings(key="k"), cors_origins=(ORIGIN,))
    app = create_app(settings, transport=suite.transport())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http
    await close_runtime(app.state.runtime)


async def test_cors_preflight_allows_a_configured_origin_only(
    cors_gateway: httpx.AsyncClient,
) -> None:
    request = {"Access-Control-Request-Method": "POST"}
    headers = {**request, "Access-Control-Request-Headers": "authorization, content-type"}
    allowed = await cors_gateway.options("/graphql", headers={**headers, "Origin": ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in allowed.headers
    other = await cors_gateway.options(
        "/graphql", headers={**headers, "Origin": "https://evil.example.com"}
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


async def test_cors_simple_request_from_a_configured_origin(
    cors_gateway: httpx.AsyncClient,
) -> None:
    response = await cors_gateway.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": "Bearer k", "Origin": ORIGIN},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "retry-after" in response.headers["access-control-expose-headers"].lower()
    other = await cors_gateway.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": "Bearer k", "Origin": "https://evil.example.com"},
    )
    assert "access-control-allow-origin" not in other.headers


async def test_docs_page_renders_the_openapi_document_from_local_assets(gateway: Gateway) -> None:
    page = await gateway.http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '"url": "/openapi.json"' in page.text
    assert '"validatorUrl": null' in page.text
    assert "preauthorizeApiKey" not in page.text  # no demo key outside sandbox mode
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", page.text)
    for asset, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "text/css")):
        response = await gateway.http.get(f"/docs/static/{asset}")
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
        assert "max-age" in response.headers["cache-control"]
    assert (await gateway.http.get("/openapi.json")).json()["openapi"].startswith("3.1")


async def test_sandbox_mode_marks_even_an_internal_error(
    suite: SandboxSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(app_module, "openapi_document", broken)
    app = create_app(suite.settings(key="k"), transport=suite.transport(), demo_key="demo")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await http.get("/openapi.json")
    await close_runtime(app.state.runtime)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert response.headers["x-gateway-mode"] == "sandbox"


async def test_an_internal_error_still_carries_nosniff_and_cors(
    suite: SandboxSuite, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(app_module, "openapi_document", broken)
    settings = dataclasses.replace(suite.settings(key="k"), cors_origins=(ORIGIN,))
    app = create_app(settings, transport=suite.transport())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await http.get("/openapi.json", headers={"Origin": ORIGIN})
    await close_runtime(app.state.runtime)
    # a browser on an allowed origin can read the error and its request id
    assert response.status_code == 500
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.json()["error"]["requestId"] == response.headers["x-request-id"]
