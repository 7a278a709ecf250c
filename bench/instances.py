"""Two gateway instances on one PostgreSQL and one Redis, against the same sandbox process.

Figures: REST pages per second with two instances over one (the same load, split between
them), and the upstream calls the shared throttle state saves (calls the second instance
would send to accounts the first learned were throttled). Skipped with a note when PostgreSQL
or Redis cannot be reached (``GATEWAY_TEST_POSTGRES_URL``, ``GATEWAY_TEST_REDIS_URL``; the
local defaults otherwise).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
from redis.asyncio import Redis

from bench import configs
from bench.drive import GatewayClient
from bench.env import Env, wait_ready
from bench.processes import HOST, Child, free_port
from bench.report import Figure

POSTGRES = os.environ.get("GATEWAY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def services_unreachable() -> str | None:
    """Why the figure cannot be measured, or None."""
    try:
        with psycopg.connect(POSTGRES, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable ({type(exc).__name__})"
    client = Redis.from_url(REDIS, socket_connect_timeout=3)
    try:
        await client.ping()
    except Exception as exc:  # any failure means: not measurable here
        return f"Redis unreachable ({type(exc).__name__})"
    finally:
        await client.aclose()
    return None


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A database URL on a fresh schema, dropped afterwards."""
    schema = f"gw_bench_{secrets.token_hex(6)}"
    with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    try:
        joiner = "&" if "?" in POSTGRES else "?"
        yield f"{POSTGRES}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())


async def start_gateways(env: Env, doc: dict[str, Any], count: int) -> list[tuple[Child, str]]:
    config = configs.write(doc, env.workdir / f"shared-{secrets.token_hex(4)}.toml")
    started: list[tuple[Child, str]] = []
    try:
        for n in range(count):
            port = free_port()
            args = ["gateway", "serve", "--config", str(config), "--host", HOST]
            child = Child(f"gateway{n}", [*args, "--port", str(port)], env.workdir / f"g{n}.log")
            started.append((child, f"http://{HOST}:{port}"))
            await wait_ready(child, f"{started[-1][1]}/healthz")
    except BaseException:
        for child, _ in started:
            child.stop()
        raise
    return started


async def pages_per_second(urls: list[str], concurrency: int, duration: float) -> float:
    """100-row REST pages per second, ``concurrency`` workers spread over ``urls``."""
    clients = [GatewayClient(url, connections=concurrency) for url in urls]
    done = 0
    deadline = time.perf_counter() + duration

    async def worker(client: GatewayClient) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await client.rest(100)
            done += 1

    try:
        for client in clients:
            await client.rest(100)  # warm: connections, account currencies
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(*(worker(clients[i % len(clients)]) for i in range(concurrency)))
        return done / (time.perf_counter() - started)
    finally:
        for client in clients:
            await client.http.aclose()


async def throttle_calls_saved(env: Env, urls: list[str]) -> tuple[int, int]:
    """The first instance meets a Meta throttle on every Meta account; the second is then
    asked 10 times. Returns (Meta requests the second would have needed to learn the same
    throttles itself: one per account, and calls it made)."""
    assert env.sandbox is not None
    meta = {"platforms": "meta_ads", "limit": "5"}
    async with httpx.AsyncClient(timeout=30.0, headers=GatewayClient(urls[0]).http.headers) as http:
        faults = f"{env.sandbox.url}/_bench/faults"
        await http.post(faults, params={"rate": "1", "kinds": "throttle", "regain_minutes": "5"})
        first = await http.get(urls[0] + GatewayClient(urls[0]).rest_path, params=meta)
        await http.post(faults, params={"rate": "0"})
        throttled = [
            s for s in first.json()["error"].get("sources", []) if s["status"] == "throttled"
        ]
        await env.reset_log()
        for _ in range(10):
            await http.get(urls[1] + GatewayClient(urls[1]).rest_path, params=meta)
        log = await env.upstream_log()
    return len(throttled), sum(log.calls.get("meta_ads", {}).values())


async def two_instances(env: Env, accounts: list[configs.AccountKey], quick: bool) -> list[Figure]:
    reason = await services_unreachable()
    if reason is not None:
        note = f"skipped: {reason}"
        return [
            Figure("two_instance_rps_ratio", float("nan"), note=note),
            Figure("shared_throttle_calls_saved", float("nan"), note=note),
        ]
    assert env.sandbox is not None
    with postgres_schema() as database:
        doc = configs.narrowed(env.sandbox.doc, accounts, env.workdir / "unused.db")
        doc["gateway"]["database"] = database
        doc["gateway"]["redis"] = REDIS
        doc["gateway"]["redis_prefix"] = f"gw_bench_{secrets.token_hex(4)}:"
        gateways = await start_gateways(env, doc, 2)
        try:
            urls = [url for _, url in gateways]
            duration = 4.0 if quick else 10.0
            one = await pages_per_second(urls[:1], 32, duration)
            two = await pages_per_second(urls, 32, duration)
            throttled, calls = await throttle_calls_saved(env, urls)
        finally:
            for child, _ in gateways:
                child.stop()
    return [
        Figure(
            "two_instance_rps_ratio",
            two / one,
            note=f"{two:.0f} vs {one:.0f} req/s at concurrency 32; both instances, the sandbox "
            "and the load generator share the machine's cores",
        ),
        Figure(
            "shared_throttle_calls_saved",
            float(throttled - calls),
            "calls",
            note=f"{throttled} Meta account(s) throttled on instance 1; instance 2 then sent "
            f"{calls} Meta request(s) over 10 requests (alone it would have met each throttle "
            "itself)",
        ),
    ]
