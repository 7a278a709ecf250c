"""The platform registry: one factory per platform, the only source of its defaults."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import build_clients
from gateway.config import Settings, parse_settings
from gateway.errors import ConfigError
from gateway.platforms import registry
from gateway.platforms.base import AdPlatform, Platform
from gateway.platforms.factory import PlatformFactory, PlatformSettings
from gateway.platforms.inprocess import TransportUpstream
from gateway.platforms.upstream import Upstream
from gateway.resilience.client import ResilienceState, ResilientPlatform

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = {"gateway": {"cursor_secret": "s" * 20}}


@pytest.fixture
def fresh_registry() -> Iterator[None]:
    registry.factory.cache_clear()
    yield
    registry.factory.cache_clear()


async def test_every_platform_has_the_factory_of_its_own_package() -> None:
    factories = registry.factories()
    assert list(factories) == list(Platform)
    async with TransportUpstream(httpx.MockTransport(lambda _: httpx.Response(500))) as http:
        for platform, factory in factories.items():
            assert factory.platform is platform
            assert factory.credentials
            assert factory.defaults.base_url.startswith("https://")
            client = factory.client(http)
            assert client.platform is platform
            await client.aclose()


def test_a_package_exposing_another_platforms_factory_is_refused(
    monkeypatch: pytest.MonkeyPatch, fresh_registry: None
) -> None:
    monkeypatch.setattr(registry, "package_of", lambda _: "gateway.platforms.tiktok")
    with pytest.raises(TypeError, match=r"gateway\.platforms\.tiktok\.FACTORY"):
        registry.factory(Platform.META_ADS)


def test_an_unconfigured_platform_gets_its_factorys_defaults() -> None:
    assert parse_settings(MINIMAL).platforms == registry.default_settings()
    assert Settings(cursor_secret=b"s" * 20).platforms == registry.default_settings()


def test_a_configured_platform_changes_only_what_the_file_names() -> None:
    settings = parse_settings(
        {**MINIMAL, "platforms": {"meta_ads": {"base_url": "http://127.0.0.1:9/", "deadline": 9}}}
    )
    meta = registry.factory(Platform.META_ADS).defaults
    assert settings.platforms[Platform.META_ADS] == replace(
        meta, base_url="http://127.0.0.1:9", deadline=9.0
    )


@pytest.mark.parametrize("platform", list(Platform))
def test_an_account_needs_the_credentials_its_factory_names(platform: Platform) -> None:
    account = {"platform": platform.value, "external_id": "1", "credentials": {"other": "x"}}
    project = {"id": "prj_01HX9Y7K8M2P4RSTUV56789AB", "ad_accounts": [account]}
    with pytest.raises(ConfigError) as info:
        parse_settings({**MINIMAL, "projects": [project]})
    assert info.value.message.endswith(
        "credentials lacks " + ", ".join(registry.factory(platform).credentials)
    )


async def test_the_app_builds_every_client_through_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[tuple[Platform, PlatformSettings]] = []
    real = registry.factory

    def spying(platform: Platform) -> PlatformFactory[AdPlatform]:
        factory = real(platform)

        def build(http: Upstream, settings: PlatformSettings) -> AdPlatform:
            built.append((platform, settings))
            return factory.build(http, settings)

        return replace(factory, build=build)

    monkeypatch.setattr(registry, "factory", spying)
    settings = parse_settings(
        {**MINIMAL, "platforms": {"tiktok_ads": {"base_url": "http://127.0.0.1:9"}}}
    )
    transport = httpx.MockTransport(lambda _: httpx.Response(500))
    clients, pools = build_clients(settings, transport, ResilienceState())
    for pool in pools:
        await pool.aclose()
    assert built == list(settings.platforms.items())
    assert built[1] == (Platform.TIKTOK_ADS, settings.platforms[Platform.TIKTOK_ADS])
    assert built[1][1].base_url == "http://127.0.0.1:9"
    assert all(isinstance(c, ResilientPlatform) for c in clients.values())


def _sources() -> Iterator[Path]:
    for folder in ("gateway", "bench"):
        yield from (ROOT / folder).rglob("*.py")


@pytest.mark.parametrize("platform", list(Platform))
def test_a_platforms_defaults_are_written_in_its_package_only(platform: Platform) -> None:
    defaults = registry.factory(platform).defaults
    values: list[Any] = [defaults.base_url, defaults.api_version, defaults.token_url]
    package = ROOT / Path(*registry.package_of(platform).split("."))
    for path in _sources():
        if path.is_relative_to(package):
            continue
        text = path.read_text(encoding="utf-8")
        for value in values:
            if value is not None:
                assert f'"{value}"' not in text, f"{path.relative_to(ROOT)} repeats {value}"
