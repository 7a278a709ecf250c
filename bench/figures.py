"""One function per figure group; each sets up the processes it needs through ``Env``."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from bench import configs, instances
from bench.drive import NESTED_FIELDS, REST_FIELDS, GatewayClient
from bench.env import Env, UpstreamLog
from bench.processes import cpu_seconds, status_mb
from bench.report import Figure
from bench.upstream import MetaAdsets
from gateway.platforms.base import Platform

DEFAULT_LARGE = 1200  # the sandbox's default size of the large accounts
MAX_REQUESTS_PER_WORKER = 5000
GRACE = 5.0  # seconds a load test waits for requests still running at its end


@dataclass
class Ctx:
    env: Env
    quick: bool
    sizes: dict[int, dict[configs.AccountKey, int]] = field(default_factory=dict)

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    async def account_sizes(self) -> dict[configs.AccountKey, int]:
        """Ad sets per account of the running sandbox (asked once per seed size)."""
        sandbox = self.env.sandbox
        assert sandbox is not None
        if sandbox.large_adsets not in self.sizes:
            self.sizes[sandbox.large_adsets] = await configs.account_sizes(sandbox.config)
        return self.sizes[sandbox.large_adsets]

    async def fanout_accounts(self) -> list[configs.AccountKey]:
        """Two accounts per platform, the two smallest non-empty ones of each: none of them
        holds 100 ad sets, so a 100-row first page must merge rows from several accounts,
        and the six together still hold 200 rows for the 200-row GraphQL page. (A large
        account would fill a page on its own; an empty one would add a call but no rows.)"""
        sizes = await self.account_sizes()
        chosen = configs.smallest_per_platform(sizes, 2)
        if max(sizes[k] for k in chosen) >= 100 or sum(sizes[k] for k in chosen) < 200:
            raise RuntimeError(f"the sandbox's small accounts no longer fit: {sizes}")
        return chosen


def _ms(seconds: float) -> float:
    return seconds * 1000


async def _median_upstream_ms(ctx: Ctx, limit: int) -> float:
    """Median of direct Meta ad-set requests (``limit`` rows) against the sandbox."""
    sandbox = ctx.env.sandbox
    assert sandbox is not None
    meta = next(k for k in await ctx.fanout_accounts() if k[0] == Platform.META_ADS.value)
    call = MetaAdsets(sandbox.doc, meta[1])
    async with httpx.AsyncClient(timeout=30.0) as client:
        await call.page(client, limit)
        times = [(await call.page(client, limit))[0] for _ in range(ctx.n(15, 5))]
    return _ms(statistics.median(times))


async def fanout(ctx: Ctx) -> list[Figure]:
    """Figures 1: a 100-row page over 3 platforms x 2 accounts, 100 ms per upstream call."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=100)
    accounts = await ctx.fanout_accounts()
    gateway = await ctx.env.use_gateway(accounts)
    upstream = await _median_upstream_ms(ctx, 100)
    rest: list[float] = []
    gql: list[float] = []
    spans: set[int] = set()
    async with GatewayClient(gateway.url) as client:
        for _ in range(ctx.n(3, 2)):  # warm: account currencies, Apple tokens, connections
            await client.rest(100)
            await client.graphql(REST_FIELDS, 100)
        for _ in range(ctx.n(21, 5)):
            seconds, body = await client.rest(100)
            rest.append(seconds)
            spans.add(len({item["adAccountId"] for item in body["items"]}))
            if len(body["items"]) != 100:
                raise RuntimeError(f"REST page had {len(body['items'])} rows, not 100")
            gql.append((await client.graphql(REST_FIELDS, 100))[0])
    rest_ms, gql_ms = _ms(statistics.median(rest)), _ms(statistics.median(gql))
    span = f"{min(spans)}-{max(spans)}" if len(spans) > 1 else str(min(spans))
    return [
        Figure(
            "upstream_call_ms",
            upstream,
            "ms",
            note="direct Meta ad-set request (limit 100) to the sandbox at 100 ms, median",
        ),
        Figure(
            "fanout_ratio_rest",
            rest_ms / upstream,
            target=FIGURES["fanout_ratio_rest"][1],
            note=f"REST page median {rest_ms:.1f} ms over {len(accounts)} accounts, "
            f"rows from {span} accounts",
        ),
        Figure(
            "fanout_ratio_graphql",
            gql_ms / upstream,
            target=FIGURES["fanout_ratio_graphql"][1],
            note=f"GraphQL page (REST fields) median {gql_ms:.1f} ms",
        ),
    ]


async def calls_per_account(ctx: Ctx) -> list[Figure]:
    """Figure 2: upstream calls of one warm 200-row GraphQL page with campaign and account."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=0)
    accounts = await ctx.fanout_accounts()
    gateway = await ctx.env.use_gateway(accounts)
    async with GatewayClient(gateway.url) as client:
        await client.graphql(NESTED_FIELDS, 200)  # warm-up
        await ctx.env.reset_log()
        _, connection = await client.graphql(NESTED_FIELDS, 200)
    log = await ctx.env.upstream_log()
    edges = connection["edges"]
    if len(edges) != 200:
        raise RuntimeError(f"GraphQL page had {len(edges)} edges, not 200")
    shown = {e["node"]["adAccount"]["id"] for e in edges if e["node"]["adAccount"]}
    # A warm page calls only the accounts it needs: count those whose rows it shows (an
    # account called for nothing would make the figure larger, never smaller).
    called = max(len(shown), 1)
    total = log.total()
    return [
        Figure(
            "calls_per_account",
            total / called,
            target=FIGURES["calls_per_account"][1],
            note=f"{total} upstream calls / {called} accounts in the page "
            f"(of {len(accounts)} in scope): {_breakdown(log)}",
        )
    ]


def _label(method: str, path: str) -> str:
    """A short name of an upstream endpoint: ``adsets``, ``adgroup/get``, ``?ids``."""
    parts = [p for p in path.split("/")[2:] if p and p != "open_api"]
    words = [p for p in parts if not any(c.isdigit() for c in p)]
    if words:
        return "/".join(words)
    return "?ids" if path.endswith("/") else f"{method} account"


def _breakdown(log: UpstreamLog) -> str:
    """Calls per platform and endpoint, e.g. ``meta adsets 2 + account 0``."""
    out = []
    for platform, counts in log.calls.items():
        kinds: Counter[str] = Counter()
        for endpoint, n in counts.items():
            method, path = endpoint.split(" ", 1)
            kinds[_label(method, path)] += n
        inner = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        out.append(f"{platform.split('_')[0]} [{inner}]")
    failures = log.failures()
    return "; ".join(out) + (f"; {failures} failed" if failures else "")


async def _cpu_ms_per_page(pid: int, pages: int, one: Callable[[], Awaitable[None]]) -> float:
    before = cpu_seconds(pid)
    for _ in range(pages):
        await one()
    return _ms(cpu_seconds(pid) - before) / pages


async def cpu(ctx: Ctx) -> list[Figure]:
    """Figures 3: gateway CPU per 100-row page, REST and GraphQL, no upstream latency."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=0)
    gateway = await ctx.env.use_gateway(await ctx.fanout_accounts())
    n_rest, n_gql = ctx.n(300, 40), ctx.n(100, 15)
    async with GatewayClient(gateway.url) as client:
        for _ in range(ctx.n(10, 2)):
            await client.rest(100)
            await client.graphql(REST_FIELDS, 100)

        async def rest() -> None:
            await client.rest(100)

        async def gql() -> None:
            await client.graphql(REST_FIELDS, 100)

        rest_ms = await _cpu_ms_per_page(gateway.pid, n_rest, rest)
        gql_ms = await _cpu_ms_per_page(gateway.pid, n_gql, gql)
    walk_gateway = await ctx.env.use_gateway(list(await ctx.account_sizes()))
    async with GatewayClient(walk_gateway.url) as client:
        await client.rest(100)
        before = cpu_seconds(walk_gateway.pid)
        walk_pages = await _walk_pages(client, 100)
        rest_walk_ms = _ms(cpu_seconds(walk_gateway.pid) - before) / walk_pages
    scope = "gateway process utime+stime (/proc), 6 accounts, latency 0"
    return [
        Figure(
            "cpu_ms_rest_100",
            rest_ms,
            "ms",
            FIGURES["cpu_ms_rest_100"][1],
            note=f"{n_rest} pages; {scope}",
        ),
        Figure(
            "cpu_ms_graphql_100",
            gql_ms,
            "ms",
            FIGURES["cpu_ms_graphql_100"][1],
            note=f"{n_gql} pages, REST's fields",
        ),
        Figure(
            "cpu_ms_rest_100_walk",
            rest_walk_ms,
            "ms",
            FIGURES["cpu_ms_rest_100_walk"][1],
            note=f"every page of the whole demo project ({walk_pages} pages, every account), "
            "first page included",
        ),
    ]


async def _walk_pages(client: GatewayClient, limit: int) -> int:
    """Walk the whole project through REST; return the number of pages."""
    cursor: str | None = None
    for pages in range(1, 10_000):
        _, body = await client.rest(limit, cursor)
        cursor = body["nextCursor"]
        if cursor is None:
            return pages
    raise RuntimeError("walk did not end")


async def rps(ctx: Ctx) -> list[Figure]:
    """Figure 4: 100-row REST pages per second at concurrency 32, 50 ms upstream latency.
    Requests still running ``GRACE`` seconds after the end are cancelled and counted."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=50)
    gateway = await ctx.env.use_gateway(await ctx.fanout_accounts())
    concurrency, duration = 32, float(ctx.n(15, 5))
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    async with GatewayClient(gateway.url, connections=concurrency) as client:
        for _ in range(3):  # warm-up, one at a time
            await client.rest(100)
        await ctx.env.reset_log()
        started = time.perf_counter()
        deadline = started + duration

        async def worker() -> None:
            for _ in range(MAX_REQUESTS_PER_WORKER):
                if time.perf_counter() >= deadline:
                    return
                try:
                    latencies.append((await client.rest(100))[0])
                except (RuntimeError, httpx.HTTPError) as exc:
                    errors[
                        str(exc)[:40] if isinstance(exc, RuntimeError) else type(exc).__name__
                    ] += 1

        tasks = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
        grace = GRACE / 2 if ctx.quick else GRACE
        _, pending = await asyncio.wait(tasks, timeout=duration + grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        elapsed = time.perf_counter() - started
    p50 = _ms(statistics.median(latencies)) if latencies else float("nan")
    failed = sum(errors.values())
    log = await ctx.env.upstream_log()
    problems = [f"{n}x {what}" for what, n in errors.most_common(2)]
    if pending:
        problems.append(f"{len(pending)} still running {grace:g} s after the end, cancelled")
    return [
        Figure(
            "rps_rest_c32",
            len(latencies) / elapsed,
            "req/s",
            note=f"{len(latencies)} pages in {elapsed:.1f} s, p50 {p50:.0f} ms, {failed} failed"
            + (f" ({'; '.join(problems)})" if problems else "")
            + f"; {log.total()} upstream calls; 6 accounts; sandbox and load generator share "
            "the 2 cores",
        )
    ]


async def _walk_once(ctx: Ctx, large: int, quick_latency: float) -> tuple[float, float, int, int]:
    """Fresh sandbox and gateway over the large Meta account only; walk it at limit 200.
    Returns (wall seconds, gateway peak RSS MiB, rows, upstream calls)."""
    await ctx.env.use_sandbox(large_adsets=large, latency_ms=quick_latency)
    account = configs.largest(await ctx.account_sizes(), Platform.META_ADS)
    gateway = await ctx.env.use_gateway([account], fresh=True)
    expected = (await ctx.account_sizes())[account]
    max_pages = expected // 200 + 10
    async with GatewayClient(gateway.url) as client:
        await client.rest(200)  # warm-up: the account's currency, connections
        await ctx.env.reset_log()
        rows, cursor = 0, None
        started = time.perf_counter()
        for _ in range(max_pages):
            _, body = await client.rest(200, cursor)
            rows += len(body["items"])
            cursor = body["nextCursor"]
            if cursor is None:
                break
        wall = time.perf_counter() - started
    if rows != expected:
        raise RuntimeError(f"walk listed {rows} rows, the account has {expected}")
    calls = (await ctx.env.upstream_log()).total()
    return wall, status_mb(gateway.pid, "VmHWM"), rows, calls


async def walk(ctx: Ctx) -> list[Figure]:
    """Figures 5: full REST walks of a 10,000 and a 1,000 ad-set account at limit 200."""
    latency = 20.0
    wall, peak_10k, rows, calls = await _walk_once(ctx, 10_000, latency)
    sandbox = ctx.env.sandbox
    assert sandbox is not None
    account = configs.largest(await ctx.account_sizes(), Platform.META_ADS)
    async with httpx.AsyncClient(timeout=30.0) as http:
        upstream, pages = await MetaAdsets(sandbox.doc, account[1]).walk(http, 200)
    _, peak_1k, _, _ = await _walk_once(ctx, 1_000, latency)
    ctx.env.stop()
    return [
        Figure(
            "walk_10k_ratio",
            wall / upstream,
            target=FIGURES["walk_10k_ratio"][1],
            note=f"{rows} rows in {wall:.2f} s through REST; direct walk {pages} pages "
            f"in {upstream:.2f} s; gateway made {calls} upstream calls; latency {latency:.0f} ms",
        ),
        Figure("walk_rss_mb_10k", peak_10k, "MiB", note="gateway VmHWM after the 10k walk"),
        Figure("walk_rss_mb_1k", peak_1k, "MiB", note="fresh gateway, VmHWM after a 1k walk"),
        Figure(
            "walk_rss_growth",
            peak_10k / peak_1k,
            target=FIGURES["walk_rss_growth"][1],
            note="10k peak / 1k peak",
        ),
    ]


async def shared(ctx: Ctx) -> list[Figure]:
    """Two instances on PostgreSQL and Redis (``bench.instances``), 50 ms upstream latency."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=50)
    ctx.env.stop_gateway()
    return await instances.two_instances(ctx.env, await ctx.fanout_accounts(), ctx.quick)


GROUPS = {
    "fanout": fanout,
    "calls": calls_per_account,
    "cpu": cpu,
    "rps": rps,
    "walk": walk,
    "shared": shared,
}
#: Figure name -> (group that measures it, target: an upper bound, or None).
FIGURES: dict[str, tuple[str, float | None]] = {
    "upstream_call_ms": ("fanout", None),
    "fanout_ratio_rest": ("fanout", 1.2),
    "fanout_ratio_graphql": ("fanout", 1.2),
    "calls_per_account": ("calls", 2),
    "cpu_ms_rest_100": ("cpu", 5),
    "cpu_ms_graphql_100": ("cpu", 15),
    "cpu_ms_rest_100_walk": ("cpu", 5),
    "rps_rest_c32": ("rps", None),
    "walk_10k_ratio": ("walk", 1.2),
    "walk_rss_mb_10k": ("walk", None),
    "walk_rss_mb_1k": ("walk", None),
    "walk_rss_growth": ("walk", 1.2),
    "two_instance_rps_ratio": ("shared", None),
    "shared_throttle_calls_saved": ("shared", None),
}


def names_of(group: str) -> list[str]:
    return [name for name, (g, _) in FIGURES.items() if g == group]


def unmeasured(name: str, reason: str) -> Figure:
    """A figure that could not be measured (NaN, null in the JSON)."""
    return Figure(name, float("nan"), target=FIGURES[name][1], note=reason)
