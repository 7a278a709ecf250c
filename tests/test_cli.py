"""The gateway command: serve (fails closed), demo, export-schema, keys create, sandbox
configuration, --version and help."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from gateway import cli
from gateway.app import close_runtime
from gateway.auth import Authenticator, Principal
from gateway.cli import main
from gateway.config import Settings, load_settings
from gateway.errors import AuthenticationError
from gateway.sandbox.suite import DEFAULT_DEMO_KEY, DEMO_PROJECT_ID, SandboxSuite
from gateway.schema import export_sdl
from gateway.store import open_store


def authenticate(settings: Settings, key: str) -> Principal:
    """What a freshly started gateway on ``settings`` makes of ``key``."""

    async def run() -> Principal:
        store = open_store(settings.database)
        auth = Authenticator(settings, store)
        try:
            return await auth.authenticate(f"Bearer {key}")
        finally:
            await auth.aclose()
            await store.close()

    return asyncio.run(run())


def test_export_schema_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-schema"]) == 0
    assert capsys.readouterr().out == export_sdl()


def test_sandbox_config_round_trips_and_keys_create_stores_a_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    suite = SandboxSuite.build(large_adsets=10)
    config = tmp_path / "sandbox.toml"
    config.write_text(suite.config_toml("http://127.0.0.1:8100"), encoding="utf-8")
    settings = load_settings(config, {})
    (project,) = settings.projects
    assert project.id == DEMO_PROJECT_ID
    assert list(project.ad_accounts) == suite.all_accounts()
    assert [dict(a.credentials) for a in project.ad_accounts] == [
        dict(a.credentials) for a in suite.all_accounts()
    ]
    # when a key is created for the project
    assert main(["keys", "create", "--project", DEMO_PROJECT_ID, "--config", str(config)]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("lp_live_")
    # then only its digest is stored, and it authenticates
    database = (tmp_path / "gateway.db").read_bytes()
    assert key.encode() not in database
    assert authenticate(settings, key).project_id == DEMO_PROJECT_ID


def test_keys_create_for_an_unknown_project_fails(tmp_path: Path) -> None:
    suite = SandboxSuite.build(large_adsets=10)
    config = tmp_path / "sandbox.toml"
    config.write_text(suite.config_toml("http://127.0.0.1:8100"), encoding="utf-8")
    assert main(["keys", "create", "--project", "prj_01HXNOPE", "--config", str(config)]) == 2


def test_configuration_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[gateway]\ncursor_secret = 'x'\n", encoding="utf-8")
    assert main(["keys", "create", "--project", "prj_X", "--config", str(bad)]) == 2
    assert "cursor_secret" in capsys.readouterr().err


def test_keys_lifecycle_from_another_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a configuration in one folder, and commands run from another
    suite = SandboxSuite.build(large_adsets=10)
    (tmp_path / "conf").mkdir()
    (tmp_path / "elsewhere").mkdir()
    config = tmp_path / "conf" / "gateway.toml"
    config.write_text(suite.config_toml("http://127.0.0.1:8100"), encoding="utf-8")
    monkeypatch.chdir(tmp_path / "elsewhere")
    settings = load_settings(config, {})
    keys = ["keys"]
    at = ["--config", str(config)]

    # when a key is created, it lands in the configuration's folder and works
    assert main([*keys, "create", "--project", DEMO_PROJECT_ID, "--expires-in", "30", *at]) == 0
    key = capsys.readouterr().out.strip()
    assert (tmp_path / "conf" / "gateway.db").exists()
    assert not (tmp_path / "elsewhere" / "gateway.db").exists()
    principal = authenticate(settings, key)
    assert principal.key_id is not None and key.startswith(f"lp_live_{principal.key_id}_")

    # the listing names it by id, never by secret, and says when it was last used
    assert main([*keys, "list", *at]) == 0
    listing = capsys.readouterr().out
    header, row = listing.splitlines()
    assert " ".join(header.split()) == "KEY ID PROJECT SCOPES CREATED LAST USED EXPIRES REVOKED"
    cells = row.split()
    assert cells[:3] == [principal.key_id, DEMO_PROJECT_ID, "ads:read"]
    assert cells[4] != "-" and cells[5] != "-" and cells[6] == "-"  # used, expires, not revoked
    secret = key.removeprefix(f"lp_live_{principal.key_id}_")  # may hold "_" itself
    assert secret != key and secret not in listing

    # rotation prints a new key; the old one is refused from then on
    assert main([*keys, "rotate", principal.key_id, *at]) == 0
    new_key = capsys.readouterr().out.strip()
    assert new_key != key
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate(settings, key)
    renewed = authenticate(settings, new_key)
    assert renewed.project_id == DEMO_PROJECT_ID
    assert renewed.key_id is not None

    # revocation refuses the new one too; revoking twice or an unknown id is an error
    assert main([*keys, "revoke", renewed.key_id, *at]) == 0
    with pytest.raises(AuthenticationError, match="revoked"):
        authenticate(settings, new_key)
    assert main([*keys, "revoke", renewed.key_id, *at]) == 2
    assert main([*keys, "rotate", "01HXNOPE000000", *at]) == 2
    assert "no active key" in capsys.readouterr().err


class Served:
    """What ``gateway serve`` handed to uvicorn instead of listening."""

    def __init__(self) -> None:
        self.calls: list[tuple[Starlette, str, int]] = []

    def run(self, app: Starlette, *, host: str, port: int, **_: object) -> None:
        self.calls.append((app, host, port))


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    served = Served()
    monkeypatch.setattr(uvicorn, "run", served.run)
    # The heap is frozen for a serving process only, never for the test run.
    monkeypatch.setattr(cli, "settle_heap", lambda: None)
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    monkeypatch.delenv("GATEWAY_SANDBOX_KEY", raising=False)
    # serve configures the root logger for the process; the test run keeps its own
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield served
    root.handlers[:] = handlers
    root.setLevel(level)


async def _get(app: Starlette, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        return await http.get(path, headers=headers)


def test_serve_without_configuration_refuses_to_start(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve"]) == 2
    assert served.calls == []
    err = capsys.readouterr().err
    assert "no configuration" in err
    assert "--sandbox" in err
    assert "gateway demo" in err


def test_sandbox_and_a_configuration_exclude_each_other(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "sandbox.toml"
    config.write_text(SandboxSuite.build(large_adsets=10).config_toml("http://127.0.0.1:9"))
    assert main(["serve", "--sandbox", "--config", str(config)]) == 2
    monkeypatch.setenv("GATEWAY_CONFIG", str(config))
    assert main(["serve", "--sandbox"]) == 2
    assert served.calls == []


@pytest.mark.parametrize("argv", [["serve", "--sandbox"], ["demo"]])
async def test_sandbox_mode_says_so_at_start_and_in_every_response(
    served: Served, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 0
    ((app, host, port),) = served.calls
    assert (host, port) == ("127.0.0.1", 8000)
    assert "SANDBOX MODE" in capsys.readouterr().out
    page = await _get(
        app,
        f"/v1/projects/{DEMO_PROJECT_ID}/ads/adsets?limit=1",
        {"Authorization": f"Bearer {DEFAULT_DEMO_KEY}"},
    )
    assert page.status_code == 200
    assert len(page.json()["items"]) == 1
    missing = await _get(app, "/nope")
    probe = await _get(app, "/healthz")
    graphiql = await _get(app, "/graphql", {"Accept": "text/html"})
    for response in (page, missing, probe, graphiql):
        assert response.headers["x-gateway-mode"] == "sandbox"
    # GraphiQL's first click needs the project and the key: both are pre-filled
    assert r'"variables": "{\n  \"projectId\": \"' + DEMO_PROJECT_ID in graphiql.text
    assert r'"defaultHeaders": "{\"Authorization\": \"Bearer ' + DEFAULT_DEMO_KEY in graphiql.text
    await close_runtime(app.state.runtime)


def test_a_configured_gateway_serves_no_fakes(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "gateway.toml"
    config.write_text(SandboxSuite.build(large_adsets=10).config_toml("http://127.0.0.1:9"))
    monkeypatch.setenv("GATEWAY_CONFIG", str(config))
    assert main(["serve", "--host", "0.0.0.0", "--port", "8080"]) == 0  # noqa: S104
    ((app, host, port),) = served.calls
    assert (host, port) == ("0.0.0.0", 8080)  # noqa: S104

    async def ask_with_the_demo_key() -> httpx.Response:
        try:
            return await _get(
                app,
                f"/v1/projects/{DEMO_PROJECT_ID}/ads/adsets",
                {"Authorization": f"Bearer {DEFAULT_DEMO_KEY}-not-configured"},
            )
        finally:
            await close_runtime(app.state.runtime)

    demo = asyncio.run(ask_with_the_demo_key())
    assert demo.status_code == 401
    assert "x-gateway-mode" not in demo.headers


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"gateway {metadata.version('adset-gateway')}"


def test_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--host HOST interface to listen on (default: 127.0.0.1)" in out
    assert "--port PORT port to listen on (default: 8000)" in out
    assert "(default: None)" not in out


async def test_metrics_port_serves_metrics_apart(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--port", "8000", "--metrics-port", "0"]) == 0
    ((app, _, _),) = served.calls
    server = app.state.metrics_server
    try:
        assert (await _get(app, "/healthz")).status_code == 200
        assert (await _get(app, "/metrics")).status_code == 404  # not on the main port
        port = server.server_port
        assert f"metrics on http://127.0.0.1:{port}/metrics" in capsys.readouterr().out
        async with httpx.AsyncClient() as http:
            scraped = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert scraped.status_code == 200
        assert 'http_server_request_duration_seconds_count{http_request_method="GET",' in (
            scraped.text
        )
        assert 'http_route="/healthz"' in scraped.text
    finally:
        server.shutdown()
        server.server_close()
        await close_runtime(app.state.runtime)


async def test_logs_are_json_lines_with_the_chosen_level(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--log-level", "warning"]) == 0
    ((app, _, _),) = served.calls
    await close_runtime(app.state.runtime)
    root = logging.getLogger()
    assert root.level == logging.WARNING
    logging.getLogger("gateway.test").warning("access_token=abcdef123456 seen")
    err = capsys.readouterr().err.strip().splitlines()[-1]
    line = json.loads(err)
    assert line["level"] == "warning"
    assert line["message"] == "access_token=[REDACTED] seen"
