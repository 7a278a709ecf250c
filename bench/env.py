"""The running sandbox and gateway processes of a scenario, restarted only when needed."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import configs
from bench.processes import HOST, Child, Process, free_port

READY_TIMEOUT = 60.0


async def wait_ready(child: Process, url: str, within: float = READY_TIMEOUT) -> None:
    """Poll ``url`` until it answers 200; RuntimeError (with the child's output) if the
    child exits or ``within`` seconds pass."""
    deadline = time.monotonic() + within
    last = "no answer"
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not child.alive():
                code = child.proc.returncode
                raise RuntimeError(f"{child.name} exited with {code}:\n{child.log_tail()}")
            try:
                response = await client.get(url)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{child.name} not ready after {within:.0f}s ({last}):\n{child.log_tail()}")


@dataclass
class UpstreamLog:
    """platform -> "METHOD /path" -> requests; ``failed``: "METHOD /path status" -> count."""

    calls: dict[str, dict[str, int]]
    failed: dict[str, dict[str, int]]

    def total(self) -> int:
        return sum(sum(counts.values()) for counts in self.calls.values())

    def failures(self) -> int:
        return sum(sum(counts.values()) for counts in self.failed.values())


@dataclass
class Sandbox:
    child: Child
    url: str
    large_adsets: int
    config: Path  # the configuration it wrote, over every seeded account
    doc: dict[str, Any]  # that configuration, read


@dataclass
class Gateway:
    child: Child
    url: str
    accounts: tuple[configs.AccountKey, ...]

    @property
    def pid(self) -> int:
        return self.child.pid


class Env:
    """At most one sandbox process and one gateway process at a time; ``close`` stops both.

    ``metered``: whether a sandbox starts with its simulated quotas in play (Meta's usage
    headers rise with every call and make the gateway space calls out near 100 %)."""

    def __init__(self, workdir: Path, verbose: bool = True, *, metered: bool = True) -> None:
        self.workdir = workdir
        self.verbose = verbose
        self.metered = metered
        self.sandbox: Sandbox | None = None
        self.gateway: Gateway | None = None
        self._count = 0

    def note(self, message: str) -> None:
        if self.verbose:
            print(f"bench: {message}", file=sys.stderr, flush=True)

    def _next(self, stem: str, suffix: str) -> Path:
        self._count += 1
        return self.workdir / f"{stem}-{self._count}{suffix}"

    async def use_sandbox(self, *, large_adsets: int, latency_ms: float) -> Sandbox:
        """A sandbox seeded with ``large_adsets`` answering with ``latency_ms`` added."""
        sandbox = self.sandbox
        if sandbox is not None and sandbox.large_adsets == large_adsets and sandbox.child.alive():
            await self.set_latency(latency_ms)
            return sandbox
        self.stop()
        port = free_port()
        config = self._next("sandbox", ".toml")
        self.note(f"starting sandbox (large accounts {large_adsets}, latency {latency_ms} ms)")
        args = ["bench.sandbox_proc", "--host", HOST, "--port", str(port)]
        args += ["--latency-ms", str(latency_ms), "--large-adsets", str(large_adsets)]
        if not self.metered:
            args.append("--unmetered")
        child = Child(
            "sandbox", [*args, "--write-config", str(config)], self._next("sandbox", ".log")
        )
        url = f"http://{HOST}:{port}"
        started = time.monotonic()
        try:
            await wait_ready(child, f"{url}/_bench/health")
            self.note(f"sandbox ready in {time.monotonic() - started:.1f} s")
            doc = configs.load(config)
        except BaseException:
            child.stop()
            raise
        self.sandbox = Sandbox(child, url, large_adsets, config, doc)
        return self.sandbox

    async def use_gateway(
        self,
        accounts: list[configs.AccountKey],
        *,
        fresh: bool = False,
        settings: Mapping[str, Any] | None = None,
    ) -> Gateway:
        """A gateway (``gateway serve``) over the current sandbox and exactly ``accounts``,
        with ``settings`` added to its ``[gateway]`` table (a fresh process then)."""
        assert self.sandbox is not None, "start a sandbox first"
        gateway = self.gateway
        same = gateway is not None and gateway.accounts == tuple(accounts) and not settings
        if gateway is not None and same and not fresh and gateway.child.alive():
            return gateway
        self.stop_gateway()
        doc = configs.narrowed(self.sandbox.doc, accounts, self._next("gateway", ".db"))
        doc["gateway"].update(settings or {})
        config = configs.write(doc, self._next("gateway", ".toml"))
        port = free_port()
        self.note(f"starting gateway over {len(accounts)} account(s)")
        args = ["gateway", "serve", "--config", str(config), "--host", HOST, "--port", str(port)]
        child = Child("gateway", args, self._next("gateway", ".log"))
        url = f"http://{HOST}:{port}"
        started = time.monotonic()
        try:
            await wait_ready(child, f"{url}/healthz")
            await wait_ready(child, f"{url}/readyz")
            self.note(f"gateway ready in {time.monotonic() - started:.1f} s")
        except BaseException:
            child.stop()
            raise
        self.gateway = Gateway(child, url, tuple(accounts))
        return self.gateway

    async def set_latency(self, ms: float) -> None:
        assert self.sandbox is not None
        async with httpx.AsyncClient(timeout=5.0) as client:
            r = await client.post(f"{self.sandbox.url}/_bench/latency", params={"ms": str(ms)})
            r.raise_for_status()

    async def set_metered(self, metered: bool) -> None:
        """Put the sandbox's simulated quotas in play (True) or out of the way (False)."""
        assert self.sandbox is not None
        async with httpx.AsyncClient(timeout=5.0) as client:
            params = {"metered": "1" if metered else "0"}
            (
                await client.post(f"{self.sandbox.url}/_bench/quotas", params=params)
            ).raise_for_status()

    async def reset_log(self) -> None:
        assert self.sandbox is not None
        async with httpx.AsyncClient(timeout=5.0) as client:
            (await client.post(f"{self.sandbox.url}/_bench/reset")).raise_for_status()

    async def upstream_log(self) -> UpstreamLog:
        """Upstream requests since the last reset (see ``bench.sandbox_proc``)."""
        assert self.sandbox is not None
        async with httpx.AsyncClient(timeout=5.0) as client:
            r = await client.get(f"{self.sandbox.url}/_bench/log")
            r.raise_for_status()
            body = r.json()
            return UpstreamLog(calls=body["calls"], failed=body["failed"])

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.child.stop()
            self.gateway = None

    def stop(self) -> None:
        """Stop the gateway, then the sandbox."""
        self.stop_gateway()
        if self.sandbox is not None:
            self.sandbox.child.stop()
            self.sandbox = None
