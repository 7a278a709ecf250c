"""What a key can learn or impose: introspection and suggestions off unless configured, platform
regain times capped, and the sandbox's public cursor secret refused in a configuration."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import close_runtime, create_app
from gateway.config import load_settings
from gateway.errors import ConfigError
from gateway.platforms.base import Platform
from gateway.resilience.throttle import MAX_REGAIN_SECONDS, ThrottleState
from gateway.sandbox.suite import SandboxSuite
from tests.gateway.conftest import AUTH, KEY, Gateway

INTROSPECTION = "{ __schema { queryType { name } } }"
TYPO = "{ __typename adSetz }"


async def graphql(app: Starlette, query: str) -> dict[str, object]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway.test",
    ) as http:
        response = await http.post("/graphql", json={"query": query}, headers=AUTH)
        body: dict[str, object] = response.json()
        return body


async def test_sandbox_mode_answers_introspection_and_suggests(gateway: Gateway) -> None:
    assert gateway.settings.graphql_introspection
    body = (await gateway.graphql(INTROSPECTION)).json()
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    typo = (await gateway.graphql(TYPO)).json()
    assert "Did you mean" in typo["errors"][0]["message"]


async def test_introspection_and_suggestions_off_when_configured_off(suite: SandboxSuite) -> None:
    settings = replace(suite.settings(key=KEY), graphql_introspection=False)
    app = create_app(settings, transport=suite.transport())
    try:
        body = await graphql(app, INTROSPECTION)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "graphql_invalid"  # type: ignore[index]
        typo = await graphql(app, TYPO)
        message = typo["errors"][0]["message"]  # type: ignore[index]
        assert "adSetz" in message and "Did you mean" not in message
        assert (await graphql(app, "{ __typename }"))["data"] == {"__typename": "Query"}
    finally:
        await close_runtime(app.state.runtime)


def test_introspection_is_off_unless_the_file_turns_it_on(tmp_path: Path) -> None:
    secret = 'cursor_secret = "a-secret-of-our-own-0123456789"\n'
    path = tmp_path / "gateway.toml"
    path.write_text("[gateway]\n" + secret)
    assert load_settings(path).graphql_introspection is False
    path.write_text("[gateway]\n" + secret + "graphql_introspection = true\n")
    assert load_settings(path).graphql_introspection is True
    path.write_text("[gateway]\n" + secret + 'graphql_introspection = "yes"\n')
    with pytest.raises(ConfigError):
        load_settings(path)


def test_a_day_long_regain_time_is_capped() -> None:
    now = [0.0]
    state = ThrottleState(clock=lambda: now[0])
    scope = ("meta_ads", "act_1")
    assert state.block(Platform.META_ADS, scope, 1440 * 60.0) == MAX_REGAIN_SECONDS == 900.0
    now[0] = 901.0
    assert state.blocked_for(scope) is None
    assert ThrottleState(max_regain=60.0).block(Platform.META_ADS, scope, 3600.0) == 60.0


async def test_a_meta_regain_of_a_day_reaches_clients_capped(gateway: Gateway) -> None:
    control = gateway.suite.controls[Platform.META_ADS]
    control.throttle_regain_minutes = 1440
    control.fail_next(100, "throttle")
    try:
        response = await gateway.rest({"limit": "200"})
    finally:
        control.throttle_regain_minutes = 5
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) <= 900
    waits = [s["retryAfter"] for s in response.json()["error"]["sources"] if s["retryAfter"]]
    assert waits and max(waits) <= 900


def test_the_public_sandbox_secret_is_refused_at_load(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('[gateway]\ncursor_secret = "sandbox-cursor-secret-not-for-production"\n')
    with pytest.raises(ConfigError, match="public"):
        load_settings(path)
    path.write_text(
        '[gateway]\ncursor_secret = ["a-secret-of-our-own-0123456789", '
        '"sandbox-cursor-secret-not-for-production"]\n'
    )
    with pytest.raises(ConfigError):
        load_settings(path)


def test_written_sandbox_configs_carry_a_fresh_secret_each(suite: SandboxSuite) -> None:
    first = suite.config_toml("http://127.0.0.1:9000")
    second = suite.config_toml("http://127.0.0.1:9000")
    secret_line = [line for line in first.splitlines() if line.startswith("cursor_secret")]
    assert secret_line and secret_line != [
        line for line in second.splitlines() if line.startswith("cursor_secret")
    ]
    assert "sandbox-cursor-secret-not-for-production" not in first


async def test_request_error_messages_do_not_echo_unbounded_input(gateway: Gateway) -> None:
    # given a document naming a 90,000-character field that does not exist
    document = "{ " + "f" * 90_000 + " }"
    response = await gateway.http.post("/graphql", json={"query": document}, headers=AUTH)
    # then the error quotes a bounded prefix of it
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "graphql_invalid"
    assert len(error["message"]) <= 301
    assert len(response.content) < 2_000
