"""Where a 100-row page's CPU goes: CPU time, instruction counts and grouped profiles of the
page kinds the speed work is judged on, next to the floor.

    .venv/bin/python -m bench.profile                              # CPU ms per page
    .venv/bin/python -m bench.profile --instructions               # + callgrind counts
    .venv/bin/python -m bench.profile --profile rest-cold nested-cold

The sandboxes run in a process of their own (``gateway sandbox`` on 127.0.0.1, no latency, no
faults); each page kind runs in a fresh worker process (``bench.pages``) where the gateway is
``create_app`` over a configuration of the sandbox's accounts, driven through ASGI (no
uvicorn, no client in the count). Page kinds (see ``bench.pages.KINDS``): ``rest-warm``,
``rest-cold``, ``graphql-cold``, ``nested-warm``, ``nested-cold``, and the ``floor``:
``orjson.loads`` of every upstream answer of a REST cold page plus ``orjson.dumps`` of its
items (the pages captured by a separate run of the same walk over an httpx transport).

CPU ms is the worker's process time (every thread) per sample, averaged. With
``--instructions`` each kind runs again under ``valgrind --tool=callgrind`` with fewer
samples; the worker marks each sample's start and end, callgrind dumps its counts at each
mark, and the instructions per page are the average over the samples (startup, app building
and priming excluded). With ``--profile KIND`` that kind runs once more under cProfile (on the
wall clock, or the thread's CPU clock with ``--profile-clock cpu``) and its own time is summed
into the buckets of ``BUCKETS`` by the frames' module paths (a C function no bucket names, such
as ``isinstance``, counts for its callers), with the top functions. Fixed counts; stops by
itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import configs
from bench.pages import DRAIN_SECONDS, KINDS, PAGE_ROWS, Project, Spec, api, walk
from gateway.auth import digest_key
from gateway.platforms.base import Platform

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SANDBOX_READY_SECONDS = 120.0
WORKER_SECONDS = 1800.0
ORDER = [
    "floor",
    "rest-warm",
    "rest-cold",
    "graphql-warm",
    "graphql-cold",
    "nested-warm",
    "nested-cold",
]
MEASURED_KEY = "lp_test_profile_measured"
PRIMER_KEY = "lp_test_profile_primer"
PRIMER_PROJECT_ID = "prj_PROFILEPRIMER"

#: (bucket, path or name fragments): a frame goes to the first bucket one of whose fragments
#: its file path (or, for C functions, its name) contains.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("bench driver (not the gateway)", ("/bench/pages.py",)),
    ("ID derivation", ("/gateway/ids.py", "_hashlib", "sha256", "blake2", "hexdigest")),
    (
        "ID-map writes/store",
        ("/gateway/store/", "/aiosqlite/", "sqlite3", "/psycopg/", "/psycopg_pool/"),
    ),
    (
        "HTTP client",
        (
            "/aiohttp/",
            "/yarl/",
            "/multidict/",
            "/propcache/",
            "/aiohappyeyeballs/",
            "/httpx/",
            "/httpcore/",
            "/h11/",
            "/gateway/platforms/pool.py",
            "/gateway/platforms/upstream.py",
            "/gateway/platforms/http.py",
            "/gateway/platforms/inprocess.py",
            # The worker's only sockets are its upstream connections (no server in it).
            "/asyncio/selector_events.py",
            "_socket.socket",
        ),
    ),
    (
        "GraphQL execution",
        (
            "/strawberry/",
            "/graphql/",
            "/gateway/schema/",
            "/gateway/graphql_http.py",
            "/gateway/graphql_request.py",
        ),
    ),
    (
        "uvicorn/starlette/ASGI",
        (
            "/starlette/",
            "/uvicorn/",
            "/gateway/middleware.py",
            "/gateway/ratelimit.py",
            "/gateway/observability/",
            "/gateway/auth.py",
            "/gateway/responses.py",
        ),
    ),
    ("serialization (orjson/wire)", ("orjson", "/gateway/wire.py", "/json/")),
    (
        "mapping",
        (
            "/mapping.py",
            "/gateway/platforms/memo.py",
            "/gateway/platforms/base.py",
            "/gateway/platforms/payload.py",
            "/statuses.py",
            "/currency.py",
            "msgspec",
        ),
    ),
    (
        "listing & platform clients",
        (
            "/gateway/listing/",
            "/gateway/loaders.py",
            "/gateway/platforms/",
            "/gateway/resilience/",
            "/gateway/cursors.py",
            "/gateway/rest.py",
            "/aiodataloader",
            "/cachetools/",
        ),
    ),
    ("asyncio event loop", ("/asyncio/", "/selectors.py", "select.epoll", "_asyncio")),
]
OTHER = "other"
OTHER_THREADS = "other threads (the store's SQLite thread, executors)"
#: The event loop waiting for sockets: idle on the wall clock, not work.
IDLE = "select.epoll"

Function = tuple[str, int, str]  # cProfile's (file, line, name); file "~" for C functions


def bucket(filename: str, function: str) -> str:
    """The bucket of a profiled function: by its file path, or by its name when it is a C
    function (cProfile gives those the file name ``~``)."""
    where = filename.replace(os.sep, "/") if filename != "~" else function
    for name, fragments in BUCKETS:
        if any(fragment in where for fragment in fragments):
            return name
    return OTHER


@dataclass(frozen=True)
class Entry:
    """A profiled function: its own seconds, and how much of them each caller caused."""

    function: Function
    own: float
    callers: dict[Function, float]


@dataclass(frozen=True)
class Grouped:
    """A profile in buckets: seconds of own time per bucket, the event loop's idle wait
    (left out of the buckets) and the top functions."""

    buckets: dict[str, float]
    idle: float
    top: list[tuple[float, str, str]]  # (own seconds, bucket, "file:line(function)")

    @property
    def total(self) -> float:
        return sum(self.buckets.values())


def group(entries: Iterable[Entry], other_threads: float = 0.0, top: int = 15) -> Grouped:
    """Own times summed by bucket, plus the CPU of the other threads (which cProfile does not
    see), and the ``top`` functions. A C function named in no bucket (``isinstance``,
    ``dict.get``) is the work of whoever called it: its time goes to its callers' buckets in
    the shares cProfile recorded per caller."""
    sums: dict[str, float] = {}
    functions: list[tuple[float, str, str]] = []
    idle = 0.0

    def add(name: str, seconds: float) -> None:
        sums[name] = sums.get(name, 0.0) + seconds

    for entry in entries:
        filename, line, function = entry.function
        where = _where(filename, line, function)
        if filename == "~" and IDLE in function:
            idle += entry.own
            continue
        name = bucket(filename, function)
        if name == OTHER and filename == "~" and entry.callers:
            shared = sum(entry.callers.values())
            for caller, seconds in entry.callers.items():
                part = entry.own * seconds / shared if shared > 0 else 0.0
                add(bucket(caller[0], caller[2]), part)
            functions.append((entry.own, "its callers'", where))
            continue
        add(name, entry.own)
        functions.append((entry.own, name, where))
    if other_threads > 0:
        add(OTHER_THREADS, other_threads)
    functions.sort(key=lambda f: f[0], reverse=True)
    return Grouped(dict(sorted(sums.items(), key=lambda kv: -kv[1])), idle, functions[:top])


def _where(filename: str, line: int, function: str) -> str:
    if filename == "~":
        return function
    path = filename.replace(os.sep, "/")
    for root in ("/site-packages/", "/python3.11/"):
        if root in path:
            path = path.split(root, 1)[1]
            break
    else:
        repo = str(REPO).replace(os.sep, "/") + "/"
        path = path.removeprefix(repo)
    return f"{path}:{line}({function})"


def stats_entries(path: Path) -> list[Entry]:
    """The functions of a cProfile dump with their own time and callers."""
    raw: Mapping[Function, tuple[Any, ...]] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    return [
        Entry(key, float(value[2]), {c: float(t[2]) for c, t in value[4].items()})
        for key, value in raw.items()
    ]


def grouped_text(
    kind: str, grouped: Grouped, samples: int, unprofiled_ms: float | None, clock: str = "wall"
) -> str:
    """A grouped profile as Markdown: buckets, then the top functions, in ms per page."""
    total = grouped.total or 1.0
    lines = [
        f"### Profile of `{kind}` ({samples} pages; cProfile own time on "
        + ("the main thread's CPU clock" if clock == "cpu" else "the wall clock")
        + ", the event loop's wait for sockets left out; other threads from the process's "
        "CPU time)",
        "",
        "| bucket | ms/page | share |",
        "|---|---:|---:|",
    ]
    for name, seconds in grouped.buckets.items():
        lines.append(f"| {name} | {seconds * 1000 / samples:.2f} | {seconds / total:.1%} |")
    profiled = grouped.total * 1000 / samples
    lines.append(f"| **total under the profiler** | {profiled:.2f} | 100% |")
    lines += ["", f"The event loop waited {grouped.idle * 1000 / samples:.2f} ms/page for sockets."]
    if unprofiled_ms is not None and unprofiled_ms > 0:
        lines[-1] += (
            f" Without the profiler the same kind measured {unprofiled_ms:.2f} ms/page: "
            f"cProfile's cost per call (×{profiled / unprofiled_ms:.1f} in all) inflates code of "
            "many small calls the most, so the shares are a guide, not a measure."
        )
    lines += [
        "",
        f"Top {len(grouped.top)} functions by own time:",
        "",
        "| ms/page | share | bucket | function |",
        "|---:|---:|---|---|",
    ]
    for seconds, name, where in grouped.top:
        lines.append(
            f"| {seconds * 1000 / samples:.3f} | {seconds / total:.1%} | {name} | `{where}` |"
        )
    return "\n".join(lines)


# --- callgrind ---------------------------------------------------------------------------


def callgrind_parts(texts: Iterable[str]) -> dict[int, int]:
    """Instructions per dump part, from callgrind output files (``part:`` and
    ``summary:``/``totals:`` lines; a file without ``part:`` is part 1)."""
    parts: dict[int, int] = {}
    for text in texts:
        part, total = 1, None
        for line in text.splitlines():
            if line.startswith("part:"):
                part = int(line.split(":", 1)[1])
            elif line.startswith(("summary:", "totals:")) and total is None:
                total = int(line.split(":", 1)[1].split()[0])
        if total is None:
            raise ValueError("a callgrind file without a summary")
        parts[part] = total
    return parts


def sample_instructions(parts: Mapping[int, int], samples: int) -> list[int]:
    """The samples' counts: the worker marks each sample's start and end, so the dump parts
    alternate between the rest (odd) and a sample (even), ``2 * samples + 1`` in all."""
    if sorted(parts) != list(range(1, 2 * samples + 2)):
        raise ValueError(
            f"expected dump parts 1-{2 * samples + 1} for {samples} samples, got "
            f"{sorted(parts)}: is something else calling getppid?"
        )
    return [parts[2 * i] for i in range(1, samples + 1)]


# --- the sandbox and its accounts --------------------------------------------------------


def primer_accounts(
    doc: Mapping[str, Any], sizes: Mapping[configs.AccountKey, int], measured: Sequence[Any]
) -> list[configs.AccountKey]:
    """For each platform, a non-empty account that is not measured and shares as few
    credentials as possible with the measured one (so priming it does not warm a token the
    measured account would use), larger first."""
    accounts = {(a["platform"], a["external_id"]): a for a in doc["projects"][0]["ad_accounts"]}
    chosen = []
    for key in measured:
        creds = accounts[key]["credentials"]
        candidates = [k for k, n in sizes.items() if k[0] == key[0] and k not in measured and n > 0]
        if not candidates:
            raise ValueError(f"{key[0]}: no other non-empty account to prime with")

        def shared(k: configs.AccountKey, creds: Mapping[str, Any] = creds) -> int:
            other = accounts[k]["credentials"]
            return sum(1 for name, value in other.items() if creds.get(name) == value)

        chosen.append(min(candidates, key=lambda k: (shared(k), -sizes[k], k)))
    return chosen


def profile_config(
    doc: Mapping[str, Any],
    measured: Sequence[configs.AccountKey],
    primer: Sequence[configs.AccountKey],
) -> dict[str, Any]:
    """The sandbox's configuration with two projects: the measured accounts, and the primer's
    (each with a key of its own), no client rate limits and no read-ahead: a cold sample is
    one page of a fresh app, and the next page it would read ahead is no one's."""
    out: dict[str, Any] = orjson.loads(orjson.dumps(doc))
    out["gateway"]["rate_limit"] = {"per_key": 10**9, "per_project": 10**9, "per_seconds": 1}
    out["gateway"]["read_ahead"] = False
    source = out["projects"][0]
    accounts = {(a["platform"], a["external_id"]): a for a in source["ad_accounts"]}

    def project(pid: str, name: str, key: str, keys: Sequence[configs.AccountKey]) -> Any:
        return {
            "id": pid,
            "name": name,
            "api_keys": [{"sha256": digest_key(key), "scopes": ["ads:read"]}],
            "ad_accounts": [accounts[k] for k in keys],
        }

    out["projects"] = [
        project(source["id"], source["name"], MEASURED_KEY, measured),
        project(PRIMER_PROJECT_ID, "Primer", PRIMER_KEY, primer),
    ]
    return out


class SandboxProcess:
    """``gateway sandbox`` on a free loopback port, writing its configuration."""

    def __init__(self, workdir: Path, large_adsets: int) -> None:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            self.port = sock.getsockname()[1]
        self.config = workdir / "sandbox.toml"
        self._log = open(workdir / "sandbox.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "gateway",
                "sandbox",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--large-adsets",
                str(large_adsets),
                "--write-config",
                str(self.config),
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SANDBOX_READY_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the sandbox exited with {self.proc.returncode}")
            if self.config.exists():
                try:
                    socket.create_connection((HOST, self.port), timeout=1).close()
                    return
                except OSError:
                    pass
            time.sleep(0.2)
        raise RuntimeError("the sandbox did not start in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def make_spec(sandbox: SandboxProcess, workdir: Path) -> Spec:
    """The worker's configuration: the largest account of each platform measured, another
    of each to prime with, and the cursors of the measured project's full pages (walked here,
    in this process, so no worker has seen their rows)."""
    doc = configs.load(sandbox.config)
    sizes = asyncio.run(configs.account_sizes(sandbox.config))
    measured = [configs.largest(sizes, platform) for platform in Platform]
    primer = primer_accounts(doc, sizes, measured)
    project_id = doc["projects"][0]["id"]
    spec = Spec(
        config=profile_config(doc, measured, primer),
        measured=Project(project_id, MEASURED_KEY),
        primer=Project(PRIMER_PROJECT_ID, PRIMER_KEY),
        workdir=workdir,
    )
    for kind in (KINDS["rest-cold"], KINDS["graphql-cold"]):
        spec.cursors[api(kind)] = asyncio.run(walk(spec, kind))
    return spec


# --- workers -----------------------------------------------------------------------------


@dataclass
class Measured:
    kind: str
    cpu_ms: float
    samples: int
    other_threads_ms: float
    lingering: int
    extra: dict[str, Any]
    instructions: float | None = None
    instruction_samples: int = 0


class Runner:
    """Runs workers (``bench.pages``) in fresh processes, plain, profiled or under valgrind."""

    def __init__(self, spec_path: Path, workdir: Path, verbose: bool) -> None:
        self.spec_path = spec_path
        self.workdir = workdir
        self.verbose = verbose
        self._count = 0

    def note(self, message: str) -> None:
        if self.verbose:
            print(f"bench.profile: {message}", file=sys.stderr, flush=True)

    def run(
        self,
        kind: str,
        samples: int,
        *,
        cprofile: Path | None = None,
        clock: str = "wall",
        callgrind: Path | None = None,
    ) -> dict[str, Any]:
        self._count += 1
        out = self.workdir / f"worker-{self._count}.json"
        log = self.workdir / f"worker-{self._count}.log"
        argv = [sys.executable, "-m", "bench.pages", "--spec", str(self.spec_path)]
        argv += ["--kind", kind, "--samples", str(samples), "--out", str(out)]
        if cprofile is not None:
            argv += ["--cprofile", str(cprofile), "--clock", clock]
        if callgrind is not None:
            callgrind.mkdir(parents=True, exist_ok=True)
            argv = [
                "valgrind",
                "--tool=callgrind",
                "--dump-before=getppid",
                f"--callgrind-out-file={callgrind}/callgrind.out.%p",
                *argv,
            ]
        how = "under callgrind" if callgrind else "profiled" if cprofile else "plain"
        self.note(f"{kind}: {samples} samples, {how}")
        started = time.monotonic()
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        with open(log, "wb") as fh:
            done = subprocess.run(  # noqa: S603 - fixed arguments
                argv,
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                timeout=WORKER_SECONDS,
                check=False,
            )
        if done.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise RuntimeError(f"worker {kind} exited with {done.returncode}:\n{tail}")
        self.note(f"{kind}: done in {time.monotonic() - started:.0f} s")
        result: dict[str, Any] = orjson.loads(out.read_bytes())
        return result


def summarize(result: Mapping[str, Any]) -> Measured:
    cpu, main = result["cpu"], result["main_thread"]
    extra = {k: v for k, v in result.items() if k not in ("kind", "cpu", "main_thread")}
    return Measured(
        kind=result["kind"],
        cpu_ms=statistics.fmean(cpu) * 1000,
        samples=len(cpu),
        other_threads_ms=(sum(cpu) - sum(main)) / len(cpu) * 1000,
        lingering=int(result.get("lingering", 0)),
        extra=extra,
    )


def instructions_of(folder: Path, samples: int) -> list[int]:
    texts = [p.read_text(errors="replace") for p in sorted(folder.glob("callgrind.out.*"))]
    return sample_instructions(callgrind_parts(texts), samples)


# --- output ------------------------------------------------------------------------------


NOTES = {
    "floor": "orjson.loads of every upstream answer of a REST cold page + orjson.dumps of its "
    "items",
    **{name: kind.note for name, kind in KINDS.items()},
}


def table(rows: Sequence[Measured]) -> str:
    """The Markdown table: CPU ms and instructions per page, each also × the floor."""
    floor = next((r for r in rows if r.kind == "floor"), None)
    lines = [
        "| page | CPU ms | × floor | instructions | × floor | samples | what it measures |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        x_cpu = f"{r.cpu_ms / floor.cpu_ms:.1f}" if floor and floor.cpu_ms > 0 else "—"
        if r.instructions is None:
            instr = x_instr = "—"
        else:
            instr = f"{r.instructions / 1e6:.1f} M"
            x_instr = (
                f"{r.instructions / floor.instructions:.1f}"
                if floor and floor.instructions
                else "—"
            )
        count = f"{r.samples}" + (f" / {r.instruction_samples}" if r.instructions else "")
        note = NOTES.get(r.kind, "")
        if r.kind == "floor" and "upstream_answers" in r.extra:
            note += (
                f" ({r.extra['upstream_answers']:.1f} answers, "
                f"{r.extra['upstream_kb']:.0f} KB a page)"
            )
        if r.other_threads_ms >= 0.005:
            note += f"; {r.other_threads_ms:.2f} ms of it on other threads"
        if r.lingering:
            note += f"; {r.lingering} tasks still running {DRAIN_SECONDS:g} s after their page"
        lines.append(
            f"| {r.kind} | {r.cpu_ms:.2f} | {x_cpu} | {instr} | {x_instr} | {count} | {note} |"
        )
    return "\n".join(lines)


def _revision() -> str:
    try:
        head = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return head


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument(
        "--only", nargs="+", choices=ORDER, default=ORDER, help="page kinds to measure"
    )
    parser.add_argument("--warm", type=int, default=100, help="samples of a warm kind")
    parser.add_argument("--cold", type=int, default=10, help="samples of a cold kind")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (callgrind)"
    )
    parser.add_argument("--warm-instr", type=int, default=5, help="warm samples under valgrind")
    parser.add_argument("--cold-instr", type=int, default=4, help="cold samples under valgrind")
    parser.add_argument(
        "--profile", nargs="+", choices=[k for k in ORDER if k != "floor"], default=[],
        metavar="KIND", help="print a grouped cProfile of these kinds",
    )  # fmt: skip
    parser.add_argument(
        "--profile-clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall: cProfile's own clock, cheapest per call (the event loop's idle wait is left "
        "out); cpu: the thread's CPU time, blind to waits for the GIL and the scheduler on a "
        "busy machine, but several times the cost per call",
    )
    parser.add_argument("--large-adsets", type=int, default=1200, help="the sandbox's seed")
    parser.add_argument("--keep", type=Path, help="keep the work files in this folder")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind")

    def samples(kind: str, warm: int, cold: int) -> int:
        if kind == "floor":
            return cold  # pages captured; each is decoded and encoded several times
        return cold if KINDS[kind].cold else warm

    with tempfile.TemporaryDirectory(prefix="gateway-profile-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        sandbox = SandboxProcess(workdir, args.large_adsets)
        try:
            sandbox.wait_ready()
            spec = make_spec(sandbox, workdir)
            spec_path = workdir / "spec.json"
            spec.write(spec_path)
            runner = Runner(spec_path, workdir, verbose=not args.quiet)
            rows = [summarize(runner.run(k, samples(k, args.warm, args.cold))) for k in args.only]
            if args.instructions:
                for row in rows:
                    n = samples(row.kind, args.warm_instr, args.cold_instr)
                    folder = workdir / f"callgrind-{row.kind}"
                    result = runner.run(row.kind, n, callgrind=folder)
                    counts = instructions_of(folder, len(result["cpu"]))
                    row.instructions = statistics.fmean(counts)
                    row.instruction_samples = len(counts)
            profiles = []
            for kind in args.profile:
                stats = workdir / f"{kind}.prof"
                n = samples(kind, args.warm, args.cold)
                result = runner.run(kind, n, cprofile=stats, clock=args.profile_clock)
                measured = summarize(result)
                plain = next((r.cpu_ms for r in rows if r.kind == kind), None)
                other = measured.other_threads_ms / 1000 * measured.samples
                grouped = group(stats_entries(stats), other)
                profiles.append(
                    grouped_text(kind, grouped, measured.samples, plain, args.profile_clock)
                )
        finally:
            sandbox.stop()
    print(
        f"## Pages of {PAGE_ROWS} rows, {_revision()}: the gateway in-process through ASGI (no "
        "uvicorn), the sandboxes in another process on loopback"
    )
    print()
    print(table(rows))
    for text in profiles:
        print()
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
