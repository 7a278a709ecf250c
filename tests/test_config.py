"""The configuration contract: TOML + environment, validated with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_settings
from gateway.errors import ConfigError
from gateway.platforms.base import Platform

VALID = """
[gateway]
cursor_secret = "${SECRET}"
database = "sqlite:///data/gw.db"

[platforms.meta_ads]
base_url = "http://127.0.0.1:9/meta/"
api_version = "v24.0"

[[projects]]
id = "prj_01HX9Y7K8M2P4RSTUV56789AB"
name = "Acme"
api_keys = [{ sha256 = "%s", scopes = ["ads:read"] }]

[[projects.ad_accounts]]
platform = "meta_ads"
external_id = "act_1234567890"
name = "Acme US"
credentials = { access_token = "${META_TOKEN}" }
""" % ("ab" * 32)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_with_environment_references(tmp_path: Path) -> None:
    env = {"SECRET": "s" * 20, "META_TOKEN": "EAAB-token"}
    settings = load_settings(write(tmp_path, VALID), env)
    assert settings.cursor_secret == b"s" * 20
    # relative to the configuration file's folder, wherever the command runs
    assert settings.database_path == str(tmp_path / "data" / "gw.db")
    meta = settings.platforms[Platform.META_ADS]
    assert meta.base_url == "http://127.0.0.1:9/meta"
    assert meta.api_version == "v24.0"
    assert settings.platforms[Platform.APPLE_ADS].base_url == "https://api.ads.apple.com"
    (project,) = settings.projects
    assert project.ad_accounts[0].credentials == {"access_token": "EAAB-token"}
    assert "EAAB-token" not in repr(project)


def test_cursor_secret_list_the_first_signs_and_all_verify(tmp_path: Path) -> None:
    text = VALID.replace(
        'cursor_secret = "${SECRET}"', 'cursor_secret = ["${SECRET}", "old-secret-0123456789"]'
    )
    settings = load_settings(write(tmp_path, text), {"SECRET": "s" * 20, "META_TOKEN": "t"})
    assert settings.cursor_secret == b"s" * 20
    assert settings.cursor_secrets == (b"s" * 20, b"old-secret-0123456789")
    assert b"old-secret" not in repr(settings).encode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('cursor_secret = "${SECRET}"', 'cursor_secret = "short"'), "cursor_secret"),
        (('cursor_secret = "${SECRET}"', "cursor_secret = []"), "cursor_secret"),
        (('cursor_secret = "${SECRET}"', 'cursor_secret = ["${SECRET}", "short"]'), "list"),
        (('cursor_secret = "${SECRET}"', 'cursor_secret = ["${SECRET}", 5]'), "cursor_secret"),
        (('platform = "meta_ads"', 'platform = "snapchat"'), "unknown platform"),
        (('credentials = { access_token = "${META_TOKEN}" }', "credentials = {}"), "access_token"),
        (('"${META_TOKEN}"', '"${MISSING_VAR}"'), "MISSING_VAR"),
        (('id = "prj_01HX9Y7K8M2P4RSTUV56789AB"', 'id = "project-1"'), "projects[0].id"),
        (('sha256 = "abab', 'sha256 = "zz'), "sha256"),
        (('database = "sqlite:///data/gw.db"', 'database = "mysql://x"'), "sqlite"),
    ],
)
def test_invalid_files_name_the_problem(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    env = {"SECRET": "s" * 20, "META_TOKEN": "t"}
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, VALID.replace(*change)), env)
    assert message in info.value.message


def test_database_urls(tmp_path: Path) -> None:
    env = {"SECRET": "s" * 20, "META_TOKEN": "t"}
    url = "postgresql://postgres@127.0.0.1:5432/test"
    pg = load_settings(write(tmp_path, VALID.replace("sqlite:///data/gw.db", url)), env)
    assert pg.database == url
    absolute = tmp_path / "elsewhere.db"
    at = load_settings(write(tmp_path, VALID.replace("data/gw.db", str(absolute))), env)
    assert at.database_path == str(absolute)
    memory = load_settings(write(tmp_path, VALID.replace("data/gw.db", ":memory:")), env)
    assert memory.database_path == ":memory:"


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", {})
    with pytest.raises(ConfigError, match="TOML"):
        load_settings(write(tmp_path, "[gateway\n"), {})


def test_cors_origins_are_off_by_default_and_read_exactly(tmp_path: Path) -> None:
    env = {"SECRET": "s" * 20, "META_TOKEN": "t"}
    assert load_settings(write(tmp_path, VALID), env).cors_origins == ()
    origins = 'cors_origins = ["https://app.example.com", "http://localhost:5173"]\n'
    text = VALID.replace("[gateway]\n", "[gateway]\n" + origins)
    settings = load_settings(write(tmp_path, text), env)
    assert settings.cors_origins == ("https://app.example.com", "http://localhost:5173")


@pytest.mark.parametrize(
    "value", ['"https://app.example.com"', '["*"]', '["https://app.example.com/"]', "[1]"]
)
def test_cors_origins_must_be_a_list_of_exact_origins(tmp_path: Path, value: str) -> None:
    text = VALID.replace("[gateway]\n", f"[gateway]\ncors_origins = {value}\n")
    with pytest.raises(ConfigError, match="cors_origins"):
        load_settings(write(tmp_path, text), {"SECRET": "s" * 20, "META_TOKEN": "t"})


@pytest.mark.parametrize(
    ("lines", "read_ahead"),
    [
        ("", True),
        ("read_ahead = false\n", False),
        ('redis = "redis://127.0.0.1:6379/0"\n', False),
        ('redis = "redis://127.0.0.1:6379/0"\nread_ahead = true\n', True),
    ],
    ids=["default", "turned off", "off by default with redis", "turned on with redis"],
)
def test_read_ahead_is_on_unless_instances_share_redis(
    tmp_path: Path, lines: str, read_ahead: bool
) -> None:
    text = VALID.replace("[gateway]\n", "[gateway]\n" + lines)
    settings = load_settings(write(tmp_path, text), {"SECRET": "s" * 20, "META_TOKEN": "t"})
    assert settings.read_ahead is read_ahead


@pytest.mark.parametrize("value", ['"yes"', "1", '"false"'])
def test_read_ahead_must_be_true_or_false(tmp_path: Path, value: str) -> None:
    text = VALID.replace("[gateway]\n", f"[gateway]\nread_ahead = {value}\n")
    with pytest.raises(ConfigError, match=r"gateway\.read_ahead must be true or false"):
        load_settings(write(tmp_path, text), {"SECRET": "s" * 20, "META_TOKEN": "t"})
