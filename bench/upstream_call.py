"""CPU per upstream call, for each way of sending one onto the network.

    .venv/bin/python -m bench.upstream_call [--calls 400] [--rounds 5] [--limit 100]

Starts the sandboxes in a process of their own (``bench.sandbox_proc``, no added latency) and
sends the Meta client's ad-set page request to it through ``platforms.http.fetch_json``, one
call at a time, over each candidate ``Upstream``: the gateway's, and the httpx client that
the seam could have been instead (over httpcore, and over the ``httpx-aiohttp`` transport
when that package is installed). The figure is this process's CPU time (user +
system) per call, so the sandbox's own work is not counted. Rounds alternate the candidates,
and each candidate's median round is reported with its ratio to the first candidate.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from contextlib import aclosing
from pathlib import Path

import httpx

from bench import configs
from bench.env import Env
from bench.upstream import MetaAdsets
from gateway.platforms.http import fetch_json
from gateway.platforms.pool import upstream_pool
from gateway.platforms.upstream import Reply, Upstream

TIMEOUT = httpx.Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0)
WARM_UP_CALLS = 20


class HttpxClientUpstream:
    """The seam as option (a) of issue 10 would have it: an ``httpx.AsyncClient`` (here over
    ``transport``) behind ``exchange``, with its request and response models."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._client = httpx.AsyncClient(transport=transport, timeout=TIMEOUT)

    async def exchange(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None = None
    ) -> Reply:
        request = self._client.build_request(method, url, headers=headers, content=content)
        response = await self._client.send(request)
        return Reply(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        await self._client.aclose()


PoolFactory = Callable[[], Upstream]


def _candidates() -> dict[str, PoolFactory]:
    """The ways onto the wire, the gateway's own first."""
    found: dict[str, PoolFactory] = {
        "gateway pool (NetworkUpstream, aiohttp)": lambda: upstream_pool(TIMEOUT),
        "TransportUpstream + httpcore": lambda: upstream_pool(TIMEOUT, httpx.AsyncHTTPTransport()),
        "httpx client + httpcore": lambda: HttpxClientUpstream(httpx.AsyncHTTPTransport()),
    }
    try:
        import httpx_aiohttp
    except ImportError:
        print("bench: httpx-aiohttp not installed; its candidate is skipped", file=sys.stderr)
    else:
        found["httpx client + httpx-aiohttp transport"] = lambda: HttpxClientUpstream(
            httpx_aiohttp.AiohttpTransport()
        )
    return found


async def _cpu_per_call(pool: Upstream, meta: MetaAdsets, limit: int, calls: int) -> float:
    """Seconds of this process's CPU per call, after a warm-up on the same pool."""
    params = {**meta.params, "limit": str(limit)}

    async def one() -> None:
        reply, payload = await fetch_json(
            pool,
            "GET",
            meta.url,
            params=params,
            headers=meta.headers,
            platform="meta_ads",
            account_id="bench",
        )
        if reply.status_code != 200 or not payload.get("data"):
            raise RuntimeError(f"the sandbox answered {reply.status_code}: {payload!r:.200}")

    for _ in range(WARM_UP_CALLS):
        await one()
    started = time.process_time()
    for _ in range(calls):
        await one()
    return (time.process_time() - started) / calls


async def measure(calls: int, rounds: int, limit: int) -> dict[str, list[float]]:
    """Microseconds of CPU per call, one sample per round, by candidate."""
    candidates = _candidates()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    with tempfile.TemporaryDirectory(prefix="bench-upstream-") as workdir:
        env = Env(Path(workdir))
        try:
            sandbox = await env.use_sandbox(large_adsets=limit, latency_ms=0)
            meta_id = next(
                ext for plat, ext in configs.account_keys(sandbox.doc) if plat == "meta_ads"
            )
            meta = MetaAdsets(sandbox.doc, meta_id)
            for round_ in range(rounds):
                for name, factory in candidates.items():
                    async with aclosing(factory()) as pool:
                        seconds = await _cpu_per_call(pool, meta, limit, calls)
                    samples[name].append(seconds * 1e6)
                env.note(f"round {round_ + 1}/{rounds} done")
        finally:
            env.stop()
    return samples


def report(samples: dict[str, list[float]]) -> str:
    rows = ["| candidate | CPU us/call (median) | rounds | vs first |", "|---|---|---|---|"]
    baseline: float | None = None
    for name, values in samples.items():
        median = statistics.median(values)
        baseline = baseline or median
        spread = ", ".join(f"{v:.0f}" for v in values)
        rows.append(f"| {name} | {median:.0f} | {spread} | {median / baseline:.2f}x |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream_call", description=__doc__)
    parser.add_argument("--calls", type=int, default=400, help="calls per round and candidate")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=100, help="ad sets per page")
    args = parser.parse_args(argv)
    samples = asyncio.run(measure(args.calls, args.rounds, args.limit))
    print(report(samples))


if __name__ == "__main__":
    main()
