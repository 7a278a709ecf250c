"""Two ``gateway serve`` processes on one PostgreSQL database and one Redis, with the sandboxes
in a third process: they behave as one gateway.

Needs ``GATEWAY_TEST_POSTGRES_URL`` and ``GATEWAY_TEST_REDIS_URL`` (skipped without them, a
failure in CI). Each run has its own PostgreSQL schema and Redis key prefix.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from bench.processes import HOST, Child, free_port
from gateway.sandbox.suite import DEMO_PROJECT_ID
from tests.coordination.conftest import redis_test_url
from tests.store.conftest import postgres_base_url, with_search_path

ADSETS = f"/v1/projects/{DEMO_PROJECT_ID}/ads/adsets"
APPLE_BUDGET = 6


def wait_ready(url: str, child: Child, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise AssertionError(f"{child.name} exited:\n{child.log_tail()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{child.name} not ready within {timeout}s:\n{child.log_tail()}")


def configure(path: Path, database: str, redis_url: str, prefix: str) -> None:
    """The sandbox's configuration, on the shared database and Redis, with a budget on Apple."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("cursor_secret"):
            line = f'cursor_secret = "{secrets.token_hex(16)}"'
        elif line.startswith("database"):
            line = f'database = "{database}"\nredis = "{redis_url}"\nredis_prefix = "{prefix}"'
        elif line == "[platforms.apple_ads]":
            line += f"\nbudget = {{ calls = {APPLE_BUDGET}, per_seconds = 3600 }}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[str], Path]]:
    """(sandbox URL, two gateway URLs, configuration file)."""
    postgres = postgres_base_url()
    redis_url = redis_test_url()
    schema = f"gw_e2e_{secrets.token_hex(6)}"
    with psycopg.connect(postgres, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    config = tmp_path / "gateway.toml"
    sandbox_port = free_port()
    children = [
        Child(
            "sandbox",
            [
                "bench.sandbox_proc",
                "--port",
                str(sandbox_port),
                "--large-adsets",
                "30",
                "--write-config",
                str(config),
            ],
            tmp_path / "sandbox.log",
        )
    ]
    try:
        sandbox = f"http://{HOST}:{sandbox_port}"
        wait_ready(f"{sandbox}/_bench/health", children[0])
        prefix = f"gw_e2e_{secrets.token_hex(6)}:"
        configure(config, with_search_path(postgres, schema), redis_url, prefix)
        gateways = []
        for n in range(2):
            port = free_port()
            child = Child(
                f"gateway{n}",
                ["gateway", "serve", "--config", str(config), "--port", str(port)],
                tmp_path / f"gateway{n}.log",
            )
            children.append(child)
            gateways.append(f"http://{HOST}:{port}")
            wait_ready(f"{gateways[-1]}/healthz", child)
        yield sandbox, gateways, config
    finally:
        for child in children:
            child.stop()
        with psycopg.connect(postgres, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())


def create_key(config: Path) -> str:
    out = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "gateway",
            "keys",
            "create",
            "--project",
            DEMO_PROJECT_ID,
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return next(word for word in out.split() if word.startswith("lp_"))


def walk(gateways: list[str], auth: dict[str, str], params: dict[str, str]) -> list[str]:
    """Every page of a walk, alternating between the gateways; the rows' IDs."""
    ids: list[str] = []
    cursor = None
    for turn in range(1000):
        query: dict[str, Any] = {**params, **({"cursor": cursor} if cursor else {})}
        r = httpx.get(gateways[turn % len(gateways)] + ADSETS, params=query, headers=auth)
        assert r.status_code == 200, r.text
        ids += [item["adsetId"] for item in r.json()["items"]]
        cursor = r.json()["nextCursor"]
        if cursor is None:
            return ids
    raise AssertionError("the walk did not end")


def calls(sandbox: str, platform: str) -> int:
    """Requests the platform's sandbox received since the last reset."""
    return sum(httpx.get(f"{sandbox}/_bench/log").json()["calls"][platform].values())


def test_two_processes_behave_as_one_gateway(
    cluster: tuple[str, list[str], Path],
) -> None:
    sandbox, gateways, config = cluster
    # a key created through the CLI works on both
    auth = {"Authorization": f"Bearer {create_key(config)}"}
    for gateway in gateways:
        meta_page = {"platforms": "meta_ads", "limit": "1"}
        assert httpx.get(gateway + ADSETS, params=meta_page, headers=auth).status_code == 200
    # a walk alternating between them gives the same rows as a walk on one: each accepts the
    # other's cursors, and IDs are identical
    params = {"platforms": "meta_ads,tiktok_ads", "limit": "7"}
    alternating = walk(gateways, auth, params)
    assert alternating == walk(gateways[:1], auth, params)
    assert len(alternating) == len(set(alternating))

    # the Apple budget holds across both
    httpx.post(f"{sandbox}/_bench/reset")
    apple = {"platforms": "apple_ads", "limit": "200"}  # every Apple account, every time
    answers = [httpx.get(gateways[i % 2] + ADSETS, params=apple, headers=auth) for i in range(12)]
    # (the budget is per account; Apple names the account in a header, not in the path, and
    # which accounts a page needs depends on the sizes seen)
    apple_accounts = config.read_text(encoding="utf-8").count('platform = "apple_ads"')
    assert calls(sandbox, "apple_ads") <= APPLE_BUDGET * apple_accounts
    assert any(a.status_code == 503 for a in answers)

    # a throttle seen by one means no call from the other
    meta = {"platforms": "meta_ads", "limit": "5"}
    httpx.post(f"{sandbox}/_bench/faults", params={"rate": 1, "kinds": "throttle"})
    throttled = httpx.get(gateways[0] + ADSETS, params=meta, headers=auth)
    assert throttled.status_code == 503
    httpx.post(f"{sandbox}/_bench/faults", params={"rate": 0})
    httpx.post(f"{sandbox}/_bench/reset")
    again = httpx.get(gateways[1] + ADSETS, params=meta, headers=auth)
    assert again.status_code == 503
    assert again.json()["error"]["code"] == "upstream_throttled"
    assert calls(sandbox, "meta_ads") == 0
