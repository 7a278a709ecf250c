"""Settings: the TOML configuration contract (design.md section 3), loaded once, passed down.

``${NAME}`` anywhere in a string value is replaced by the environment variable NAME; a missing
variable is a ``ConfigError`` naming it (never its value).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError
from gateway.platforms import registry
from gateway.platforms.base import AccountRef, Platform

# Part of the configuration (``Settings.platforms``); it lives beside the factories that own
# every platform's defaults.
from gateway.platforms.factory import CallBudget
from gateway.platforms.factory import PlatformSettings as PlatformSettings

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_PROJECT_ID = re.compile(r"^prj_[0-9A-Za-z]{1,40}$")
# An origin is scheme://host[:port] with nothing after it; "*" is refused on purpose: the
# gateway's callers send bearer keys, and each allowed origin should be a deliberate choice.
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


#: The in-process sandbox's cursor secret: public (it is in the source), so never accepted
#: from a configuration file.
PUBLIC_CURSOR_SECRET = b"sandbox-cursor-secret-not-for-production"


@dataclass(frozen=True, slots=True)
class ApiKeySpec:
    """A configured API key: only its SHA-256 digest is ever stored."""

    sha256: str
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """A customer project and its connected ad accounts."""

    id: str
    name: str
    api_keys: tuple[ApiKeySpec, ...]
    ad_accounts: tuple[AccountRef, ...]


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Client request limits: token buckets of ``per_key`` requests per API key and
    ``per_project`` per project, each refilled over ``per_seconds``."""

    per_key: int = 600
    per_project: int = 1200
    per_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the gateway needs to run."""

    cursor_secret: bytes = field(repr=False)
    #: Earlier secrets that still verify cursors (never sign), so a rotation keeps walks going.
    retired_cursor_secrets: tuple[bytes, ...] = field(default=(), repr=False)
    database: str = "sqlite:///gateway.db"
    #: Every platform's settings: its factory's defaults, with what the file changes.
    platforms: Mapping[Platform, PlatformSettings] = field(
        default_factory=registry.default_settings
    )
    projects: tuple[ProjectConfig, ...] = ()
    #: Browser origins allowed to call the gateway (CORS); none unless configured.
    cors_origins: tuple[str, ...] = ()
    #: Redis shared by the instances (throttles, breakers, budgets, rate limits); None keeps
    #: that state in the process.
    redis: str | None = None
    #: Prefix of every Redis key, so deployments can share one Redis.
    redis_prefix: str = "gateway:"
    rate_limit: RateLimits = field(default_factory=RateLimits)
    #: Whether GraphQL answers introspection and suggests field names in errors ("Did you
    #: mean"); off unless configured, on in sandbox mode.
    graphql_introspection: bool = False
    #: The longest throttle a platform's regain time may impose on an account, in seconds.
    max_regain_seconds: float = 900.0
    #: Whether a walk's next page is read while the client reads this one
    #: (``platforms.readahead``). A configuration file turns it on unless ``redis`` is set:
    #: instances sharing state are behind a load balancer, where a walk's next page may reach
    #: another instance and the read made here would be wasted quota. (Off for settings built
    #: in code, as the in-process tests' are, unless they ask.)
    read_ahead: bool = False

    @property
    def cursor_secrets(self) -> tuple[bytes, ...]:
        """Every secret a cursor may be signed with, the signing one first."""
        return (self.cursor_secret, *self.retired_cursor_secrets)

    def project(self, project_id: str) -> ProjectConfig | None:
        """The configured project with this ID, if any."""
        for project in self.projects:
            if project.id == project_id:
                return project
        return None

    @property
    def database_path(self) -> str:
        """The SQLite file path (or ``:memory:``) named by ``database``."""
        if not self.database.startswith(SQLITE_PREFIX):
            raise ConfigError("gateway.database is not a sqlite:/// URL")
        return self.database[len(SQLITE_PREFIX) :] or ":memory:"


def load_settings(path: str | Path, env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a TOML configuration file."""
    environ = os.environ if env is None else env
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration file is not valid TOML: {exc}") from exc
    return parse_settings(_expand(raw, environ), base_dir=Path(path).resolve().parent)


def parse_settings(raw: Mapping[str, Any], *, base_dir: Path | None = None) -> Settings:
    """Validate an already-decoded configuration mapping. A relative SQLite path is taken
    relative to ``base_dir`` (the configuration file's folder), when given."""
    gateway = _table(raw, "gateway")
    secrets = _cursor_secrets(gateway.get("cursor_secret"))
    database = _database(gateway.get("database", "sqlite:///gateway.db"), base_dir)
    platforms = registry.default_settings()
    for name, table in _table(raw, "platforms").items():
        platform = _platform(name, f"platforms.{name}")
        platforms[platform] = _platform_settings(platform, _as_table(table, f"platforms.{name}"))
    projects = tuple(
        _project(_as_table(p, f"projects[{i}]"), i) for i, p in enumerate(_list(raw, "projects"))
    )
    ids = [p.id for p in projects]
    if len(set(ids)) != len(ids):
        raise ConfigError("project ids must be unique")
    redis = _redis(gateway.get("redis"))
    return Settings(
        cursor_secret=secrets[0],
        retired_cursor_secrets=secrets[1:],
        database=database,
        platforms=platforms,
        projects=projects,
        cors_origins=_cors_origins(gateway.get("cors_origins", [])),
        redis=redis,
        redis_prefix=_opt_str(gateway, "redis_prefix", "gateway") or "gateway:",
        rate_limit=_rate_limits(_as_table(gateway.get("rate_limit", {}), "gateway.rate_limit")),
        graphql_introspection=_flag(gateway, "graphql_introspection", default=False),
        max_regain_seconds=_seconds(gateway, "max_regain_seconds", default=900.0),
        read_ahead=_flag(gateway, "read_ahead", default=redis is None),
    )


def _redis(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("gateway.redis must be a redis://HOST:PORT/DB URL")
    return value


def _rate_limits(table: Mapping[str, Any]) -> RateLimits:
    default = RateLimits()
    where = "gateway.rate_limit"
    return RateLimits(
        per_key=_count(table, "per_key", where, default.per_key),
        per_project=_count(table, "per_project", where, default.per_project),
        per_seconds=_positive(table, "per_seconds", where, default.per_seconds),
    )


def _count(table: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}.{key} must be a whole number of at least 1")
    return value


def _budget(table: Mapping[str, Any], where: str, default: CallBudget | None) -> CallBudget | None:
    """``budget = { calls = 100, per_seconds = 60 }``; ``budget = false`` turns it off."""
    value = table.get("budget")
    if value is None:
        return default
    if value is False:
        return None
    budget = _as_table(value, f"{where}.budget")
    return CallBudget(
        calls=_count(budget, "calls", f"{where}.budget", 0),
        per_seconds=_positive(budget, "per_seconds", f"{where}.budget", 60.0),
    )


def _flag(table: Mapping[str, Any], name: str, *, default: bool) -> bool:
    value = table.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"gateway.{name} must be true or false")
    return value


def _seconds(table: Mapping[str, Any], name: str, *, default: float) -> float:
    value = table.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"gateway.{name} must be a positive number of seconds")
    return float(value)


def _database(value: Any, base_dir: Path | None) -> str:
    """``sqlite:///file`` (relative to ``base_dir``: the CLI and the server may run from
    another folder than the configuration's, yet must open the same file) or a PostgreSQL URL."""
    if isinstance(value, str) and value.startswith(POSTGRES_PREFIXES):
        return value
    if not isinstance(value, str) or not value.startswith(SQLITE_PREFIX):
        raise ConfigError(
            "gateway.database must be a sqlite:///FILE or postgresql://USER@HOST/DB URL"
        )
    path = value[len(SQLITE_PREFIX) :]
    if path in ("", ":memory:") or base_dir is None or Path(path).is_absolute():
        return value
    return SQLITE_PREFIX + str(base_dir / path)


def _cursor_secrets(value: object) -> tuple[bytes, ...]:
    """``cursor_secret``: one secret, or a list whose first signs and all verify."""
    values = value if isinstance(value, list) else [value]
    secrets = [v.encode() for v in values if isinstance(v, str) and len(v) >= 16]
    if not secrets or len(secrets) != len(values):
        raise ConfigError(
            "gateway.cursor_secret must be a string of at least 16 characters, or a non-empty "
            "list of such strings (the first signs, all verify)"
        )
    if PUBLIC_CURSOR_SECRET in secrets:
        # Anyone can read it in the source: cursors signed with it could be forged.
        raise ConfigError(
            "gateway.cursor_secret is the sandbox's public demo secret; generate one, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return tuple(secrets)


def _cors_origins(value: Any) -> tuple[str, ...]:
    """Exact origins such as ``https://app.example.com`` (scheme, host, optional port)."""
    where = "gateway.cors_origins"
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be a list of origins")
    for origin in value:
        if not isinstance(origin, str) or not _ORIGIN.match(origin):
            raise ConfigError(f"{where}: {origin!r} is not an origin like https://app.example.com")
    return tuple(value)


def _platform_settings(platform: Platform, table: Mapping[str, Any]) -> PlatformSettings:
    default = registry.factory(platform).defaults
    where = f"platforms.{platform}"
    base_url = _opt_str(table, "base_url", where) or default.base_url
    timings = {
        key: _positive(table, key, where, getattr(default, key))
        for key in ("connect_timeout", "read_timeout", "pool_timeout", "deadline")
    }
    attempts = _positive(table, "max_attempts", where, default.max_attempts)
    if attempts != int(attempts) or attempts > 10:
        raise ConfigError(f"{where}.max_attempts must be a whole number from 1 to 10")
    return PlatformSettings(
        base_url=base_url.rstrip("/"),
        api_version=_opt_str(table, "api_version", where) or default.api_version,
        token_url=_opt_str(table, "token_url", where) or default.token_url,
        max_attempts=int(attempts),
        budget=_budget(table, where, default.budget),
        **timings,
    )


def _positive(table: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}.{key} must be a positive number (seconds)")
    return float(value)


def _project(table: Mapping[str, Any], index: int) -> ProjectConfig:
    where = f"projects[{index}]"
    project_id = _opt_str(table, "id", where)
    if not project_id or not _PROJECT_ID.match(project_id):
        raise ConfigError(f"{where}.id must look like prj_01HX9Y7K8M2P4RSTUV56789AB")
    keys = []
    for k, key in enumerate(_list(table, "api_keys")):
        key_table = _as_table(key, f"{where}.api_keys[{k}]")
        digest = str(key_table.get("sha256", "")).lower()
        if not _HEX_DIGEST.match(digest):
            raise ConfigError(f"{where}.api_keys[{k}].sha256 must be a hex SHA-256 digest")
        scopes = key_table.get("scopes", ["ads:read"])
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise ConfigError(f"{where}.api_keys[{k}].scopes must be a list of strings")
        keys.append(ApiKeySpec(sha256=digest, scopes=frozenset(scopes)))
    accounts = tuple(
        _account(_as_table(a, f"{where}.ad_accounts[{n}]"), f"{where}.ad_accounts[{n}]")
        for n, a in enumerate(_list(table, "ad_accounts"))
    )
    seen = {(a.platform, a.external_id) for a in accounts}
    if len(seen) != len(accounts):
        raise ConfigError(f"{where}: an ad account is listed twice")
    return ProjectConfig(
        id=project_id,
        name=_opt_str(table, "name", where) or project_id,
        api_keys=tuple(keys),
        ad_accounts=accounts,
    )


def _account(table: Mapping[str, Any], where: str) -> AccountRef:
    platform = _platform(str(table.get("platform", "")), f"{where}.platform")
    external_id = _opt_str(table, "external_id", where)
    if not external_id:
        raise ConfigError(f"{where}.external_id is required")
    credentials = _as_table(table.get("credentials", {}), f"{where}.credentials")
    required = registry.factory(platform).credentials
    missing = [k for k in required if not credentials.get(k)]
    if missing:
        raise ConfigError(f"{where}.credentials lacks {', '.join(missing)}")
    return AccountRef(
        platform=platform,
        external_id=external_id,
        name=_opt_str(table, "name", where) or external_id,
        credentials={k: str(v) for k, v in credentials.items()},
    )


def _platform(name: str, where: str) -> Platform:
    try:
        return Platform(name)
    except ValueError as exc:
        known = ", ".join(p.value for p in Platform)
        raise ConfigError(f"{where}: unknown platform {name!r} (one of {known})") from exc


def _expand(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ConfigError(f"environment variable {name} is not set")
            return env[name]

        return _ENV_REF.sub(substitute, value)
    if isinstance(value, list):
        return [_expand(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, env) for k, v in value.items()}
    return value


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return _as_table(raw.get(key, {}), key)


def _as_table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    return value


def _list(raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be an array of tables")
    return value


def _opt_str(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}.{key} must be a string")
    return value
