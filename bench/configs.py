"""Gateway configurations for the scenarios: read the sandbox's TOML, keep some accounts,
write it back (a small TOML writer for the shapes a configuration has)."""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from gateway.config import load_settings
from gateway.platforms import registry
from gateway.platforms.base import AdPlatform, AdSetQuery, Platform
from gateway.platforms.pool import upstream_pool

AccountKey = tuple[str, str]  # platform value, external id
Doc = dict[str, Any]


def load(path: Path) -> Doc:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def account_keys(doc: Mapping[str, Any]) -> list[AccountKey]:
    """The accounts of the (single) project, in configuration order."""
    return [(a["platform"], a["external_id"]) for a in doc["projects"][0]["ad_accounts"]]


def narrowed(doc: Mapping[str, Any], keep: Iterable[AccountKey], database: Path) -> Doc:
    """A copy of ``doc`` whose project has only the ``keep`` accounts, with its own database."""
    wanted = set(keep)
    out: Doc = json.loads(json.dumps(doc))
    out["gateway"]["database"] = f"sqlite:///{database}"
    # Load figures measure the gateway, not the client rate limits.
    out["gateway"]["rate_limit"] = {"per_key": 10**9, "per_project": 10**9, "per_seconds": 1}
    project = out["projects"][0]
    project["ad_accounts"] = [
        a for a in project["ad_accounts"] if (a["platform"], a["external_id"]) in wanted
    ]
    if len(project["ad_accounts"]) != len(wanted):
        raise ValueError(f"accounts not in the configuration: {sorted(wanted)}")
    return out


def write(doc: Mapping[str, Any], path: Path) -> Path:
    """Write ``doc`` as TOML, checking that it reads back the same."""
    text = dumps(doc)
    if tomllib.loads(text) != doc:
        raise ValueError("TOML writer did not round-trip the configuration")
    path.write_text(text, encoding="utf-8")
    return path


def dumps(doc: Mapping[str, Any]) -> str:
    """TOML for nested tables, arrays of tables and scalar values (strings, numbers, bools,
    lists of scalars)."""
    lines: list[str] = []
    _table(lines, (), doc, array=False)
    return "\n".join(lines).strip() + "\n"


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any], array: bool) -> None:
    if path:
        header = ".".join(_key(p) for p in path)
        lines += ["", f"[[{header}]]" if array else f"[{header}]"]
    nested = []
    for key, value in table.items():
        if isinstance(value, dict) or _is_table_array(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested:
        if isinstance(value, dict):
            _table(lines, (*path, key), value, array=False)
        else:
            for item in value:
                _table(lines, (*path, key), item, array=True)


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else _str(key)


def _str(value: str) -> str:
    return json.dumps(value, ensure_ascii=True)  # JSON string escapes are valid TOML escapes


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


async def account_sizes(config: Path) -> dict[AccountKey, int]:
    """Ad sets per configured account, asked of the sandboxes with the gateway's own platform
    clients (``total`` of a first page; at least the rows seen when a platform gives none)."""
    settings = load_settings(config)
    accounts = settings.projects[0].ad_accounts
    http = upstream_pool(httpx.Timeout(30.0))
    try:
        clients: dict[Platform, AdPlatform] = {
            platform: registry.factory(platform).client(http, ps)
            for platform, ps in settings.platforms.items()
        }
        pages = await asyncio.gather(
            *(
                clients[a.platform].list_adsets(a, AdSetQuery(), start=None, count=200)
                for a in accounts
            )
        )
    finally:
        await http.aclose()
    return {
        (a.platform.value, a.external_id): page.total if page.total is not None else len(page.rows)
        for a, page in zip(accounts, pages, strict=True)
    }


def smallest_per_platform(sizes: Mapping[AccountKey, int], per_platform: int) -> list[AccountKey]:
    """The ``per_platform`` smallest non-empty accounts of each platform."""
    chosen: list[AccountKey] = []
    for platform in Platform:
        mine = sorted((n, key) for key, n in sizes.items() if key[0] == platform.value and n > 0)
        if len(mine) < per_platform:
            raise ValueError(f"{platform.value}: fewer than {per_platform} non-empty accounts")
        chosen += [key for _, key in mine[:per_platform]]
    return chosen


def largest(sizes: Mapping[AccountKey, int], platform: Platform) -> AccountKey:
    """The platform's largest account."""
    return max((n, key) for key, n in sizes.items() if key[0] == platform.value)[1]
