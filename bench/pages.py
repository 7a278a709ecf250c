"""One kind of 100-row page, served in this process and measured: the worker of
``python -m bench.profile`` (which starts it, alone or under valgrind).

    python -m bench.pages --spec SPEC.json --kind rest-cold --samples 10 --out OUT.json \
        [--cprofile STATS]

The gateway is ``gateway.app.create_app`` over the configuration in the spec, exactly as
``gateway serve`` builds it, talking to the sandboxes of another process on loopback through
its production network client. It is driven through its ASGI interface (lifespan included),
so no HTTP server and no HTTP client of the caller's are in the figures: what is counted is
the app and what it does for the page (its upstream calls, its ID-map writes, on any thread).

Each sample is one page plus whatever tasks it left running (drained before the clock stops).
Warm kinds repeat the first page of one app. Cold kinds build a fresh app per sample (created,
started and primed untimed) and ask it for a page of the measured project at a cursor of the
spec's walk (taken by another process), spread over the walk from its first page on: each
sample is rows the process and accounts the app have never seen. The primer is the same kind
of page on another project of other accounts, so the platforms' connections are open and the
GraphQL document is known, as in a process that has served before; the spec's ``primer``
project exists for that only. After start-up the heap is settled as ``gateway serve`` does
(``gateway.cli.settle_heap``: collected, frozen, gen 0 collected less often), so one app's
garbage is not another's sample.

The process's CPU time (every thread) is taken around each sample. For callgrind, ``getppid``
is called at the start and at the end of each sample (``--dump-before=getppid`` dumps the
counts there, so the even parts of the dump are the samples).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import orjson
from starlette.types import ASGIApp, Message, Scope

from bench.drive import README_NESTED, REST_FIELDS, page_query
from gateway.app import create_app
from gateway.cli import settle_heap
from gateway.config import Settings, parse_settings

T = TypeVar("T")

PAGE_ROWS = 100
#: Times the floor decodes and encodes each captured page.
FLOOR_ROUNDS = 5
#: Longest wait for the tasks a page left behind (ID-map writes, refreshes); a task still
#: running after it is counted as lingering and left alone.
DRAIN_SECONDS = 5.0


@dataclass(frozen=True)
class Kind:
    """A kind of page: REST or GraphQL (with these node fields), warm or cold."""

    name: str
    graphql_fields: str | None
    cold: bool
    note: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "rest-warm",
            None,
            False,
            "REST, the same first page repeated: rows mapped and items written before",
        ),
        Kind("rest-cold", None, True, "REST, rows and accounts the app has never seen"),
        Kind("graphql-warm", REST_FIELDS, False, "GraphQL, REST's fields, same page repeated"),
        Kind("graphql-cold", REST_FIELDS, True, "GraphQL, REST's fields, cold as REST cold"),
        Kind(
            "nested-warm",
            REST_FIELDS + README_NESTED,
            False,
            "GraphQL, REST's fields + the README's campaign/adAccount, same page repeated",
        ),
        Kind(
            "nested-cold",
            REST_FIELDS + README_NESTED,
            True,
            "GraphQL, REST's fields + the README's campaign/adAccount, cold",
        ),
    )
}


# --- the app through its ASGI interface -------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class AsgiDriver:
    """An ASGI app run as a server would run it: lifespan startup and shutdown, and one
    HTTP request at a time whose body arrives whole and whose response is collected."""

    app: ASGIApp
    state: dict[str, Any] = field(default_factory=dict)
    _lifespan: asyncio.Task[None] | None = None
    _inbox: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    _outbox: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)

    async def start(self) -> None:
        scope: Scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        self._lifespan = asyncio.ensure_future(self.app(scope, self._inbox.get, self._outbox.put))
        await self._inbox.put({"type": "lifespan.startup"})
        await self._expect("lifespan.startup.complete")

    async def stop(self) -> None:
        if self._lifespan is None:
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._expect("lifespan.shutdown.complete")
        await self._lifespan
        self._lifespan = None

    async def _expect(self, kind: str) -> None:
        assert self._lifespan is not None
        getter = asyncio.ensure_future(self._outbox.get())
        await asyncio.wait({getter, self._lifespan}, return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():
            getter.cancel()
            self._lifespan.result()  # raises what the lifespan raised
            raise RuntimeError(f"the app's lifespan ended before {kind}")
        message = getter.result()
        if message["type"] != kind:
            raise RuntimeError(f"lifespan answered {message!r}, not {kind}")

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Answer:
        raw_headers = [(b"host", b"gateway.bench")]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        if body:
            raw_headers.append((b"content-length", str(len(body)).encode()))
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": urlencode(query or {}).encode(),
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": dict(self.state),
        }
        done = asyncio.Event()
        sent_body = False
        status = 0
        out_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, out_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                out_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self.app(scope, receive, send)
        done.set()
        return Answer(status, out_headers, b"".join(chunks))


# --- pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    id: str
    key: str


class PartialPage(RuntimeError):
    """A page of fewer rows than asked for (the end of a walk)."""


@dataclass(frozen=True)
class PageRequest:
    """A page's request, made before the clock starts."""

    method: str
    path: str
    query: dict[str, str | int]
    headers: dict[str, str]
    body: bytes = b""

    async def send(self, driver: AsgiDriver) -> Answer:
        return await driver.request(
            self.method, self.path, query=self.query, headers=self.headers, body=self.body
        )


def page_request(kind: Kind, project: Project, cursor: str | None) -> PageRequest:
    """The request for one 100-row page of ``kind`` at ``cursor``."""
    auth = {"authorization": f"Bearer {project.key}", "accept": "application/json"}
    if kind.graphql_fields is None:
        query: dict[str, str | int] = {"limit": PAGE_ROWS}
        if cursor is not None:
            query["cursor"] = cursor
        return PageRequest("GET", f"/v1/projects/{project.id}/ads/adsets", query, auth)
    payload = {
        "query": page_query(kind.graphql_fields),
        "variables": {"projectId": project.id, "first": PAGE_ROWS, "after": cursor},
    }
    headers = {**auth, "content-type": "application/json"}
    return PageRequest("POST", "/graphql", {}, headers, orjson.dumps(payload))


def read_page(kind: Kind, answer: Answer) -> str | None:
    """The next page's cursor of a full page; anything else raises."""
    body = answer.json()
    if kind.graphql_fields is None:
        if answer.status != 200:
            raise RuntimeError(f"REST {answer.status}: {answer.body[:300]!r}")
        rows, following = len(body["items"]), body["nextCursor"]
    else:
        if answer.status != 200 or body.get("errors"):
            raise RuntimeError(f"GraphQL {answer.status}: {answer.body[:300]!r}")
        connection = body["data"]["adSets"]
        rows = len(connection["edges"])
        info = connection["pageInfo"]
        following = info["endCursor"] if info["hasNextPage"] else None
    if rows != PAGE_ROWS:
        raise PartialPage(f"{kind.name}: a page of {rows} rows, not {PAGE_ROWS}")
    return following if isinstance(following, str) else None


async def page(driver: AsgiDriver, kind: Kind, project: Project, cursor: str | None) -> str | None:
    """One page, untimed: the next page's cursor."""
    return read_page(kind, await page_request(kind, project, cursor).send(driver))


# --- samples -----------------------------------------------------------------------------


def marker() -> None:
    """A sample's start or end, for callgrind's ``--dump-before=getppid``."""
    os.getppid()


@dataclass
class Sampler:
    """Times samples: CPU of the process and of this thread, tasks left running."""

    profiler: cProfile.Profile | None = None
    cpu: list[float] = field(default_factory=list)
    main_thread: list[float] = field(default_factory=list)
    lingering: int = 0

    async def sample(self, work: Callable[[], Awaitable[T]]) -> T:
        """``work()`` and the tasks it started, timed."""
        before = asyncio.all_tasks()
        marker()
        cpu0, main0 = time.process_time(), time.thread_time()
        if self.profiler is not None:
            self.profiler.enable()
        try:
            result = await work()
            left = asyncio.all_tasks() - before
            if left:
                _, pending = await asyncio.wait(left, timeout=DRAIN_SECONDS)
                self.lingering += len(pending)
        finally:
            if self.profiler is not None:
                self.profiler.disable()
            main1, cpu1 = time.thread_time(), time.process_time()
            marker()
        self.cpu.append(cpu1 - cpu0)
        self.main_thread.append(main1 - main0)
        return result


@dataclass(frozen=True)
class Spec:
    """What ``bench.profile`` hands a worker: the configuration (a mapping as TOML reads it,
    with the ``measured`` and ``primer`` projects), their keys, a folder of its own, and the
    cursors of a walk over the measured project's full pages (REST's and GraphQL's; ``None``
    is the first page)."""

    config: dict[str, Any]
    measured: Project
    primer: Project
    workdir: Path
    cursors: dict[str, list[str | None]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Spec:
        raw = orjson.loads(path.read_bytes())
        return cls(
            config=raw["config"],
            measured=Project(**raw["measured"]),
            primer=Project(**raw["primer"]),
            workdir=Path(raw["workdir"]),
            cursors=raw["cursors"],
        )

    def write(self, path: Path) -> None:
        path.write_bytes(
            orjson.dumps(
                {
                    "config": self.config,
                    "measured": vars(self.measured),
                    "primer": vars(self.primer),
                    "workdir": str(self.workdir),
                    "cursors": self.cursors,
                }
            )
        )

    def settings(self, database: str) -> Settings:
        config = {**self.config, "gateway": {**self.config["gateway"], "database": database}}
        return parse_settings(config, base_dir=self.workdir)


def api(kind: Kind) -> str:
    """Which walk's cursors a kind reads: ``rest`` or ``graphql``."""
    return "rest" if kind.graphql_fields is None else "graphql"


def spread(available: int, samples: int) -> list[int]:
    """``samples`` indices of ``range(available)`` spread evenly, the first and the last
    included, none twice."""
    if not 0 < samples <= available:
        raise ValueError(f"{samples} samples of {available} pages")
    if samples == 1:
        return [0]
    return [round(i * (available - 1) / (samples - 1)) for i in range(samples)]


class Apps:
    """Fresh apps over the spec's configuration, each with a database of its own."""

    def __init__(self, spec: Spec, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.spec = spec
        self.transport = transport
        self.count = 0

    async def new(self) -> AsgiDriver:
        self.count += 1
        database = self.spec.workdir / f"app-{os.getpid()}-{self.count}.db"
        settings = self.spec.settings(f"sqlite:///{database}")
        driver = AsgiDriver(create_app(settings, transport=self.transport))
        await driver.start()
        settle_heap()
        return driver


async def run_warm(kind: Kind, spec: Spec, samples: int, sampler: Sampler) -> None:
    """``samples`` times the measured project's first page, on one app, after three."""
    driver = await Apps(spec).new()
    request = page_request(kind, spec.measured, None)
    try:
        for _ in range(3):
            read_page(kind, await request.send(driver))
        for _ in range(samples):
            read_page(kind, await sampler.sample(lambda: request.send(driver)))
    finally:
        await driver.stop()


async def run_cold(
    kind: Kind,
    spec: Spec,
    samples: int,
    sampler: Sampler,
    *,
    apps: Apps | None = None,
    each: Callable[[Answer], None] | None = None,
) -> None:
    """``samples`` pages spread over the spec's walk, each on a fresh primed app. ``each``
    sees every sample's answer."""
    apps = apps or Apps(spec)
    cursors = spec.cursors[api(kind)]
    for index in spread(len(cursors), samples):
        driver = await apps.new()
        try:
            await page(driver, kind, spec.primer, None)
            request = page_request(kind, spec.measured, cursors[index])
            answer = await sampler.sample(lambda: request.send(driver))  # noqa: B023
            read_page(kind, answer)
            if each is not None:
                each(answer)
        finally:
            await driver.stop()


async def walk(spec: Spec, kind: Kind) -> list[str | None]:
    """The cursors of the measured project's full pages of ``kind``, first page first."""
    driver = await Apps(spec).new()
    cursors: list[str | None] = [None]
    try:
        while True:
            request = page_request(kind, spec.measured, cursors[-1])
            try:
                following = read_page(kind, await request.send(driver))
            except PartialPage:
                cursors.pop()
                break
            if following is None:
                break
            cursors.append(following)
    finally:
        await driver.stop()
    return cursors


# --- the floor ---------------------------------------------------------------------------


class RecordingTransport(httpx.AsyncBaseTransport):
    """The network through httpx, keeping the (decoded) bodies of the answers while
    ``recording``: what the gateway received from the platforms."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.recording = False
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        if self.recording:
            self.bodies.append(content)
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=content)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True)
class FloorPage:
    upstream: list[bytes]  # every upstream answer of the page
    items: list[Any]  # the REST page's items, decoded


async def capture(spec: Spec, pages: int) -> list[FloorPage]:
    """REST cold pages as ``run_cold`` walks them, with the upstream answers of each."""
    transport = RecordingTransport()
    captured: list[FloorPage] = []

    class Recording(Sampler):
        async def sample(self, work: Callable[[], Awaitable[T]]) -> T:
            transport.recording = True
            try:
                return await work()
            finally:
                transport.recording = False

    def keep(answer: Answer) -> None:
        captured.append(FloorPage(list(transport.bodies), answer.json()["items"]))
        transport.bodies.clear()

    apps = Apps(spec, transport)
    await run_cold(KINDS["rest-cold"], spec, pages, Recording(), apps=apps, each=keep)
    return captured


async def _floor(page: FloorPage) -> None:
    """The least any gateway does for a page: decode what came, encode what goes."""
    for body in page.upstream:
        orjson.loads(body)
    orjson.dumps(page.items)


async def run_floor(pages: list[FloorPage], rounds: int, sampler: Sampler) -> None:
    """Each captured page ``rounds`` times, one sample each, after a round unsampled."""
    for p in pages:
        await _floor(p)
    settle_heap()
    for _ in range(rounds):
        for p in pages:
            await sampler.sample(functools.partial(_floor, p))


# --- command line ------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--kind", choices=[*KINDS, "floor"], required=True)
    parser.add_argument("--samples", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cprofile", type=Path, help="write a cProfile of the samples here")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="the profile's clock: the wall clock (cProfile's own, cheapest per call) or this "
        "thread's CPU time (blind to waits for the GIL and the scheduler, but a Python-level "
        "timer that costs every call several times more)",
    )
    args = parser.parse_args(argv)
    spec = Spec.read(args.spec)
    profiler = None
    if args.cprofile:
        profiler = cProfile.Profile(time.thread_time) if args.clock == "cpu" else cProfile.Profile()
    sampler = Sampler(profiler=profiler)
    extra: dict[str, Any] = {}
    if args.kind == "floor":
        pages = asyncio.run(capture(spec, args.samples))
        extra["upstream_answers"] = sum(len(p.upstream) for p in pages) / len(pages)
        extra["upstream_kb"] = sum(len(b) for p in pages for b in p.upstream) / len(pages) / 1024
        asyncio.run(run_floor(pages, FLOOR_ROUNDS, sampler))
    else:
        kind = KINDS[args.kind]
        run = run_cold if kind.cold else run_warm
        asyncio.run(run(kind, spec, args.samples, sampler))
    if profiler is not None:
        profiler.dump_stats(args.cprofile)
    result = {
        "kind": args.kind,
        "cpu": sampler.cpu,
        "main_thread": sampler.main_thread,
        "lingering": sampler.lingering,
        **extra,
    }
    args.out.write_bytes(orjson.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
