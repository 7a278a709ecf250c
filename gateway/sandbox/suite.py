"""All three sandboxes together: one ASGI app with /meta, /tiktok and /apple prefixes, their
knobs, and the gateway settings (demo project and key) that point at them."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.auth import digest_key
from gateway.config import (
    PUBLIC_CURSOR_SECRET,
    ApiKeySpec,
    PlatformSettings,
    ProjectConfig,
    Settings,
)
from gateway.platforms import registry
from gateway.platforms.base import AccountRef, Platform
from gateway.sandbox import apple, meta, tiktok
from gateway.sandbox.control import DEFAULT_THROTTLE_REGAIN_MINUTES, FaultKind, SandboxControl
from gateway.sandbox.transport import SandboxTransport

DEMO_PROJECT_ID = "prj_01HX9Y7K8M2P4RSTUV56789AB"
DEMO_PROJECT_NAME = "Acme (sandbox)"
DEFAULT_DEMO_KEY = "lp_test_sandbox_demo_key"
DEMO_CURSOR_SECRET = PUBLIC_CURSOR_SECRET
IN_PROCESS_BASE = "http://sandbox.internal"


class SeedData(Protocol):
    """What every platform's seed offers."""

    def adset_ids(self, account_external_id: str) -> list[str]: ...


PREFIXES: Mapping[Platform, str] = {
    Platform.META_ADS: "/meta",
    Platform.TIKTOK_ADS: "/tiktok",
    Platform.APPLE_ADS: "/apple",
}


def demo_key() -> str:
    """The sandbox demo API key: ``GATEWAY_SANDBOX_KEY`` or the documented default."""
    return os.environ.get("GATEWAY_SANDBOX_KEY") or DEFAULT_DEMO_KEY


@dataclass
class SandboxSuite:
    """The seeded sandboxes of all platforms and their controls."""

    controls: dict[Platform, SandboxControl]
    accounts: dict[Platform, list[AccountRef]]
    app: Starlette
    seeds: dict[Platform, SeedData]

    @classmethod
    def build(
        cls,
        *,
        large_adsets: int = 1200,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        faults: tuple[FaultKind, ...] | None = None,
        throttle_regain_minutes: int = DEFAULT_THROTTLE_REGAIN_MINUTES,
    ) -> SandboxSuite:
        """Seed every platform and mount the three sandbox apps."""
        controls: dict[Platform, SandboxControl] = {}
        for index, platform in enumerate(Platform):
            control = SandboxControl(
                latency_ms=latency_ms,
                fault_rate=fault_rate,
                throttle_regain_minutes=throttle_regain_minutes,
                seed=7 + index,
            )
            if faults is not None:
                control.faults = faults
            controls[platform] = control
        meta_seed = meta.build_seed(large_adsets)
        tiktok_seed = tiktok.build_seed(large_adsets)
        apple_seed = apple.build_seed(large_adsets)
        app = Starlette(
            routes=[
                Mount(
                    PREFIXES[Platform.META_ADS],
                    app=meta.create_app(meta_seed, controls[Platform.META_ADS]),
                ),
                Mount(
                    PREFIXES[Platform.TIKTOK_ADS],
                    app=tiktok.create_app(tiktok_seed, controls[Platform.TIKTOK_ADS]),
                ),
                Mount(
                    PREFIXES[Platform.APPLE_ADS],
                    app=apple.create_app(apple_seed, controls[Platform.APPLE_ADS]),
                ),
            ]
        )
        accounts = {
            Platform.META_ADS: list(meta_seed.accounts),
            Platform.TIKTOK_ADS: list(tiktok_seed.accounts),
            Platform.APPLE_ADS: list(apple_seed.accounts),
        }
        seeds: dict[Platform, SeedData] = {
            Platform.META_ADS: meta_seed,
            Platform.TIKTOK_ADS: tiktok_seed,
            Platform.APPLE_ADS: apple_seed,
        }
        return cls(controls=controls, accounts=accounts, app=app, seeds=seeds)

    def adset_count(self) -> int:
        """How many ad sets the seeds hold over every account, deleted ones included."""
        return sum(
            len(self.seeds[a.platform].adset_ids(a.external_id)) for a in self.all_accounts()
        )

    def transport(self) -> SandboxTransport:
        """An in-process httpx transport to the sandboxes."""
        return SandboxTransport(self.app)

    def all_accounts(self) -> list[AccountRef]:
        return [a for platform in Platform for a in self.accounts[platform]]

    def reset(self) -> None:
        """No latency, no faults, empty request logs."""
        for control in self.controls.values():
            control.reset()

    def platform_settings(self, base_url: str) -> dict[Platform, PlatformSettings]:
        """The platforms' default settings, pointed at sandboxes served at ``base_url``."""
        base = base_url.rstrip("/")
        settings = {
            platform: replace(defaults, base_url=base + PREFIXES[platform])
            for platform, defaults in registry.default_settings().items()
        }
        apple_ads = settings[Platform.APPLE_ADS]
        settings[Platform.APPLE_ADS] = replace(
            apple_ads, token_url=apple_ads.base_url + "/auth/oauth2/token"
        )
        return settings

    def settings(
        self,
        base_url: str = IN_PROCESS_BASE,
        *,
        key: str | None = None,
        accounts: list[AccountRef] | None = None,
        database: str = "sqlite:///:memory:",
    ) -> Settings:
        """Gateway settings with the demo project over every seeded account."""
        project = ProjectConfig(
            id=DEMO_PROJECT_ID,
            name=DEMO_PROJECT_NAME,
            api_keys=(ApiKeySpec(digest_key(key or demo_key()), frozenset({"ads:read"})),),
            ad_accounts=tuple(self.all_accounts() if accounts is None else accounts),
        )
        return Settings(
            cursor_secret=DEMO_CURSOR_SECRET,
            database=database,
            platforms=self.platform_settings(base_url),
            projects=(project,),
            graphql_introspection=True,
        )

    def config_toml(self, base_url: str, *, key: str | None = None) -> str:
        """A configuration file (design.md section 3) pointing at sandboxes on ``base_url``,
        with a cursor secret of its own (random on every call: the demo secret is public)."""
        settings = self.settings(base_url, key=key, database="sqlite:///gateway.db")
        lines = [
            "# Gateway configuration for the local sandboxes (written by `gateway sandbox`).",
            "[gateway]",
            f"cursor_secret = {_q(secrets.token_urlsafe(32))}",
            'database = "sqlite:///gateway.db"',
            "graphql_introspection = true",
            "",
        ]
        for platform, ps in settings.platforms.items():
            lines.append(f"[platforms.{platform.value}]")
            lines.append(f"base_url = {_q(ps.base_url)}")
            if ps.api_version:
                lines.append(f"api_version = {_q(ps.api_version)}")
            if ps.token_url:
                lines.append(f"token_url = {_q(ps.token_url)}")
            lines.append("")
        for project in settings.projects:
            lines += ["[[projects]]", f"id = {_q(project.id)}", f"name = {_q(project.name)}"]
            keys = ", ".join(
                f"{{ sha256 = {_q(k.sha256)}, scopes = {json.dumps(sorted(k.scopes))} }}"
                for k in project.api_keys
            )
            lines += [f"api_keys = [{keys}]", ""]
            for account in project.ad_accounts:
                creds = ", ".join(f"{k} = {_q(v)}" for k, v in account.credentials.items())
                lines += [
                    "[[projects.ad_accounts]]",
                    f"platform = {_q(account.platform.value)}",
                    f"external_id = {_q(account.external_id)}",
                    f"name = {_q(account.name)}",
                    f"credentials = {{ {creds} }}",
                    "",
                ]
        return "\n".join(lines)


def _q(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML escapes)."""
    return json.dumps(value, ensure_ascii=True)
