"""The gateway command: export-schema, keys create, sandbox configuration."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.auth import Authenticator, Principal
from gateway.cli import main
from gateway.config import Settings, load_settings
from gateway.sandbox.suite import DEMO_PROJECT_ID, SandboxSuite
from gateway.schema import export_sdl
from gateway.store import open_store


def authenticate(settings: Settings, key: str) -> Principal:
    """What a freshly started gateway on ``settings`` makes of ``key``."""

    async def run() -> Principal:
        store = open_store(settings.database)
        try:
            return await Authenticator(settings, store).authenticate(f"Bearer {key}")
        finally:
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
