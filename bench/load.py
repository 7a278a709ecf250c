"""A bounded load test of the gateway over faulty sandboxes, every process on 127.0.0.1.

    .venv/bin/python -m bench.load                   # 32 clients for 60 s, 5 % faults
    .venv/bin/python -m bench.load --quick           # 8 clients for 10 s
    .venv/bin/python -m bench.load --clients 16 --duration 30 --max-requests 5000 \\
        --fault-rate 0.1 --graphql-share 0.2 --seed 3

Starts the sandboxes (``bench.sandbox_proc``, seeded with every demo account) and
``gateway serve --config ...`` as subprocesses. With faults off it walks the whole demo project
through REST at every page size the clients use, once per query (no filter and a few
``status``/``platforms`` filters): that ordered list of ad sets is the reference. Then every
platform injects faults into ``--fault-rate`` of its requests (500, throttle, malformed, slow,
drop; a slow answer is held back 1500 ms, well inside the gateway's 25 s deadline) and the
clients walk the listing page by page, following ``nextCursor`` (a share of the pages through
GraphQL, following ``endCursor``). A 502 or 503 is retried on the same cursor after its
``Retry-After`` (at most 2 s); so is a GraphQL answer with upstream errors (GraphQL gives
partial pages, which are not checked). Every 200 page must be exactly the next contiguous slice
of the reference (whole items compared for REST, IDs for GraphQL) and a finished walk must
equal it.

Prints requests, statuses and error codes, retries, latency percentiles, walks and pages
checked, the sandboxes' own counts of upstream calls and injected faults, and the checks: no
500, no bad 200 page, no unexpected status (nor a missing or malformed answer). Exits 1 when a
check fails, 130 on Ctrl-C. Children are stopped on exit, errors and Ctrl-C; every loop is
bounded in count and time, and the whole run has a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bench import configs
from bench.env import Env
from gateway.sandbox.control import parse_fault_kinds
from gateway.sandbox.suite import DEMO_PROJECT_ID, demo_key

LIMITS = (50, 100, 200)
FAULT_KINDS = "500,throttle,malformed,slow,drop"
SLOW_MS = 1500.0  # well under the gateway's 25 s per-call deadline (and its 15 s read timeout)
RETRY_AFTER_CAP = 2.0  # seconds a client waits at most before retrying a 502/503
PAGE_TRIES = 30  # answers to one page request before the walk is abandoned
PAGE_SECONDS = 30.0  # ... or seconds spent on one page
REQUEST_TIMEOUT = 60.0
SETUP_SECONDS = 240.0  # processes, reference walks and report, on top of --duration
REFERENCE_PAGES = 1000  # pages per reference walk at most
FAILURE_SAMPLES = 8
REST_PATH = f"/v1/projects/{DEMO_PROJECT_ID}/ads/adsets"
GQL_QUERY = (
    "query Page($projectId: ID!, $first: Int!, $after: String, $filter: AdSetFilter) {"
    " adSets(projectId: $projectId, first: $first, after: $after, filter: $filter) {"
    " pageInfo { hasNextPage endCursor } edges { node { adsetId } } } }"
)


@dataclass(frozen=True, slots=True)
class Variant:
    """One query the clients walk: REST filter parameters and the same as a GraphQL filter."""

    name: str
    params: Mapping[str, str]
    gql_filter: Mapping[str, list[str]] | None
    weight: int


VARIANTS = (
    Variant("all", {}, None, 4),
    Variant(
        "status=active,paused", {"status": "active,paused"}, {"status": ["ACTIVE", "PAUSED"]}, 2
    ),
    Variant(
        "platforms=meta_ads,tiktok_ads",
        {"platforms": "meta_ads,tiktok_ads"},
        {"platforms": ["META_ADS", "TIKTOK_ADS"]},
        2,
    ),
    Variant(
        "platforms=apple_ads&status=active",
        {"platforms": "apple_ads", "status": "active"},
        {"platforms": ["APPLE_ADS"], "status": ["ACTIVE"]},
        1,
    ),
)


@dataclass(frozen=True, slots=True)
class Reference:
    """The fault-free list of a variant: whole REST items and their IDs, in order."""

    items: list[dict[str, Any]]
    ids: list[str]


@dataclass(frozen=True, slots=True)
class Answer:
    """One response as a client saw it (status 0: no response)."""

    status: int
    body: bytes
    seconds: float
    retry_after: str | None
    error: str = ""


@dataclass
class Stats:
    """Everything the clients counted."""

    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    ok_seconds: list[float] = field(default_factory=list)
    all_seconds: list[float] = field(default_factory=list)
    pages_checked: int = 0
    graphql_pages: int = 0
    short_pages: int = 0
    walks_started: int = 0
    walks_completed: int = 0
    walks_cut: int = 0  # the run ended first
    walks_abandoned: int = 0  # a page kept failing (PAGE_TRIES / PAGE_SECONDS)
    walks_by_variant: dict[str, Counter[str]] = field(default_factory=dict)
    retry_after: Counter[str] = field(default_factory=Counter)  # seconds asked by 503s
    examples: dict[str, str] = field(default_factory=dict)  # first answer per error code
    failures: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def walk(self, variant: Variant, outcome: str) -> None:
        self.walks_by_variant.setdefault(variant.name, Counter())[outcome] += 1

    def fail(self, kind: str, detail: str) -> None:
        self.failures[kind] += 1
        if len(self.samples) < FAILURE_SAMPLES:
            self.samples.append(f"[{kind}] {detail}")


class PageError(Exception):
    """A 200 answer that is not a correct page."""


@dataclass
class Run:
    """Shared by the clients: the gateway, the references, the limits of the run."""

    http: httpx.AsyncClient
    refs: dict[str, Reference]
    stats: Stats
    ends_at: float
    max_requests: int
    graphql_share: float

    def may_send(self) -> bool:
        return time.monotonic() < self.ends_at and self.stats.requests < self.max_requests

    async def rest(self, variant: Variant, limit: int, cursor: str | None) -> Answer:
        params = {**variant.params, "limit": str(limit)}
        if cursor is not None:
            params["cursor"] = cursor
        return await self._send(self.http.build_request("GET", REST_PATH, params=params))

    async def graphql(self, variant: Variant, limit: int, cursor: str | None) -> Answer:
        variables = {
            "projectId": DEMO_PROJECT_ID,
            "first": limit,
            "after": cursor,
            "filter": dict(variant.gql_filter) if variant.gql_filter else None,
        }
        payload = {"query": GQL_QUERY, "variables": variables}
        return await self._send(self.http.build_request("POST", "/graphql", json=payload))

    async def _send(self, request: httpx.Request) -> Answer:
        self.stats.requests += 1
        started = time.perf_counter()
        try:
            response = await self.http.send(request)
        except httpx.HTTPError as exc:
            elapsed = time.perf_counter() - started
            return Answer(0, b"", elapsed, None, f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - started
        return Answer(
            response.status_code, response.content, elapsed, response.headers.get("retry-after")
        )


def _bucket(retry_after: str) -> str:
    """A Retry-After value's range, for counting."""
    if not retry_after.isdigit():
        return retry_after
    seconds = int(retry_after)
    for low, high in ((0, 2), (3, 10), (11, 60), (61, 300)):
        if low <= seconds <= high:
            return f"{low}-{high} s"
    return "over 300 s"


def _describe(request: str, answer: Answer) -> str:
    """The request and its answer, error ``sources`` that were ``ok`` left out."""
    text = answer.body.decode("utf-8", errors="replace")
    try:
        body = json.loads(answer.body)
        sources = body["error"]["sources"]
        body["error"]["sources"] = [s for s in sources if s.get("status") != "ok"]
        text = json.dumps(body, separators=(",", ":"))
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return f"{request} -> {answer.status or answer.error} {text[:1000]}"


def _error_code(answer: Answer) -> str | None:
    """``error.code`` of a REST error body, or None when the body is not the documented one."""
    try:
        body = json.loads(answer.body)
        code = body["error"]["code"]
        message = body["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) and isinstance(message, str) else None


def _rest_page(answer: Answer) -> tuple[list[dict[str, Any]], list[str], str | None]:
    """(items, their IDs, nextCursor) of a REST 200; PageError when it is not a page."""
    try:
        body = json.loads(answer.body)
    except ValueError as exc:
        raise PageError(f"not JSON: {exc}") from None
    if not isinstance(body, dict) or set(body) != {"items", "nextCursor"}:
        raise PageError("not {items, nextCursor}")
    items, cursor = body["items"], body["nextCursor"]
    if not isinstance(items, list) or not (cursor is None or isinstance(cursor, str)):
        raise PageError("items is not a list or nextCursor not a string/null")
    ids: list[str] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("adsetId"), str):
            raise PageError("an item without adsetId")
        ids.append(item["adsetId"])
    return items, ids, cursor


def _graphql_page(answer: Answer) -> tuple[list[str], str | None] | list[tuple[str, Any]]:
    """(IDs, next cursor) of a GraphQL page, or (code, retryAfter) of each error."""
    try:
        body = json.loads(answer.body)
    except ValueError as exc:
        raise PageError(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise PageError("not a JSON object")
    if body.get("errors"):
        try:
            return [
                (str(e["extensions"]["code"]), e["extensions"].get("retryAfter"))
                for e in body["errors"]
            ]
        except (KeyError, TypeError):
            raise PageError("an error without extensions.code") from None
    try:
        connection = body["data"]["adSets"]
        ids = [edge["node"]["adsetId"] for edge in connection["edges"]]
        has_next = connection["pageInfo"]["hasNextPage"]
        end = connection["pageInfo"]["endCursor"]
    except (KeyError, TypeError):
        raise PageError("not an adSets connection") from None
    if not all(isinstance(i, str) for i in ids) or not isinstance(has_next, bool):
        raise PageError("bad adsetId or hasNextPage")
    if has_next and not isinstance(end, str):
        raise PageError("hasNextPage without an endCursor")
    return ids, end if has_next else None


async def _walk(run: Run, rng: random.Random, variant: Variant, limit: int) -> None:
    """One walk of ``variant`` at ``limit``, every page checked against the reference."""
    stats, ref = run.stats, run.refs[variant.name]
    stats.walks_started += 1
    stats.walk(variant, "started")
    position, cursor = 0, None
    max_pages = math.ceil(len(ref.ids) / limit) + 2
    for page_number in range(1, max_pages + 1):
        use_graphql = rng.random() < run.graphql_share
        where = (
            f"{'POST /graphql' if use_graphql else 'GET ' + REST_PATH} [{variant.name}, "
            f"limit {limit}, page {page_number}, position {position}, "
            f"cursor {'none' if cursor is None else cursor[:24] + '...'}]"
        )
        page = await _fetch_page(run, rng, variant, limit, cursor, use_graphql, where)
        if isinstance(page, str):
            stats.walks_cut += page == "cut"
            stats.walks_abandoned += page == "abandoned"
            stats.walk(variant, page)
            return
        items, ids, following = page
        expected = ref.ids[position : position + len(ids)]
        if ids != expected or (
            items is not None and items != ref.items[position : position + len(items)]
        ):
            gap = "IDs" if ids != expected else "item fields"
            stats.fail(
                "bad_page",
                f"{where}: {gap} differ from the reference slice "
                f"[{position}:{position + len(ids)}] (got {len(ids)} rows: {ids[:3]}...)",
            )
            stats.walk(variant, "failed")
            return
        stats.pages_checked += 1
        stats.graphql_pages += items is None
        position += len(ids)
        if following is None:
            if position != len(ref.ids):
                stats.fail(
                    "incomplete_walk",
                    f"{where}: the walk ended at {position} of {len(ref.ids)} rows",
                )
                stats.walk(variant, "failed")
            else:
                stats.walks_completed += 1
                stats.walk(variant, "completed")
            return
        if len(ids) < limit:
            stats.short_pages += 1
        cursor = following
    stats.fail("incomplete_walk", f"{variant.name} limit {limit}: no end after {max_pages} pages")
    stats.walk(variant, "failed")


async def _fetch_page(
    run: Run,
    rng: random.Random,
    variant: Variant,
    limit: int,
    cursor: str | None,
    use_graphql: bool,
    where: str,
) -> tuple[list[dict[str, Any]] | None, list[str], str | None] | str:
    """(REST items or None for GraphQL, IDs, next cursor) of one page, retried on 502/503; else
    why the walk stops: "cut" (the run ended), "failed" or "abandoned" (the page kept failing)."""
    stats = run.stats
    started = time.monotonic()
    for tries in range(PAGE_TRIES):
        if not run.may_send():
            return "cut"
        if tries:
            stats.retries += 1
        if use_graphql:
            answer = await run.graphql(variant, limit, cursor)
        else:
            answer = await run.rest(variant, limit, cursor)
        status = str(answer.status) if answer.status else "none"
        stats.statuses[("graphql " if use_graphql else "") + status] += 1
        stats.all_seconds.append(answer.seconds)
        wait: float | None = None
        if answer.status == 200:
            try:
                if not use_graphql:
                    items, ids, following = _rest_page(answer)
                    stats.ok_seconds.append(answer.seconds)
                    return items, ids, following
                result = _graphql_page(answer)
            except PageError as exc:
                stats.fail("bad_page", f"{exc}: {_describe(where, answer)}")
                return "failed"
            if isinstance(result, tuple):
                stats.ok_seconds.append(answer.seconds)
                return None, result[0], result[1]
            codes = {code for code, _ in result}
            stats.examples.setdefault(f"graphql {min(codes)}", _describe(where, answer))
            for code in codes:
                stats.codes[f"graphql {code}"] += 1
            if not codes <= {"upstream_unavailable", "upstream_throttled"}:
                stats.fail("unexpected_status", f"GraphQL errors: {_describe(where, answer)}")
                return "failed"
            waits = [float(w) for _, w in result if isinstance(w, int | float)]
            wait = max(waits) if waits else None
        elif answer.status in (502, 503):
            error_code = _error_code(answer)
            stats.codes[f"{answer.status} {error_code}"] += 1
            stats.examples.setdefault(f"{answer.status} {error_code}", _describe(where, answer))
            wanted = "upstream_unavailable" if answer.status == 502 else "upstream_throttled"
            if error_code != wanted:
                stats.fail("bad_error_body", _describe(where, answer))
                return "failed"
            if answer.retry_after is not None:
                stats.retry_after[_bucket(answer.retry_after)] += 1
                try:
                    wait = float(answer.retry_after)
                except ValueError:
                    stats.fail("bad_error_body", f"Retry-After: {_describe(where, answer)}")
                    return "failed"
        else:
            kind = {0: "no_response", 500: "500"}.get(answer.status, "unexpected_status")
            if answer.status:
                stats.codes[f"{answer.status} {_error_code(answer)}"] += 1
            stats.fail(kind, _describe(where, answer))
            return "failed"
        if time.monotonic() - started > PAGE_SECONDS:
            break
        backoff = min(0.05 * 2**tries, 1.0) * (0.5 + rng.random())
        await asyncio.sleep(min(wait if wait is not None else backoff, RETRY_AFTER_CAP))
    return "abandoned"


async def _client(run: Run, index: int, seed: int) -> None:
    """Walks one after another until the run ends."""
    rng = random.Random(seed * 1000 + index)
    weights = [v.weight for v in VARIANTS]
    while run.may_send():  # bounded by time and by the request cap
        variant = rng.choices(VARIANTS, weights)[0]
        await _walk(run, rng, variant, rng.choice(LIMITS))


async def _reference(http: httpx.AsyncClient, variant: Variant, limit: int) -> Reference:
    """The fault-free walk of ``variant`` at ``limit``."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(REFERENCE_PAGES):
        params = {**variant.params, "limit": str(limit)}
        if cursor is not None:
            params["cursor"] = cursor
        response = await http.get(REST_PATH, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"reference walk: {response.status_code} {response.text[:300]}")
        body = response.json()
        items += body["items"]
        cursor = body["nextCursor"]
        if cursor is None:
            ids = [item["adsetId"] for item in items]
            if len(set(ids)) != len(ids):
                raise RuntimeError(f"reference walk {variant.name}: duplicate ad sets")
            return Reference(items, ids)
    raise RuntimeError(f"reference walk {variant.name}: no end after {REFERENCE_PAGES} pages")


def _percentiles(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000

    return f"p50 {at(0.50):.1f} ms, p95 {at(0.95):.1f} ms, p99 {at(0.99):.1f} ms (n={len(ordered)})"


def _counts(counter: Mapping[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items())) or "none"


def _sandbox_lines(log: Mapping[str, Any]) -> list[str]:
    lines = []
    all_calls = all_faults = 0
    for platform, calls in log["calls"].items():
        n = sum(calls.values())
        faults = log["faults"].get(platform, {})
        injected = sum(faults.values())
        all_calls += n
        all_faults += injected
        rate = injected / n if n else 0.0
        lines.append(
            f"  {platform}: {n} upstream calls, {injected} faults injected ({rate:.1%}): "
            f"{_counts(faults)}"
        )
    rate = all_faults / all_calls if all_calls else 0.0
    lines.append(f"  all: {all_calls} upstream calls, {all_faults} faults injected ({rate:.1%})")
    return lines


async def _main(args: argparse.Namespace, env: Env) -> int:
    """Start the processes, build the references, run the clients, report."""
    sandbox = await env.use_sandbox(large_adsets=1200, latency_ms=0.0)
    gateway = await env.use_gateway(configs.account_keys(sandbox.doc))
    sizes = await configs.account_sizes(sandbox.config)
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=10.0) as control:
        (await control.post("/_bench/faults", params={"rate": "0"})).raise_for_status()
        headers = {"Authorization": f"Bearer {demo_key()}"}
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(
            base_url=gateway.url, headers=headers, timeout=REQUEST_TIMEOUT, limits=limits
        ) as http:
            env.note("fault-free reference walks")
            refs: dict[str, Reference] = {}
            for variant in VARIANTS:
                walks = [await _reference(http, variant, limit) for limit in LIMITS]
                if any(w != walks[0] for w in walks[1:]):
                    raise RuntimeError(f"reference {variant.name}: page sizes disagree")
                refs[variant.name] = walks[0]
            if len(refs["all"].ids) != sum(sizes.values()):
                raise RuntimeError(
                    f"reference: {len(refs['all'].ids)} ad sets, sandboxes hold "
                    f"{sum(sizes.values())}"
                )
            (await control.post("/_bench/reset")).raise_for_status()
            settings = {"rate": str(args.fault_rate), "kinds": args.faults, "slow_ms": str(SLOW_MS)}
            (await control.post("/_bench/faults", params=settings)).raise_for_status()
            env.note(
                f"{args.clients} clients for {args.duration:g} s, faults {args.fault_rate:.0%}"
            )
            run = Run(
                http,
                refs,
                Stats(),
                time.monotonic() + args.duration,
                args.max_requests,
                args.graphql_share,
            )
            started = time.monotonic()
            await asyncio.gather(*(_client(run, i, args.seed) for i in range(args.clients)))
            elapsed = time.monotonic() - started
        (await control.post("/_bench/faults", params={"rate": "0"})).raise_for_status()
        log = (await control.get("/_bench/log")).json()
    return _report(args, run.stats, refs, log, elapsed, env)


def _report(
    args: argparse.Namespace,
    stats: Stats,
    refs: Mapping[str, Reference],
    log: Mapping[str, Any],
    elapsed: float,
    env: Env,
) -> int:
    sizes = ", ".join(f"{name} {len(ref.ids)}" for name, ref in refs.items())
    checks = {
        "zero 500 responses": stats.failures["500"] == 0
        and not any(k.startswith(("500", "graphql 500")) for k in stats.statuses),
        "zero malformed/incomplete 200 pages": stats.failures["bad_page"] == 0
        and stats.failures["incomplete_walk"] == 0,
        "zero unexpected statuses": stats.failures["unexpected_status"] == 0
        and stats.failures["bad_error_body"] == 0
        and stats.failures["no_response"] == 0,
    }
    lines = [
        f"load: {args.clients} clients, {elapsed:.1f} s, fault rate {args.fault_rate:.0%} "
        f"({args.faults}; slow = {SLOW_MS:.0f} ms), limits {'/'.join(map(str, LIMITS))}, "
        f"GraphQL share {args.graphql_share:.0%}",
        f"reference (fault-free, ad sets per query): {sizes}",
        f"requests: {stats.requests} ({stats.requests / elapsed:.1f}/s)",
        f"responses by status: {_counts(stats.statuses)}",
        f"error codes: {_counts(stats.codes)}",
        f"retries (same cursor after 502/503): {stats.retries}",
        f"latency of 200s: {_percentiles(stats.ok_seconds)}",
        f"latency of all responses: {_percentiles(stats.all_seconds)}",
        f"walks: {stats.walks_started} started, {stats.walks_completed} completed (equal to the "
        f"reference), {stats.walks_cut} cut by the end of the run, {stats.walks_abandoned} "
        f"abandoned after {PAGE_TRIES} tries or {PAGE_SECONDS:.0f} s on one page",
        *(
            f"  {name}: {_counts(counts)}"
            for name, counts in sorted(stats.walks_by_variant.items())
        ),
        f"Retry-After of REST 503s: {_counts(stats.retry_after)}",
        f"pages checked: {stats.pages_checked} ({stats.graphql_pages} through GraphQL), "
        f"{stats.short_pages} short pages before the end",
        "first answer per error code:" + ("" if stats.examples else " none"),
        *(f"  {code}: {text}" for code, text in sorted(stats.examples.items())),
        f"failures: {_counts(stats.failures)}",
        "sandboxes (upstream calls during the load, injected faults):",
        *_sandbox_lines(log),
        "checks:",
        *(f"  {'PASS' if ok else 'FAIL'}  {name}" for name, ok in checks.items()),
    ]
    if stats.samples:
        lines += ["failure samples:", *(f"  {s}" for s in stats.samples)]
        if env.gateway is not None:
            lines += ["gateway log (tail):", env.gateway.child.log_tail(15)]
    print("\n".join(lines), flush=True)
    return 0 if all(checks.values()) else 1


def _terminate(signum: int, _: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _kinds(text: str) -> str:
    try:
        return ",".join(parse_fault_kinds(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--clients", type=int, default=None, help="concurrent clients (32)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load (60)")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="hard cap")
    parser.add_argument("--fault-rate", type=_rate, default=0.05, help="per upstream request")
    parser.add_argument(
        "--faults", type=_kinds, default=FAULT_KINDS, help=f"fault kinds ({FAULT_KINDS})"
    )
    parser.add_argument("--graphql-share", type=_rate, default=0.1, help="pages via GraphQL")
    parser.add_argument("--seed", type=int, default=1, help="of the clients' choices")
    parser.add_argument("--quick", action="store_true", help="8 clients for 10 s")
    args = parser.parse_args(argv)
    args.clients = args.clients or (8 if args.quick else 32)
    args.duration = args.duration or (10.0 if args.quick else 60.0)
    if not 1 <= args.clients <= 1000 or not 0 < args.duration <= 3600 or args.max_requests < 1:
        parser.error("need 1-1000 clients, a duration of 0-3600 s and a positive request cap")
    signal.signal(signal.SIGTERM, _terminate)
    limit = args.duration + SETUP_SECONDS
    with tempfile.TemporaryDirectory(prefix="gateway-load-") as tmp:
        env = Env(Path(tmp))
        try:
            return asyncio.run(asyncio.wait_for(_main(args, env), limit))
        except KeyboardInterrupt:
            print("load: interrupted", file=sys.stderr)
            return 130
        except TimeoutError:
            print(f"load: stopped after the {limit:.0f} s time limit", file=sys.stderr)
            return 1
        finally:
            env.stop()


if __name__ == "__main__":
    raise SystemExit(main())
