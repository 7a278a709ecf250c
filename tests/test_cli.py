"""The gateway command: export-schema, keys create, sandbox configuration."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.auth import Authenticator, Principal
from gateway.cli import main
from gateway.config import Settings, load_settings
from gateway.errors import AuthenticationError
from gateway.sandbox.suite import DEMO_PROJECT_ID, SandboxSuite
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
    assert key.split("_")[-1] not in listing

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
