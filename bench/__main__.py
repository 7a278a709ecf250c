"""Benchmarks of the gateway over the sandboxes, each in its own process on 127.0.0.1.

    .venv/bin/python -m bench                 # every figure (under 15 minutes)
    .venv/bin/python -m bench --quick         # fewer samples (under 4 minutes)
    .venv/bin/python -m bench --only cpu mem_rss_mb_180k
    .venv/bin/python -m bench --json-only     # just the JSON line

Starts the sandboxes (``bench.sandbox_proc``) and ``gateway serve`` as subprocesses, drives
them with httpx (and capacity with ``bench.loadgen`` in a process of its own), prints a
Markdown table (figure, value, target, met, what it measures) and then one line of JSON with
every figure by name. Progress goes to stderr. Children are stopped on exit, errors and
Ctrl-C; the whole run has a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from bench import figures
from bench.env import Env
from bench.report import Figure, json_line, table

TIME_LIMIT_QUICK = 240.0
TIME_LIMIT_FULL = 900.0


def _groups(only: Sequence[str] | None) -> list[str]:
    if not only:
        return list(figures.GROUPS)
    wanted: set[str] = set()
    for name in only:
        if name in figures.GROUPS:
            wanted.add(name)
        elif name in figures.FIGURES:
            wanted.add(figures.FIGURES[name][0])
        else:
            known = ", ".join([*figures.GROUPS, *figures.FIGURES])
            raise SystemExit(f"bench: unknown figure {name!r}; known: {known}")
    return [g for g in figures.GROUPS if g in wanted]


async def _run(env: Env, groups: list[str], quick: bool) -> tuple[list[Figure], bool]:
    """Every group's figures; a group that fails gives NaN figures (and False) but does not
    stop the others."""
    ctx = figures.Ctx(env=env, quick=quick)
    out: list[Figure] = []
    ok = True
    for group in groups:
        env.note(f"measuring {group}")
        started = time.monotonic()
        try:
            out += await figures.GROUPS[group](ctx)
        except Exception as exc:  # report it and go on with the next group
            ok = False
            traceback.print_exc()
            env.stop()
            reason = f"not measured: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
            out += [figures.unmeasured(name, reason) for name in figures.names_of(group)]
        env.note(f"{group} took {time.monotonic() - started:.1f} s")
    return out, ok


def _terminate(signum: int, _: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, under 4 minutes")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="figure or group names")
    parser.add_argument("--json-only", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)
    groups = _groups(args.only)
    signal.signal(signal.SIGTERM, _terminate)
    limit = TIME_LIMIT_QUICK if args.quick else TIME_LIMIT_FULL
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        # Figures measure the gateway: the sandboxes' simulated quotas stay out of play
        # except in the group that measures behaviour near a quota.
        env = Env(Path(tmp), verbose=not args.json_only, metered=False)
        try:
            results, ok = asyncio.run(asyncio.wait_for(_run(env, groups, args.quick), limit))
        except KeyboardInterrupt:
            print("bench: interrupted", file=sys.stderr)
            return 130
        except TimeoutError:
            print(f"bench: stopped after the {limit:.0f} s time limit", file=sys.stderr)
            return 1
        finally:
            env.stop()
    if not args.json_only:
        print(table(results))
        print()
    print(json_line(results), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
