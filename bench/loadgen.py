"""A lean HTTP/1.1 load generator in a process of its own: keep-alive connections on raw
asyncio transports, one request in flight per connection, for a fixed time.

    python -m bench.loadgen --url http://127.0.0.1:8000 --path /v1/... --connections 8 \\
        --duration 10 [--method POST --body-file query.json] [--header "Authorization: ..."]

A Python client built on httpx spends about a millisecond of CPU per request, so at 1,000
requests a second it needs a core of its own and would be what bounds a capacity figure on a
small machine. This one builds the request bytes once and only splits status line, headers
and body of each answer (``Content-Length`` or chunked), a few microseconds per request (it
uses uvloop when installed).

On stdout it prints ``started`` when the first requests go out, then one JSON line (``Result``
as a dict): requests answered, seconds, answers by status, connection errors, latency
percentiles (ms) and its own CPU seconds. It stops by itself: every connection stops sending
at ``--duration`` and the process gives up ``GRACE`` seconds later.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

GRACE = 10.0  # seconds past --duration after which answers still awaited are abandoned
MAX_HEAD = 64 * 1024
_REPO = Path(__file__).resolve().parent.parent


class ProtocolError(Exception):
    """An answer that is not HTTP/1.1 as this client reads it."""


def build_request(
    method: str, host: str, path: str, headers: Sequence[tuple[str, str]], body: bytes = b""
) -> bytes:
    """The bytes of one keep-alive HTTP/1.1 request (sent again unchanged every time)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ResponseParser:
    """Splits a byte stream into answers; ``feed`` returns the status of each one completed.

    Reads ``Content-Length`` bodies and chunked ones (trailers skipped); an answer with
    neither has no body (the gateway always sends one of them)."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._status = 0
        self._need: int | None = None  # body bytes still expected; None: reading a head
        self._chunked = False

    def feed(self, data: bytes) -> list[int]:
        self._buf += data
        done: list[int] = []
        while True:
            if self._need is None and not self._chunked and not self._read_head():
                return done
            if self._chunked:
                if not self._skip_chunks():
                    return done
            elif self._need is not None:
                if len(self._buf) < self._need:
                    return done
                del self._buf[: self._need]
            done.append(self._status)
            self._need, self._chunked = None, False

    def _read_head(self) -> bool:
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buf) > MAX_HEAD:
                raise ProtocolError("response head too long")
            return False
        head = bytes(self._buf[:end]).decode("latin-1").split("\r\n")
        del self._buf[: end + 4]
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ProtocolError(f"bad status line {head[0][:60]!r}")
        self._status = int(parts[1])
        self._need = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                self._need = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                self._chunked = True
        return True

    def _skip_chunks(self) -> bool:
        """Consume whole chunks; True once the last chunk and the trailers are read."""
        while True:
            end = self._buf.find(b"\r\n")
            if end < 0:
                return False
            size = int(bytes(self._buf[:end]).split(b";")[0], 16)
            if size == 0:
                close = self._buf.find(b"\r\n\r\n", end)
                if close < 0:
                    return False
                del self._buf[: close + 4]
                return True
            if len(self._buf) < end + 2 + size + 2:
                return False
            del self._buf[: end + 2 + size + 2]


@dataclass
class Result:
    """What one run counted."""

    requests: int = 0
    seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else math.nan

    def ok(self) -> int:
        return self.statuses.get("200", 0)

    @classmethod
    def from_json(cls, line: str) -> Result:
        data = json.loads(line)

        def number(key: str) -> float:
            value = data.get(key)
            return math.nan if value is None else float(value)

        return cls(
            requests=int(data["requests"]),
            seconds=number("seconds"),
            statuses={str(k): int(v) for k, v in data["statuses"].items()},
            errors=int(data["errors"]),
            p50_ms=number("p50_ms"),
            p99_ms=number("p99_ms"),
            cpu_seconds=number("cpu_seconds"),
        )


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of sorted values; NaN when empty."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Run) -> None:
        self.run = run
        self.parser = ResponseParser()
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0.0
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        try:
            statuses = self.parser.feed(data)
        except (ProtocolError, ValueError):
            self.run.errors += 1
            self._close()
            return
        for status in statuses:
            now = time.perf_counter()
            self.run.latencies.append(now - self.sent_at)
            self.run.statuses[str(status)] += 1
            if now < self.run.ends_at:
                self._send()
            else:
                self._close()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if time.perf_counter() < self.run.ends_at:
            self.run.errors += 1  # the server closed a connection mid-run
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass
class _Run:
    request: bytes
    ends_at: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: int = 0


async def run(host: str, port: int, request: bytes, connections: int, duration: float) -> Result:
    """``connections`` keep-alive connections sending ``request`` for ``duration`` seconds."""
    loop = asyncio.get_running_loop()
    state = _Run(request, time.perf_counter() + duration)
    cpu_before = time.process_time()
    started = time.perf_counter()
    state.ends_at = started + duration
    conns: list[_Connection] = []
    for _ in range(connections):
        _, conn = await loop.create_connection(lambda: _Connection(state), host, port)
        conns.append(conn)
    print("started", flush=True)
    try:
        await asyncio.wait_for(asyncio.gather(*(c.closed for c in conns)), duration + GRACE)
    except TimeoutError:
        for c in conns:
            c._close()
    elapsed = time.perf_counter() - started
    ordered = sorted(state.latencies)
    return Result(
        requests=len(ordered),
        seconds=elapsed,
        statuses=dict(state.statuses),
        errors=state.errors,
        p50_ms=percentile(ordered, 0.5) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        cpu_seconds=time.process_time() - cpu_before,
    )


async def spawn(
    url: str,
    path: str,
    *,
    connections: int,
    duration: float,
    headers: Sequence[tuple[str, str]] = (),
    method: str = "GET",
    body: bytes | None = None,
    workdir: Path,
    on_start: Callable[[], None] = lambda: None,
) -> Result:
    """Run this module in a child process against ``url``; ``on_start`` is called when its
    first requests go out (so the caller can read other processes' CPU from then on)."""
    args = [sys.executable, "-m", "bench.loadgen", "--url", url, "--path", path]
    args += ["--method", method, "--connections", str(connections), "--duration", str(duration)]
    for name, value in headers:
        args += ["--header", f"{name}: {value}"]
    if body is not None:
        body_file = workdir / f"loadgen-body-{os.getpid()}-{time.monotonic_ns()}"
        body_file.write_bytes(body)
        args += ["--body-file", str(body_file)]
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=_REPO,
    )
    try:
        assert proc.stdout is not None
        limit = duration + GRACE + 30.0  # start-up and connecting included
        line = await asyncio.wait_for(proc.stdout.readline(), limit)
        if line.strip() != b"started":
            err = (await proc.communicate())[1].decode(errors="replace")
            raise RuntimeError(f"load generator did not start: {line!r} {err[-500:]}")
        on_start()
        out, err_bytes = await asyncio.wait_for(proc.communicate(), limit)
        if proc.returncode != 0:
            raise RuntimeError(
                f"load generator failed: {err_bytes.decode(errors='replace')[-500:]}"
            )
        return Result.from_json(out.decode().strip().splitlines()[-1])
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"not a header: {text!r}")
    return name.strip(), value.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True, help="http://host:port (loopback)")
    parser.add_argument("--path", required=True, help="path and query of every request")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body-file", type=Path, help="request body (e.g. a GraphQL query)")
    parser.add_argument("--header", type=_header, action="append", default=[])
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args(argv)
    url = urlsplit(args.url)
    if url.scheme != "http" or url.hostname is None or url.port is None:
        parser.error("--url must be http://host:port")
    if not 1 <= args.connections <= 1000 or not 0 < args.duration <= 600:
        parser.error("need 1-1000 connections and a duration of 0-600 s")
    body = args.body_file.read_bytes() if args.body_file else b""
    request = build_request(args.method, url.netloc, args.path, args.header, body)
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    result = runner(run(url.hostname, url.port, request, args.connections, args.duration))
    values = {
        k: (None if isinstance(v, float) and math.isnan(v) else v)
        for k, v in asdict(result).items()
    }
    print(json.dumps(values, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
