"""Instructions per page of a served gateway, uvicorn and all, counted by callgrind.

CPU time on this kind of machine moves by 10-25 % between runs (other work shares its two
cores, and its clock drifts), which is as much as the differences the ``cpu`` group's ratios
are about. Instructions do not move: ``gateway serve`` runs under ``valgrind --tool=callgrind
--instr-atstart=no``, counting is switched on (``callgrind_control -i on``) only around the
measured requests, and the counts are then dumped and read. Every thread of the process is
counted (the store's, the event loop's); the sandbox and the client are other processes.

Warm is the ``cpu`` group's page repeated over the 6 small accounts; cold is a fresh process
walking the whole project, as the ``cpu`` group's cold walk. Instructions are not cycles: code
that misses the caches more costs more time for its instructions, so these ratios run a little
below the CPU-time ones; they are the steady measure of what a change did.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import configs
from bench.drive import README_NESTED, REST_FIELDS, REST_PATH, GatewayClient, page_query
from bench.env import Env, wait_ready
from bench.processes import HOST, Process, free_port

#: Seconds a gateway under valgrind may take to answer /readyz (about 30 when idle).
READY_SECONDS = 300.0
#: Seconds given to work the requests leave behind before counting stops (batched ID-map
#: writes run a second after they are queued).
SETTLE_SECONDS = 2.0


def missing_tools() -> str | None:
    """Why instructions cannot be counted here, or None."""
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian's valgrind package)"
    return None


class CountedGateway:
    """``gateway serve`` under callgrind, counting only inside ``count``."""

    def __init__(self, env: Env, accounts: list[configs.AccountKey], name: str) -> None:
        assert env.sandbox is not None, "start a sandbox first"
        self._dir = env.workdir
        self._name = name
        doc = configs.narrowed(env.sandbox.doc, accounts, self._dir / f"{name}.db")
        self._config = configs.write(doc, self._dir / f"{name}.toml")
        self._out = self._dir / f"{name}.callgrind"
        self._dumps = 0
        self.url = ""
        self._process: Process | None = None

    async def __aenter__(self) -> CountedGateway:
        port = free_port()
        self.url = f"http://{HOST}:{port}"
        argv = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={self._out}",
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--config",
            str(self._config),
            "--host",
            HOST,
            "--port",
            str(port),
        ]
        self._process = Process(self._name, argv, self._dir / f"{self._name}.log")
        try:
            await wait_ready(self._process, f"{self.url}/readyz", within=READY_SECONDS)
        except BaseException:
            self._process.stop()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._process is not None:
            self._process.stop(timeout=30.0)

    async def count(self, work: Callable[[], Awaitable[int]]) -> float:
        """Instructions per unit of ``work`` (it returns how many units it did: requests,
        pages), counted from its start until ``SETTLE_SECONDS`` after its end."""
        assert self._process is not None
        pid = str(self._process.pid)
        await _control("-z", pid)
        await _control("-i", "on", pid)
        units = await work()
        await asyncio.sleep(SETTLE_SECONDS)
        await _control("-i", "off", pid)
        self._dumps += 1
        await _control("-d", f"{self._name}-{self._dumps}", pid)
        return read_total(self._latest_dump()) / max(units, 1)

    def _latest_dump(self) -> Path:
        dumps = sorted(self._dir.glob(f"{self._out.name}.*"), key=lambda p: p.stat().st_mtime)
        if not dumps:
            raise RuntimeError(f"callgrind wrote no dump for {self._name}")
        return dumps[-1]


async def _control(*args: str) -> None:
    done = await asyncio.to_thread(
        subprocess.run, ["callgrind_control", *args], capture_output=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"callgrind_control {' '.join(args)}: {done.stderr.decode()[:300]}")


def read_total(dump: Path) -> int:
    """The instruction total of a callgrind dump (its ``totals:`` or ``summary:`` line)."""
    total: int | None = None
    with dump.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith(("totals:", "summary:")):
                total = int(line.split()[1])
    if total is None:
        raise RuntimeError(f"no totals in {dump}")
    return total


#: The page kinds: REST, GraphQL with REST's fields, and with the README's nested fields.
NESTED_QUERY = page_query(REST_FIELDS + README_NESTED)
FLAT_QUERY = page_query(REST_FIELDS)


async def _page(client: GatewayClient, kind: str, cursor: str | None) -> tuple[int, str | None]:
    if kind == "rest":
        _, body = await client.rest(100, cursor)
        following: str | None = body["nextCursor"]
        return len(body["items"]), following
    query = FLAT_QUERY if kind == "graphql" else NESTED_QUERY
    _, connection = await client.query(query, 100, cursor)
    info = connection["pageInfo"]
    return len(connection["edges"]), info["endCursor"] if info["hasNextPage"] else None


KINDS = ("rest", "graphql", "nested")


async def warm(env: Env, accounts: list[configs.AccountKey], pages: int) -> dict[str, float]:
    """Instructions per request of each kind's first page repeated ``pages`` times, in one
    gateway under callgrind (after 5 untimed pages of each)."""
    out: dict[str, float] = {}
    async with (
        CountedGateway(env, accounts, "counted-warm") as gateway,
        GatewayClient(gateway.url) as client,
    ):
        for kind in KINDS:
            for _ in range(5):
                await _page(client, kind, None)

        for kind in KINDS:

            async def repeat(kind: str = kind) -> int:
                for _ in range(pages):
                    await _page(client, kind, None)
                return pages

            out[kind] = await gateway.count(repeat)
    return out


async def cold(env: Env, accounts: list[configs.AccountKey], expected: int) -> dict[str, float]:
    """Instructions per page of a fresh gateway under callgrind walking the whole project,
    one process per kind; its first REST ``HEAD`` and GraphQL ``{ __typename }`` run before
    counting, as in the ``cpu`` group's cold walk."""
    out: dict[str, float] = {}
    for kind in KINDS:
        async with (
            CountedGateway(env, accounts, f"counted-cold-{kind}") as gateway,
            GatewayClient(gateway.url) as client,
        ):
            (await client.http.head(REST_PATH)).raise_for_status()
            answer = await client.http.post("/graphql", json={"query": "{ __typename }"})
            answer.raise_for_status()

            async def walk(kind: str = kind) -> int:
                rows, pages, cursor = 0, 0, None
                while True:
                    got, cursor = await _page(client, kind, cursor)
                    rows, pages = rows + got, pages + 1
                    if cursor is None or pages >= 10_000:
                        break
                if rows != expected:
                    raise RuntimeError(f"cold walk listed {rows} rows, not {expected}")
                return pages

            out[kind] = await gateway.count(walk)
    return out
