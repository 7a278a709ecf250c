"""One function per figure group; each sets up the processes it needs through ``Env``.

Words the notes use: *warm* is the same page asked again (its rows mapped and written before,
its accounts' sizes, currencies and tokens known); *cold* is rows and accounts the gateway
process has never seen (a fresh process, every page of its walk new rows); *one upstream call*
is a direct Meta ad-set request of 100 rows to the sandbox at the same added latency.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from bench import configs, instances, loadgen, served
from bench.drive import (
    NESTED_FIELDS,
    README_NESTED,
    README_QUERY,
    REST_FIELDS,
    REST_PATH,
    GatewayClient,
    auth_headers,
    graphql_body,
    page_query,
)
from bench.env import Env, Gateway, UpstreamLog
from bench.processes import cpu_seconds, idle_cpu_rate, status_mb, thread_times, work_since
from bench.report import Bound, Figure, at_least, at_most
from bench.upstream import MetaAdsets
from gateway.platforms.base import Platform

DEFAULT_LARGE = 1200  # the sandbox's default size of the large accounts
MEMORY_LARGE = 20_000  # 3 large accounts of this size: 60,000 distinct rows
MEMORY_WALKS = 3  # ... served three times: 180,000 rows
MEMORY_CHECKPOINT = 10_000  # distinct rows between two RSS readings
MAX_REQUESTS_PER_WORKER = 5000
GRACE = 5.0  # seconds a load test waits for requests still running at its end
FANOUT_LATENCY_MS = 100.0
CAPACITY_CONCURRENCY = 8


@dataclass
class Ctx:
    env: Env
    quick: bool
    sizes: dict[int, dict[configs.AccountKey, int]] = field(default_factory=dict)
    #: Median of direct upstream calls, by added latency (ms), once measured.
    upstream: dict[float, float] = field(default_factory=dict)

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

    async def upstream_ms(self, latency_ms: float) -> float:
        """Median of direct Meta ad-set requests (100 rows) to the sandbox, which must be
        running at ``latency_ms``."""
        if latency_ms not in self.upstream:
            self.upstream[latency_ms] = await _median_upstream_ms(self, 100)
        return self.upstream[latency_ms]


def _ms(seconds: float) -> float:
    return seconds * 1000


def fig(name: str, value: float, unit: str = "", note: str = "") -> Figure:
    """A figure with its target from ``FIGURES``."""
    return Figure.bounded(name, value, FIGURES[name][1], unit, note)


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
    """Warm pages over 3 platforms x 2 small accounts, 100 ms per upstream call."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=FANOUT_LATENCY_MS)
    accounts = await ctx.fanout_accounts()
    gateway = await ctx.env.use_gateway(accounts)
    upstream = await ctx.upstream_ms(FANOUT_LATENCY_MS)
    rest: list[float] = []
    flat: list[float] = []
    nested: list[float] = []
    spans: set[int] = set()
    async with GatewayClient(gateway.url) as client:
        for _ in range(ctx.n(3, 2)):  # warm: sizes, currencies, tokens, campaigns, connections
            await client.rest(100)
            await client.graphql(REST_FIELDS, 100)
            await client.readme(100)
        for _ in range(ctx.n(21, 5)):
            seconds, body = await client.rest(100)
            rest.append(seconds)
            spans.add(len({item["adAccountId"] for item in body["items"]}))
            if len(body["items"]) != 100:
                raise RuntimeError(f"REST page had {len(body['items'])} rows, not 100")
            flat.append((await client.graphql(REST_FIELDS, 100))[0])
            seconds, connection = await client.readme(100)
            nested.append(seconds)
            if len(connection["edges"]) != 100:
                raise RuntimeError(f"nested page had {len(connection['edges'])} edges, not 100")
    rest_ms, flat_ms = _ms(statistics.median(rest)), _ms(statistics.median(flat))
    nested_ms = _ms(statistics.median(nested))
    span = f"{min(spans)}-{max(spans)}" if len(spans) > 1 else str(min(spans))
    samples = ctx.n(21, 5)
    return [
        fig(
            "upstream_call_ms",
            upstream,
            "ms",
            "one upstream call: direct Meta ad-set request (limit 100) to the sandbox at "
            f"{FANOUT_LATENCY_MS:.0f} ms added latency, median",
        ),
        fig(
            "fanout_ratio_rest",
            rest_ms / upstream,
            note=f"warm REST 100-row page / one upstream call: median {rest_ms:.1f} ms of "
            f"{samples}, {len(accounts)} accounts in scope, rows from {span} of them",
        ),
        fig(
            "fanout_ratio_graphql",
            flat_ms / upstream,
            note=f"warm flat GraphQL page (REST's fields, first 100) / one upstream call: "
            f"median {flat_ms:.1f} ms",
        ),
        fig(
            "fanout_ratio_nested",
            nested_ms / upstream,
            note=f"warm README example query (totalCount, campaign {{name objective}}, "
            f"adAccount {{name currency}}; first 100, no filter) / one upstream call: median "
            f"{nested_ms:.1f} ms",
        ),
    ]


async def first_page(ctx: Ctx) -> list[Figure]:
    """The very first page of fresh gateway processes, 100 ms per upstream call."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=FANOUT_LATENCY_MS)
    accounts = await ctx.fanout_accounts()
    upstream = await ctx.upstream_ms(FANOUT_LATENCY_MS)

    async def first(nested: bool) -> float:
        gateway = await ctx.env.use_gateway(accounts, fresh=True)
        async with GatewayClient(gateway.url) as client:
            if nested:
                seconds, connection = await client.readme(100)
                rows = len(connection["edges"])
            else:
                seconds, body = await client.rest(100)
                rows = len(body["items"])
        if rows != 100:
            raise RuntimeError(f"first page had {rows} rows, not 100")
        return _ms(seconds)

    rest = [await first(False) for _ in range(ctx.n(5, 3))]
    nested = [await first(True) for _ in range(ctx.n(3, 2))]
    ctx.env.stop_gateway()
    rest_ms, nested_ms = statistics.median(rest), statistics.median(nested)
    how = (
        "a new `gateway serve` over the 6 small accounts, once /healthz and /readyz answer; "
        "latency includes connecting to it"
    )
    return [
        fig(
            "first_page_ratio_rest",
            rest_ms / upstream,
            note=f"cold first REST 100-row page of a fresh process / one upstream call: median "
            f"{rest_ms:.0f} ms over {len(rest)} processes "
            f"({', '.join(f'{v:.0f}' for v in rest)}); {how}",
        ),
        fig(
            "first_page_ratio_nested",
            nested_ms / upstream,
            note=f"cold first README-query page (first 100) of a fresh process / one upstream "
            f"call: median {nested_ms:.0f} ms over {len(nested)} processes "
            f"({', '.join(f'{v:.0f}' for v in nested)})",
        ),
    ]


async def calls_per_account(ctx: Ctx) -> list[Figure]:
    """Upstream calls of one warm 200-row GraphQL page with campaign and account."""
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
        fig(
            "calls_per_account",
            total / called,
            note=f"warm 200-row GraphQL page with campaign and adAccount: {total} upstream "
            f"calls / {called} accounts in the page (of {len(accounts)} in scope): "
            f"{_breakdown(log)}",
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


async def _warm_cpu_ms(
    pid: int,
    pages: Mapping[str, Callable[[], Awaitable[object]]],
    count: int,
    rounds: int,
    idle_rate: float,
) -> dict[str, float]:
    """CPU ms per page of each kind of ``pages``, ``count`` pages of each, taken in
    ``rounds`` interleaved blocks (all kinds in turn, then again): a machine whose speed
    drifts during the run (other work on its cores) weighs on every kind alike, which the
    ratios between kinds need. Each block is counted from an idle process until it is idle
    again, what it spends idle (``idle_rate``) taken off (``work_since``)."""
    per_block = max(count // rounds, 1)
    spent = dict.fromkeys(pages, 0.0)
    for _ in range(rounds):
        for kind, one in pages.items():
            before = thread_times(pid)
            for _ in range(per_block):
                await one()
            spent[kind] += await work_since(pid, before, idle_rate=idle_rate)
    return {kind: _ms(seconds) / (per_block * rounds) for kind, seconds in spent.items()}


Walker = Callable[[GatewayClient, str | None], Awaitable[tuple[int, str | None]]]


async def _rest_step(client: GatewayClient, cursor: str | None) -> tuple[int, str | None]:
    _, body = await client.rest(100, cursor)
    following: str | None = body["nextCursor"]
    return len(body["items"]), following


def _graphql_step(query: str) -> Walker:
    async def step(client: GatewayClient, cursor: str | None) -> tuple[int, str | None]:
        _, connection = await client.query(query, 100, cursor)
        info = connection["pageInfo"]
        following: str | None = info["endCursor"] if info["hasNextPage"] else None
        return len(connection["edges"]), following

    return step


async def _cold_walk(ctx: Ctx, step: Walker, expected: int) -> tuple[float, int, float]:
    """A fresh gateway over every account of the project walks all of it, 100 rows a page,
    from its very first request: (CPU ms per page, pages, the process's idle CPU rate). Before
    the CPU is read, one REST ``HEAD`` and one GraphQL ``{ __typename }`` run the HTTP stack
    once without calling any platform, so that start-up work is not counted; everything about
    accounts and rows is. What the process spends idle while it settles after the walk is not
    (``work_since``)."""
    gateway = await ctx.env.use_gateway(list(await ctx.account_sizes()), fresh=True)
    async with GatewayClient(gateway.url) as client:
        (await client.http.head(client.rest_path)).raise_for_status()
        (await client.http.post("/graphql", json={"query": "{ __typename }"})).raise_for_status()
        idle_rate = await idle_cpu_rate(gateway.pid)
        before = thread_times(gateway.pid)
        rows, pages, cursor = 0, 0, None
        while pages < 10_000:
            got, cursor = await step(client, cursor)
            rows, pages = rows + got, pages + 1
            if cursor is None:
                break
        spent = await work_since(gateway.pid, before, idle_rate=idle_rate)
    ctx.env.stop_gateway()
    if rows != expected:
        raise RuntimeError(f"cold walk listed {rows} rows, the project has {expected}")
    return _ms(spent) / pages, pages, idle_rate


def _ratios(over: list[float], under: list[float]) -> str:
    return ", ".join(f"{a / b:.2f}" for a, b in zip(over, under, strict=True))


async def cpu(ctx: Ctx) -> list[Figure]:
    """Gateway CPU per 100-row page, warm and cold: REST; GraphQL with REST's fields (flat),
    with those and the README's nested ``campaign`` and ``adAccount`` (nested: the same page
    and rows as REST, plus nesting), and the README's query itself (nested fields, fewer
    scalars, and ``totalCount``, whose accounts' totals cost upstream calls of their own)."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=0)
    gateway = await ctx.env.use_gateway(await ctx.fanout_accounts())
    n_pages, rounds = ctx.n(300, 60), ctx.n(5, 3)
    nested_query = page_query(REST_FIELDS + README_NESTED)
    async with GatewayClient(gateway.url) as client:
        pages: dict[str, Callable[[], Awaitable[object]]] = {
            "rest": lambda: client.rest(100),
            "flat": lambda: client.graphql(REST_FIELDS, 100),
            "nested": lambda: client.query(nested_query, 100),
            "readme": lambda: client.readme(100),
        }
        for _ in range(ctx.n(10, 2)):
            for one in pages.values():
                await one()
        warm_idle = await idle_cpu_rate(gateway.pid)
        warm = await _warm_cpu_ms(gateway.pid, pages, n_pages, rounds, warm_idle)
    expected = sum((await ctx.account_sizes()).values())
    # REST and nested first in each round, back to back: their ratio is taken walk by walk
    steps: dict[str, Walker] = {
        "rest": _rest_step,
        "nested": _graphql_step(nested_query),
        "flat": _graphql_step(page_query(REST_FIELDS)),
        "readme": _graphql_step(README_QUERY),
    }
    cold: dict[str, list[float]] = {kind: [] for kind in steps}
    cold_idle: list[float] = []
    pages_walked = 0
    walks = ctx.n(5, 1)
    for _ in range(walks):
        for kind, step in steps.items():
            ms, pages_walked, idle_rate = await _cold_walk(ctx, step, expected)
            cold[kind].append(ms)
            cold_idle.append(idle_rate)
    cold_ms = {kind: statistics.median(cold[kind]) for kind in steps}
    # Each round's nested walk over its REST walk, a few seconds apart: a host whose speed
    # drifts over the group (other work on its cores) weighs on both alike.
    cold_ratio = statistics.median(
        nested / rest for nested, rest in zip(cold["nested"], cold["rest"], strict=True)
    )
    warm_how = (
        f"gateway process CPU (/proc schedstat of each thread, from idle to idle again, less "
        f"what it spends idle: {_ms(warm_idle):.1f} ms/s here), in {rounds} blocks interleaved "
        "with the other kinds; 6 small accounts, latency 0"
    )
    cold_how = (
        f"a fresh gateway over all {len(await ctx.account_sizes())} accounts ({expected} rows) "
        f"walks the whole project, {pages_walked} pages of 100, from its first request: rows "
        f"and accounts never seen (median of {walks} process(es)); CPU of the walk, until the "
        f"process is idle again (less what it spends idle: {_ms(statistics.median(cold_idle)):.1f}"
        " ms/s, median), / pages"
    )
    nested_what = f"REST's fields + the README's `{README_NESTED}`"
    return [
        fig("cpu_ms_rest_100_warm", warm["rest"], "ms", f"{n_pages} same pages; {warm_how}"),
        fig("cpu_ms_rest_100_cold", cold_ms["rest"], "ms", f"REST; {cold_how}"),
        fig("cpu_ms_graphql_100_warm", warm["flat"], "ms", f"{n_pages} same pages, REST's fields"),
        fig("cpu_ms_graphql_100_cold", cold_ms["flat"], "ms", "flat GraphQL (REST's fields), cold"),
        fig("cpu_ms_nested_100_warm", warm["nested"], "ms", f"{n_pages} same pages, {nested_what}"),
        fig("cpu_ms_nested_100_cold", cold_ms["nested"], "ms", f"{nested_what}, walked cold"),
        fig(
            "cpu_ratio_nested_rest_warm",
            warm["nested"] / warm["rest"],
            note="cpu_ms_nested_100_warm / cpu_ms_rest_100_warm: the same page's rows",
        ),
        fig(
            "cpu_ratio_nested_rest_cold",
            cold_ratio,
            note=f"median over {walks} round(s) of the nested walk's CPU / the REST walk's just "
            f"before it: the same pages' rows (rounds: {_ratios(cold['nested'], cold['rest'])})",
        ),
        fig(
            "cpu_ms_readme_100_warm",
            warm["readme"],
            "ms",
            f"{n_pages} same pages of the README's query: fewer scalars than REST, the nested "
            "fields, and totalCount (a first page asks each account the page does not reach "
            "for its total: upstream calls REST's page does not make)",
        ),
        fig("cpu_ms_readme_100_cold", cold_ms["readme"], "ms", "the README's query, walked cold"),
    ]


async def _capacity_run(
    ctx: Ctx, gateway: Gateway, *, body: bytes | None, duration: float
) -> tuple[loadgen.Result, float, float, int]:
    """One load-generator run at ``CAPACITY_CONCURRENCY``: (result, gateway and sandbox CPU
    share of one core over the run, upstream calls)."""
    sandbox = ctx.env.sandbox
    assert sandbox is not None
    marks: dict[str, float] = {}

    def on_start() -> None:
        marks["gateway"] = cpu_seconds(gateway.pid)
        marks["sandbox"] = cpu_seconds(sandbox.child.pid)
        marks["at"] = time.perf_counter()

    await ctx.env.reset_log()
    headers = auth_headers()
    if body is not None:
        headers.append(("Content-Type", "application/json"))
    result = await loadgen.spawn(
        gateway.url,
        "/graphql" if body is not None else f"{REST_PATH}?limit=100",
        connections=CAPACITY_CONCURRENCY,
        duration=duration,
        headers=headers,
        method="POST" if body is not None else "GET",
        body=body,
        workdir=ctx.env.workdir,
        on_start=on_start,
    )
    wall = time.perf_counter() - marks["at"]
    gateway_share = (cpu_seconds(gateway.pid) - marks["gateway"]) / wall
    sandbox_share = (cpu_seconds(sandbox.child.pid) - marks["sandbox"]) / wall
    calls = (await ctx.env.upstream_log()).total()
    return result, gateway_share, sandbox_share, calls


def _capacity_note(
    what: str, result: loadgen.Result, gateway: float, sandbox: float, calls: int
) -> str:
    failed = result.requests - result.ok() + result.errors
    per_page = calls / result.requests if result.requests else float("nan")
    return (
        f"{what}: {result.ok()} pages in {result.seconds:.1f} s at concurrency "
        f"{CAPACITY_CONCURRENCY}, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"{failed} not 200; quotas out of play, latency 0, 6 small accounts, one gateway "
        f"worker; CPU of one core: gateway {gateway:.0%}, sandbox process {sandbox:.0%} "
        f"({per_page:.1f} upstream calls a page), load generator "
        f"{result.cpu_seconds / result.seconds:.0%} (bench.loadgen, own process); "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )


async def capacity(ctx: Ctx) -> list[Figure]:
    """Pages per second with no quota in play, lean load generator, concurrency 8."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=0)
    gateway = await ctx.env.use_gateway(await ctx.fanout_accounts())
    duration = float(ctx.n(15, 5))
    await ctx.env.set_metered(False)
    try:
        async with GatewayClient(gateway.url) as client:
            for _ in range(5):  # warm: sizes, currencies, tokens, campaigns
                await client.rest(100)
                await client.readme(100)
        rest = await _capacity_run(ctx, gateway, body=None, duration=duration)
        nested = await _capacity_run(
            ctx, gateway, body=graphql_body(README_QUERY, 100), duration=duration
        )
    finally:
        await ctx.env.set_metered(ctx.env.metered)
    return [
        fig(
            "rps_rest_c8",
            rest[0].ok() / rest[0].seconds,
            "req/s",
            _capacity_note("warm REST 100-row page", *rest),
        ),
        fig(
            "rps_nested_c8",
            nested[0].ok() / nested[0].seconds,
            "req/s",
            _capacity_note("warm README query, first 100", *nested),
        ),
    ]


async def quota_bound(ctx: Ctx) -> list[Figure]:
    """REST pages per second at concurrency 32, 50 ms upstream latency, with the Meta
    sandbox's simulated quota in play. Requests still running ``GRACE`` seconds after the
    end are cancelled and counted."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=50)
    await ctx.env.set_metered(True)
    try:
        return await _quota_bound(ctx)
    finally:
        await ctx.env.set_metered(ctx.env.metered)


async def _quota_bound(ctx: Ctx) -> list[Figure]:
    accounts = await ctx.fanout_accounts()
    gateway = await ctx.env.use_gateway(accounts, fresh=True)
    concurrency, duration = 32, float(ctx.n(15, 5))
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    async with GatewayClient(gateway.url, connections=concurrency) as client:
        # Usage first (it takes seconds: a connection kept from the warm-up would sit idle
        # past the gateway's keep-alive timeout), then the warm-up, one page at a time.
        primed = await _use_meta_quota(ctx, accounts)
        for _ in range(3):
            await client.rest(100)
        await ctx.env.reset_log()
        cpu_before = cpu_seconds(gateway.pid)
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
        share = (cpu_seconds(gateway.pid) - cpu_before) / elapsed
    ctx.env.stop_gateway()
    p50 = _ms(statistics.median(latencies)) if latencies else float("nan")
    failed = sum(errors.values())
    log = await ctx.env.upstream_log()
    problems = [f"{n}x {what}" for what, n in errors.most_common(2)]
    if pending:
        problems.append(f"{len(pending)} still running {grace:g} s after the end, cancelled")
    return [
        fig(
            "rps_rest_c32_meta_quota",
            len(latencies) / elapsed,
            "req/s",
            "quota-bound, not capacity: REST 100-row pages at concurrency 32 with the Meta "
            f"sandbox's simulated quota in play (direct calls first bring each Meta account's "
            f"usage to {primed:.0f} %, past the 90 % at which the gateway spaces Meta calls "
            f"out), 50 ms latency, 6 small accounts: {len(latencies)} pages "
            f"in {elapsed:.1f} s, p50 {p50:.0f} ms, {failed} failed"
            + (f" ({'; '.join(problems)})" if problems else "")
            + f"; {log.total()} upstream calls; gateway CPU {share:.0%} of a core",
        )
    ]


QUOTA_USAGE = 90  # percent of the Meta sandbox's nominal calls a minute


async def _use_meta_quota(ctx: Ctx, accounts: list[configs.AccountKey]) -> float:
    """Direct calls to each Meta account in ``accounts`` until the sandbox reports at least
    ``QUOTA_USAGE`` percent of its quota used; returns the lowest usage reached."""
    sandbox = ctx.env.sandbox
    assert sandbox is not None
    meta = [MetaAdsets(sandbox.doc, k[1]) for k in accounts if k[0] == Platform.META_ADS.value]
    reached: list[float] = []
    async with httpx.AsyncClient(timeout=30.0) as client:
        for call in meta:
            usage = 0.0
            for _ in range(100):  # at most 100 rounds of 32 calls
                answers = await asyncio.gather(
                    *(
                        client.get(call.url, params={"limit": "1"}, headers=call.headers)
                        for _ in range(32)
                    )
                )
                usage = max(_account_usage(a) for a in answers)
                if usage >= QUOTA_USAGE:
                    break
            reached.append(usage)
    return min(reached)


def _account_usage(response: httpx.Response) -> float:
    """``acc_id_util_pct`` of Meta's ``x-ad-account-usage`` header (0 without one)."""
    header = response.headers.get("x-ad-account-usage")
    if header is None:
        return 0.0
    value: Any = orjson.loads(header).get("acc_id_util_pct", 0)
    return float(value)


async def _walk_once(
    ctx: Ctx, large: int, quick_latency: float, settings: Mapping[str, Any] | None = None
) -> tuple[float, float, int, int]:
    """Fresh sandbox and gateway (with ``settings``) over the large Meta account only; walk
    it at limit 200. Returns (wall seconds, gateway peak RSS MiB, rows, upstream calls)."""
    await ctx.env.use_sandbox(large_adsets=large, latency_ms=quick_latency)
    account = configs.largest(await ctx.account_sizes(), Platform.META_ADS)
    gateway = await ctx.env.use_gateway([account], fresh=True, settings=settings)
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
    """A full REST walk of a 10,000 ad-set account at limit 200."""
    latency = 20.0
    plain_wall, _, _, plain_calls = await _walk_once(ctx, 10_000, latency, {"read_ahead": False})
    wall, peak_10k, rows, calls = await _walk_once(ctx, 10_000, latency)
    sandbox = ctx.env.sandbox
    assert sandbox is not None
    account = configs.largest(await ctx.account_sizes(), Platform.META_ADS)
    async with httpx.AsyncClient(timeout=30.0) as http:
        upstream, pages = await MetaAdsets(sandbox.doc, account[1]).walk(http, 200)
    ctx.env.stop_gateway()
    return [
        fig(
            "walk_10k_ratio",
            wall / upstream,
            note=f"{rows} rows in {wall:.2f} s through REST (the default configuration: "
            f"read-ahead on); direct walk {pages} pages in {upstream:.2f} s; gateway made "
            f"{calls} upstream calls; latency {latency:.0f} ms",
        ),
        fig(
            "walk_10k_ratio_no_read_ahead",
            plain_wall / upstream,
            note=f"the same walk with read_ahead = false: {plain_wall:.2f} s, {plain_calls} "
            "upstream calls",
        ),
        fig("walk_rss_mb_10k", peak_10k, "MiB", "gateway VmHWM after the 10k walk"),
    ]


async def memory(ctx: Ctx) -> list[Figure]:
    """RSS of a gateway that serves 180,000 rows of which 60,000 are distinct."""
    await ctx.env.use_sandbox(large_adsets=MEMORY_LARGE, latency_ms=0)
    sizes = await ctx.account_sizes()
    accounts = [configs.largest(sizes, platform) for platform in Platform]
    distinct = sum(sizes[a] for a in accounts)
    gateway = await ctx.env.use_gateway(accounts, fresh=True)
    start_mb = status_mb(gateway.pid, "VmRSS")
    checkpoints: list[tuple[int, float]] = [(0, start_mb)]
    after_walk: list[float] = []
    served = 0
    async with GatewayClient(gateway.url) as client:
        for walk_number in range(MEMORY_WALKS):
            rows, cursor = 0, None
            for _ in range(distinct // 200 + 10):
                _, body = await client.rest(200, cursor)
                rows += len(body["items"])
                if walk_number == 0 and rows // MEMORY_CHECKPOINT > len(checkpoints) - 1:
                    checkpoints.append((rows, status_mb(gateway.pid, "VmRSS")))
                cursor = body["nextCursor"]
                if cursor is None:
                    break
            if rows != distinct:
                raise RuntimeError(f"memory walk listed {rows} rows, the accounts hold {distinct}")
            served += rows
            after_walk.append(status_mb(gateway.pid, "VmRSS"))
    rss, hwm = status_mb(gateway.pid, "VmRSS"), status_mb(gateway.pid, "VmHWM")
    ctx.env.stop_gateway()
    slopes = per_thousand(checkpoints)
    series = ", ".join(f"{rows // 1000}k {mb:.1f}" for rows, mb in slopes)
    walks = ", ".join(f"{mb:.0f}" for mb in after_walk)
    return [
        fig(
            "mem_rss_mb_180k",
            rss,
            "MiB",
            f"gateway VmRSS after serving {served:,} rows ({distinct:,} distinct: the 3 large "
            f"accounts at {MEMORY_LARGE:,} ad sets, walked {MEMORY_WALKS} times by REST at "
            f"limit 200, latency 0); {start_mb:.0f} MiB once ready, {walks} after each walk",
        ),
        fig("mem_hwm_mb_180k", hwm, "MiB", "gateway VmHWM (peak RSS) after the same"),
        fig(
            "mem_mb_per_1k_rows",
            slopes[-1][1] if slopes else float("nan"),
            "MiB",
            "RSS growth per 1,000 distinct rows over the last 10,000 of the first walk; by "
            f"distinct rows served: {series}",
        ),
    ]


def per_thousand(checkpoints: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """(rows, MiB per 1,000 rows since the previous checkpoint) for each checkpoint after
    the first of ``(rows, MiB)`` readings."""
    out = []
    for (rows0, mb0), (rows1, mb1) in itertools.pairwise(checkpoints):
        if rows1 > rows0:
            out.append((rows1, (mb1 - mb0) * 1000 / (rows1 - rows0)))
    return out


async def shared(ctx: Ctx) -> list[Figure]:
    """Two instances on PostgreSQL and Redis (``bench.instances``), 50 ms upstream latency."""
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=50)
    ctx.env.stop_gateway()
    return await instances.two_instances(ctx.env, await ctx.fanout_accounts(), ctx.quick)


async def instructions(ctx: Ctx) -> list[Figure]:
    """Callgrind instructions per 100-row page of a served gateway (``bench.served``): the
    ``cpu`` group's warm and cold pages, counted where CPU time drifts with the machine."""
    missing = served.missing_tools()
    if missing is not None:
        return [unmeasured(name, missing) for name in names_of("instructions")]
    await ctx.env.use_sandbox(large_adsets=DEFAULT_LARGE, latency_ms=0)
    ctx.env.stop_gateway()
    pages = ctx.n(100, 30)
    warm = await served.warm(ctx.env, await ctx.fanout_accounts(), pages)
    sizes = await ctx.account_sizes()
    cold = await served.cold(ctx.env, list(sizes), sum(sizes.values()))
    how = "`gateway serve` under callgrind, every thread, uvicorn included; sandbox latency 0"
    out: list[Figure] = []
    for kind, what in (("rest", "REST"), ("graphql", "REST's fields"), ("nested", "nested")):
        out.append(
            fig(
                f"instr_m_{kind}_100_warm",
                warm[kind] / 1e6,
                "M",
                f"{what}, {pages} same pages; {how}",
            )
        )
        out.append(
            fig(
                f"instr_m_{kind}_100_cold",
                cold[kind] / 1e6,
                "M",
                f"{what}, a fresh process walks the project",
            )
        )
    for temperature, counts in (("warm", warm), ("cold", cold)):
        out.append(
            fig(
                f"instr_ratio_nested_rest_{temperature}",
                counts["nested"] / counts["rest"],
                note=f"instr_m_nested_100_{temperature} / instr_m_rest_100_{temperature}",
            )
        )
    return out


Group = Callable[[Ctx], Awaitable[list[Figure]]]

#: Group name -> its function, in the order they run (groups that share a sandbox together).
GROUPS: dict[str, Group] = {
    "fanout": fanout,
    "first_page": first_page,
    "calls": calls_per_account,
    "cpu": cpu,
    "instructions": instructions,
    "capacity": capacity,
    "quota": quota_bound,
    "shared": shared,
    "walk": walk,
    "memory": memory,
}
#: Figure name -> (group that measures it, target or None).
FIGURES: dict[str, tuple[str, Bound | None]] = {
    "upstream_call_ms": ("fanout", None),
    "fanout_ratio_rest": ("fanout", at_most(1.1)),
    "fanout_ratio_graphql": ("fanout", at_most(1.1)),
    "fanout_ratio_nested": ("fanout", at_most(1.15)),
    "first_page_ratio_rest": ("first_page", at_most(1.6)),
    "first_page_ratio_nested": ("first_page", None),
    "calls_per_account": ("calls", at_most(2)),
    "cpu_ms_rest_100_warm": ("cpu", at_most(1.5)),
    "cpu_ms_rest_100_cold": ("cpu", at_most(4)),
    "cpu_ms_graphql_100_warm": ("cpu", None),
    "cpu_ms_graphql_100_cold": ("cpu", None),
    "cpu_ms_nested_100_warm": ("cpu", None),
    "cpu_ms_nested_100_cold": ("cpu", None),
    "cpu_ratio_nested_rest_warm": ("cpu", at_most(1.5)),
    "cpu_ratio_nested_rest_cold": ("cpu", at_most(1.5)),
    "cpu_ms_readme_100_warm": ("cpu", None),
    "cpu_ms_readme_100_cold": ("cpu", None),
    **{
        f"instr_m_{kind}_100_{temperature}": ("instructions", None)
        for kind in ("rest", "graphql", "nested")
        for temperature in ("warm", "cold")
    },
    "instr_ratio_nested_rest_warm": ("instructions", None),
    "instr_ratio_nested_rest_cold": ("instructions", None),
    "rps_rest_c8": ("capacity", at_least(1200)),
    "rps_nested_c8": ("capacity", at_least(500)),
    "rps_rest_c32_meta_quota": ("quota", None),
    "two_instance_rps_ratio": ("shared", None),
    "shared_throttle_calls_saved": ("shared", None),
    "walk_10k_ratio": ("walk", at_most(1.2)),
    "walk_10k_ratio_no_read_ahead": ("walk", None),
    "walk_rss_mb_10k": ("walk", None),
    "mem_rss_mb_180k": ("memory", at_most(150)),
    "mem_hwm_mb_180k": ("memory", None),
    "mem_mb_per_1k_rows": ("memory", None),
}


def register_peer(module: Any) -> None:
    """Add the ``peer`` group (Hive Gateway over our REST path) from ``module``, which exposes
    ``async def peer(ctx) -> list[Figure]`` and ``PEER_FIGURES`` (name -> ``Bound`` or None);
    it runs after ``shared``."""
    items = [(name, group) for name, group in GROUPS.items() if name != "peer"]
    at = [name for name, _ in items].index("shared") + 1
    GROUPS.clear()
    GROUPS.update([*items[:at], ("peer", module.peer), *items[at:]])
    for name, target in dict(module.PEER_FIGURES).items():
        FIGURES[name] = ("peer", target)


def names_of(group: str) -> list[str]:
    return [name for name, (g, _) in FIGURES.items() if g == group]


def unmeasured(name: str, reason: str) -> Figure:
    """A figure that could not be measured (NaN, null in the JSON)."""
    return Figure.bounded(name, float("nan"), FIGURES[name][1], note=reason)


# Imported last: bench.peer builds on this module's Ctx.
from bench import peer as _peer  # noqa: E402

register_peer(_peer)
