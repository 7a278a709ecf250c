"""The peer users would reach for: Hive Gateway serving our REST path as GraphQL.

    .venv/bin/python -m bench.peer [--quick]     # this group alone, over its own processes

GraphQL Mesh (``@graphql-mesh/compose-cli`` with ``@omnigraph/openapi``) composes the running
gateway's ``/openapi.json`` into a supergraph whose one field calls our REST path with the
bench's API key; Hive Gateway serves it on loopback. The same 100-row page (the REST item's
fields) is then asked of Hive and of our own ``/graphql`` at concurrency 8 for the same time,
in alternating rounds, and each side's requests per second, CPU per request (for Hive: its
Node process and our gateway behind it) and resident memory are reported.

Before any load, one page through Hive must come back with 100 rows, the REST page's ad sets
in its order, and no GraphQL errors: Mesh types a required field non-null unless the document
says it admits null in a form Mesh reads (``gateway.openapi``), so its errors per page are a
figure. openapi-typescript (unmodified) generates types from the same document, and every field
the document makes nullable must come out required and ``T | null``.

The npm packages (pinned in ``bench/hive/package.json``; ``graphql`` stays on 16, which Hive
Gateway takes and Node 20 runs) are installed from the npm registry into
``$XDG_CACHE_HOME/adset-gateway-bench/hive`` (``~/.cache/...``) on first use and reused while
that file is unchanged. Without ``node`` and ``npm``, or when the install fails, every figure is
NaN with a note saying why. Every process listens on 127.0.0.1 and is stopped at the end.

The page is the fan-out page of the other groups (two small accounts per platform), with the
sandbox's simulated quotas out of play: with Meta's usage rising, the gateway would pace its
calls and both sides would measure the pacing rather than themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bench.drive import REST_FIELDS, GatewayClient, page_query
from bench.env import Gateway, wait_ready
from bench.figures import Ctx
from bench.processes import HOST, Process, cpu_seconds, free_port
from bench.report import Bound, Figure, at_least, at_most, json_line, table
from gateway.sandbox.suite import DEMO_PROJECT_ID, demo_key

PACKAGE_DIR = Path(__file__).resolve().parent / "hive"
INSTALL_TIMEOUT = 600.0
COMPOSE_TIMEOUT = 120.0
TYPESCRIPT_TIMEOUT = 120.0
CONCURRENCY = 8
PAGE_ROWS = 100
LARGE_ADSETS = 1200  # the sandbox's default seed, as the other groups use it

#: Figure name -> (target, True when the target is a lower bound).
PEER_FIGURES: dict[str, Bound | None] = {
    "peer_hive_errors_per_page": at_most(0),
    "peer_typescript_wrong_nullable": at_most(0),
    "peer_rps_ratio": at_least(2.5),
    "peer_graphql_rps": None,
    "peer_hive_rps": None,
    "peer_graphql_cpu_ms": None,
    "peer_hive_cpu_ms": None,
    "peer_graphql_rss_mb": None,
    "peer_hive_rss_mb": None,
}

# The REST item's fields through the composed schema: one field, a union of the page and
# the error body (Mesh's reading of the operation's responses).
HIVE_QUERY = (
    "query Page($projectId: String!, $limit: PositiveInt) {"
    " listAdSets(projectId: $projectId, limit: $limit) {"
    " ... on AdSetPage { nextCursor items {" + REST_FIELDS + "} }"
    " ... on Error { error { code message } } } }"
)


class Skipped(Exception):
    """The peer cannot be measured here (no Node.js, the install failed); says why."""


def skipped(reason: str) -> list[Figure]:
    return [_figure(name, math.nan, note=f"skipped: {reason}") for name in PEER_FIGURES]


def _figure(name: str, value: float, unit: str = "", note: str = "") -> Figure:
    return Figure.bounded(name, value, PEER_FIGURES[name], unit, note)


# --- the npm packages ---------------------------------------------------------------------


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "adset-gateway-bench" / "hive"


def _tools() -> tuple[str, str]:
    """Paths of ``node`` and ``npm``; Skipped when either is missing or Node is too old."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise Skipped("node and npm are not both on PATH")
    version = subprocess.run(  # noqa: S603 - a fixed argv
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if major is None or int(major[1]) < 20:
        raise Skipped(f"Node.js {version or '?'} is older than 20 (Hive Gateway needs 20)")
    return node, npm


async def _run(
    argv: Sequence[str], cwd: Path, seconds: float, env: Mapping[str, str] | None = None
) -> str:
    """Run a command to its end; its output, or RuntimeError with the output's tail."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), seconds)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise
    text = out.decode("utf-8", "replace")
    if proc.returncode != 0:
        lines = [line for line in text.splitlines() if line.strip()]
        tail = "; ".join(lines[:2])[:300]  # npm names the cause first
        command = " ".join(Path(arg).name for arg in argv[:2])  # npm install, node mesh-compose
        raise RuntimeError(f"{command} exited {proc.returncode}: {tail}")
    return text


async def install(npm: str, note: Any = print) -> Path:
    """The packages of ``bench/hive/package.json`` in the cache folder, installed when that
    file changed since the last successful install; the folder."""
    folder = cache_dir()
    manifest = (PACKAGE_DIR / "package.json").read_bytes()
    stamp = folder / ".installed"
    digest = hashlib.sha256(manifest).hexdigest()
    if (folder / "node_modules").is_dir() and stamp.is_file() and stamp.read_text() == digest:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    (folder / "package.json").write_bytes(manifest)
    note(f"installing Hive Gateway, GraphQL Mesh and openapi-typescript into {folder}")
    started = time.monotonic()
    try:
        await _run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            folder,
            INSTALL_TIMEOUT,
        )
    except (RuntimeError, OSError, TimeoutError) as exc:
        raise Skipped(f"npm install failed: {exc or type(exc).__name__}") from exc
    stamp.write_text(digest)
    note(f"npm install took {time.monotonic() - started:.0f} s")
    return folder


# --- processes ----------------------------------------------------------------------------


def _bin(folder: Path, name: str) -> str:
    """A package's command, run as ``node <it>`` (the process measured is Node itself)."""
    return str(folder / "node_modules" / ".bin" / name)


def _tree(pid: int) -> Iterator[int]:
    """``pid`` and its descendants (workers Hive may fork)."""
    yield pid
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in task.read_text().split():
                yield from _tree(int(child))


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(p) for p in _tree(pid))


def tree_rss_mb(pid: int) -> float:
    total = 0.0
    for p in _tree(pid):
        for line in Path(f"/proc/{p}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


# --- the checks ---------------------------------------------------------------------------


def nullable_fields(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(component, property) of every property that admits null, in any form JSON Schema
    allows (a ``type`` list with ``null``, an ``anyOf``/``oneOf`` branch of type null), in
    the component's own properties and in objects written inline under it."""
    found: list[tuple[str, str]] = []

    def admits_null(schema: Mapping[str, Any]) -> bool:
        kind = schema.get("type")
        if kind == "null" or (isinstance(kind, list) and "null" in kind):
            return True
        branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
        return any(admits_null(b) for b in branches if isinstance(b, dict))

    def walk(component: str, schema: Mapping[str, Any]) -> None:
        for name, prop in schema.get("properties", {}).items():
            if admits_null(prop):
                found.append((component, name))
            walk(component, prop)
        for key in ("anyOf", "oneOf"):
            for branch in schema.get(key, ()):
                walk(component, branch)

    for component, schema in document["components"]["schemas"].items():
        walk(component, schema)
    return found


def typescript_misreadings(source: str, fields: Sequence[tuple[str, str]]) -> list[str]:
    """The nullable fields openapi-typescript did not generate as required ``T | null``, found
    in each component's block of ``components["schemas"]``."""
    wrong: list[str] = []
    for component, prop in fields:
        block = re.search(
            rf"\n        {re.escape(component)}: {{\n(.*?)\n        }};", source, re.S
        )
        # a type on one line, or one running over deeper lines to a line as deep as the field
        one_line = r"[^\n]*;"
        lines = r"[^\n]*(?:\n(?P=ind)\s[^\n]*)*\n(?P=ind)\S[^\n]*;"
        field = rf"\n(?P<ind> +){re.escape(prop)}(?P<opt>\??): (?P<type>{one_line}|{lines})\n"
        line = block and re.search(field, "\n" + block[1] + "\n")
        if not line or line["opt"] or not line["type"].endswith("| null;"):
            found = " ".join(line[0].split()) if line else "not found"
            wrong.append(f"{component}.{prop}: {found}")
    return wrong


async def _typescript_figure(
    node: str, folder: Path, document: dict[str, Any], workdir: Path
) -> Figure:
    fields = nullable_fields(document)
    spec, out = workdir / "openapi.json", workdir / "openapi.d.ts"
    spec.write_text(json.dumps(document), encoding="utf-8")
    await _run(
        [node, _bin(folder, "openapi-typescript"), str(spec), "-o", str(out)],
        folder,
        TYPESCRIPT_TIMEOUT,
    )
    wrong = typescript_misreadings(out.read_text(encoding="utf-8"), fields)
    return _figure(
        "peer_typescript_wrong_nullable",
        len(wrong),
        note=f"openapi-typescript: of {len(fields)} nullable fields of /openapi.json, those not "
        "generated as required `T | null`" + (f" ({'; '.join(wrong[:3])})" if wrong else ""),
    )


@dataclass
class Side:
    """One GraphQL server under load: where to post, what, and how to check an answer."""

    name: str
    url: str
    body: bytes
    headers: dict[str, str]
    pids: tuple[int, ...]  # whose CPU time counts for it
    requests: int = 0
    failed: int = 0
    seconds: float = 0.0
    cpu: list[float] = field(default_factory=list)  # seconds, per pid of ``pids``

    def ok(self, answer: dict[str, Any]) -> bool:
        if answer.get("errors"):
            return False
        data = answer.get("data") or {}
        if "adSets" in data:
            return len(data["adSets"]["edges"]) == PAGE_ROWS
        return len((data.get("listAdSets") or {}).get("items") or ()) == PAGE_ROWS


async def _load(side: Side, seconds: float) -> None:
    """``CONCURRENCY`` clients posting the side's query for ``seconds``; adds to its counts."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=30.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        headers = {**side.headers, "Content-Type": "application/json"}

        async def client(deadline: float) -> None:
            while time.perf_counter() < deadline:
                try:
                    async with http.post(side.url, data=side.body, headers=headers) as response:
                        answer = await response.json(content_type=None)
                        good = response.status == 200 and side.ok(answer)
                except (aiohttp.ClientError, TimeoutError, ValueError):
                    good = False
                side.requests += good
                side.failed += not good

        cpu_before = [tree_cpu_seconds(p) for p in side.pids]
        started = time.perf_counter()
        await asyncio.gather(*(client(started + seconds) for _ in range(CONCURRENCY)))
        side.seconds += time.perf_counter() - started
        cpu_after = [tree_cpu_seconds(p) for p in side.pids]
        spent = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
        side.cpu = [a + b for a, b in zip(side.cpu or [0.0] * len(spent), spent, strict=True)]


async def _first_hive_page(url: str, rest_ids: list[str]) -> tuple[int, str]:
    """Errors of one ``PAGE_ROWS``-row page through Hive, and what else was wrong with it."""
    payload = {"query": HIVE_QUERY, "variables": {"projectId": DEMO_PROJECT_ID, "limit": PAGE_ROWS}}
    async with httpx.AsyncClient(timeout=30.0) as http:
        response = await http.post(url, json=payload)
    answer = response.json()
    errors = answer.get("errors") or []
    page = (answer.get("data") or {}).get("listAdSets") or {}
    ids = [item["adsetId"] for item in page.get("items") or () if item]
    problems = []
    if errors:
        first = errors[0]
        problems.append(
            f"first: {first.get('message')} at {'.'.join(map(str, first.get('path', ())))}"
        )
    if ids != rest_ids:
        same_size = len(ids) == len(rest_ids)
        problems.append(f"{len(ids)} rows" + (", not REST's in its order" if same_size else ""))
    return len(errors), "; ".join(problems)


# --- the group ----------------------------------------------------------------------------


async def peer(ctx: Ctx) -> list[Figure]:
    """The peer's figures, or NaN figures saying why it was skipped."""
    try:
        node, npm = _tools()
        folder = await install(npm, ctx.env.note)
    except Skipped as exc:
        ctx.env.note(f"peer skipped: {exc}")
        return skipped(str(exc))
    order = list(PEER_FIGURES)
    return sorted(await _measure(ctx, node, folder), key=lambda f: order.index(f.name))


async def _measure(ctx: Ctx, node: str, folder: Path) -> list[Figure]:
    env = ctx.env
    await env.use_sandbox(large_adsets=LARGE_ADSETS, latency_ms=0)
    await env.set_metered(False)  # both sides measure themselves, not Meta's simulated quota
    gateway = await env.use_gateway(await ctx.fanout_accounts())
    async with httpx.AsyncClient(timeout=30.0) as http:
        document = (await http.get(f"{gateway.url}/openapi.json")).raise_for_status().json()
    async with GatewayClient(gateway.url) as client:
        _, rest_page = await client.rest(PAGE_ROWS)
    rest_ids = [item["adsetId"] for item in rest_page["items"]]
    if len(rest_ids) != PAGE_ROWS:
        raise RuntimeError(f"the REST page had {len(rest_ids)} rows, not {PAGE_ROWS}")
    figures = [await _typescript_figure(node, folder, document, env.workdir)]

    shutil.copyfile(PACKAGE_DIR / "mesh.config.mjs", folder / "mesh.config.mjs")
    supergraph = env.workdir / "supergraph.graphql"
    env.note("composing /openapi.json with GraphQL Mesh")
    await _run(
        [node, _bin(folder, "mesh-compose"), "-c", "mesh.config.mjs", "-o", str(supergraph)],
        folder,
        COMPOSE_TIMEOUT,
        {
            "PEER_OPENAPI_URL": f"{gateway.url}/openapi.json",
            "PEER_ENDPOINT": gateway.url,
            "PEER_API_KEY": demo_key(),
        },
    )
    port = free_port()
    argv = [node, _bin(folder, "hive-gateway"), "supergraph", str(supergraph), "--host", HOST]
    hive = Process(
        "hive-gateway",
        [*argv, "--port", str(port)],
        env.workdir / "hive.log",
        cwd=folder,
        env={"NODE_ENV": "production"},
    )
    try:
        env.note("starting Hive Gateway")
        await wait_ready(hive, f"http://{HOST}:{port}/readiness")
        figures += await _compare(ctx, f"http://{HOST}:{port}/graphql", gateway, hive, rest_ids)
    finally:
        hive.stop()
    return figures


async def _compare(
    ctx: Ctx, hive_url: str, gateway: Gateway, hive: Process, rest_ids: list[str]
) -> list[Figure]:
    errors, problems = await _first_hive_page(hive_url, rest_ids)
    figures = [
        _figure(
            "peer_hive_errors_per_page",
            errors,
            note=f"GraphQL errors of one {PAGE_ROWS}-row page through Hive Gateway over "
            "/openapi.json as composed by GraphQL Mesh" + (f" ({problems})" if problems else ""),
        )
    ]
    if problems:  # a wrong page's speed means nothing
        reason = "not measured: Hive Gateway's page was wrong"
        return figures + [
            _figure(n, math.nan, note=reason)
            for n in PEER_FIGURES
            if n not in {"peer_hive_errors_per_page", "peer_typescript_wrong_nullable"}
        ]
    ours = Side(
        "ours",
        f"{gateway.url}/graphql",
        json.dumps(
            {
                "query": page_query(REST_FIELDS),
                "variables": {"projectId": DEMO_PROJECT_ID, "first": PAGE_ROWS, "after": None},
            }
        ).encode(),
        {"Authorization": f"Bearer {demo_key()}"},
        (gateway.pid,),
    )
    theirs = Side(
        "hive",
        hive_url,
        json.dumps(
            {"query": HIVE_QUERY, "variables": {"projectId": DEMO_PROJECT_ID, "limit": PAGE_ROWS}}
        ).encode(),
        {},
        (hive.pid, gateway.pid),
    )
    rounds, seconds = (2, 3.0) if ctx.quick else (3, 6.0)
    for side in (theirs, ours):  # warm-up: JIT, connections, the page's rows mapped
        await _load(side, 1.0)
        side.requests = side.failed = 0
        side.seconds, side.cpu = 0.0, []
    for _ in range(rounds):
        for side in (theirs, ours):
            await _load(side, seconds)
    sides = (ours, theirs)
    rps = {s.name: s.requests / s.seconds for s in sides}
    per_pid = {s.name: [1000 * c / max(s.requests + s.failed, 1) for c in s.cpu] for s in sides}
    cpu_ms = {name: sum(ms) for name, ms in per_pid.items()}
    hive_ms, behind_ms = per_pid["hive"]
    gateway_rss, hive_rss = tree_rss_mb(gateway.pid), tree_rss_mb(hive.pid)
    failed = {s.name: s.failed for s in (ours, theirs)}
    how = (
        f"{PAGE_ROWS}-row page, REST's fields, concurrency {CONCURRENCY}, {rounds} alternating "
        f"rounds of {seconds:g} s each; load generator and sandbox share the cores"
    )
    if any(failed.values()):
        how += f"; failed answers: ours {failed['ours']}, Hive {failed['hive']}"
    figures += [
        _figure(
            "peer_rps_ratio",
            rps["ours"] / rps["hive"] if rps["hive"] else math.nan,
            note="our /graphql req/s / Hive Gateway's over our REST path",
        ),
        _figure("peer_graphql_rps", rps["ours"], "req/s", note=f"our /graphql; {how}"),
        _figure("peer_hive_rps", rps["hive"], "req/s", note="Hive Gateway, the same page"),
        _figure(
            "peer_graphql_cpu_ms",
            cpu_ms["ours"],
            "ms",
            note="gateway process CPU (utime+stime) per request",
        ),
        _figure(
            "peer_hive_cpu_ms",
            cpu_ms["hive"],
            "ms",
            note=f"Hive's Node process ({hive_ms:.2f} ms) and our gateway behind it "
            f"({behind_ms:.2f} ms), CPU per request",
        ),
        _figure("peer_graphql_rss_mb", gateway_rss, "MiB", note="gateway VmRSS after the load"),
        _figure("peer_hive_rss_mb", hive_rss, "MiB", note="Hive Gateway VmRSS after the load"),
    ]
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    from bench.env import Env

    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter load rounds")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gateway-bench-peer-") as tmp:
        env = Env(Path(tmp), metered=False)
        try:
            results = asyncio.run(
                asyncio.wait_for(peer(Ctx(env=env, quick=args.quick)), INSTALL_TIMEOUT + 300)
            )
        finally:
            env.stop()
    print(table(results))
    print()
    print(json_line(results), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
