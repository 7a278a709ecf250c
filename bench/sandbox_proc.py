"""The sandboxes in a process of the bench's own: ``suite.app`` plus a few ``/_bench`` routes.

    python -m bench.sandbox_proc --port 8100 --latency-ms 100 --large-adsets 1200 \
        --write-config sandbox.toml [--unmetered]

``GET /_bench/log`` gives the upstream requests each platform received since the last
``POST /_bench/reset``: ``calls`` counted by ``"METHOD /path"``, ``failed`` (status 400 and
up) by ``"METHOD /path status"`` and ``faults`` (injected) by kind;
``POST /_bench/latency?ms=N`` changes the added latency of every platform;
``POST /_bench/faults?rate=R&kinds=500,drop&slow_ms=N&regain_minutes=M`` sets the injected
faults of every platform (``kinds``, ``slow_ms`` and the throttle's ``regain_minutes``
optional); ``POST /_bench/quotas?metered=0`` takes every platform's simulated quota out of
play (Meta's usage headers read 0 %, so the gateway never slows down for them), ``metered=1``
brings it back; ``GET /_bench/health`` answers once serving.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gateway.sandbox.control import check_regain_minutes, parse_fault_kinds
from gateway.sandbox.suite import SandboxSuite

PREFIX = "/_bench/"


class BenchSandboxApp:
    """Requests under ``/_bench/`` go to the bench routes, everything else to the suite."""

    def __init__(self, suite: SandboxSuite) -> None:
        self.suite = suite
        self.routes = Starlette(
            routes=[
                Route("/_bench/health", self._health),
                Route("/_bench/log", self._log),
                Route("/_bench/reset", self._reset, methods=["POST"]),
                Route("/_bench/latency", self._latency, methods=["POST"]),
                Route("/_bench/faults", self._faults, methods=["POST"]),
                Route("/_bench/quotas", self._quotas, methods=["POST"]),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await self.routes(scope, receive, send)
        else:
            await self.suite.app(scope, receive, send)

    async def _health(self, _: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def _log(self, _: Request) -> JSONResponse:
        calls = {p.value: dict(c.log.by_endpoint()) for p, c in self.suite.controls.items()}
        failed = {
            p.value: dict(
                Counter(f"{e.method} {e.path} {e.status}" for e in c.log.entries if e.status >= 400)
            )
            for p, c in self.suite.controls.items()
        }
        faults = {
            p.value: dict(Counter(e.fault for e in c.log.entries if e.fault is not None))
            for p, c in self.suite.controls.items()
        }
        return JSONResponse({"calls": calls, "failed": failed, "faults": faults})

    async def _reset(self, _: Request) -> JSONResponse:
        for control in self.suite.controls.values():
            control.log.clear()
        return JSONResponse({"status": "ok"})

    async def _latency(self, request: Request) -> JSONResponse:
        try:
            ms = float(request.query_params["ms"])
        except (KeyError, ValueError):
            return JSONResponse({"error": "ms must be a number"}, status_code=400)
        for control in self.suite.controls.values():
            control.latency_ms = ms
        return JSONResponse({"latency_ms": ms})

    async def _quotas(self, request: Request) -> JSONResponse:
        metered = request.query_params.get("metered")
        if metered not in ("0", "1"):
            return JSONResponse({"error": "metered must be 0 or 1"}, status_code=400)
        for control in self.suite.controls.values():
            control.metered = metered == "1"
        return JSONResponse({"metered": metered == "1"})

    async def _faults(self, request: Request) -> JSONResponse:
        params = request.query_params
        try:
            rate = float(params["rate"])
            kinds = parse_fault_kinds(params["kinds"]) if "kinds" in params else None
            slow_ms = float(params["slow_ms"]) if "slow_ms" in params else None
            regain = (
                check_regain_minutes(int(params["regain_minutes"]))
                if "regain_minutes" in params
                else None
            )
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": f"bad fault settings: {exc}"}, status_code=400)
        if not 0.0 <= rate <= 1.0:
            return JSONResponse({"error": "rate must be between 0 and 1"}, status_code=400)
        for control in self.suite.controls.values():
            control.fault_rate = rate
            if kinds is not None:
                control.faults = kinds
            if slow_ms is not None:
                control.slow_ms = slow_ms
            if regain is not None:
                control.throttle_regain_minutes = regain
        control = next(iter(self.suite.controls.values()))
        return JSONResponse(
            {
                "rate": rate,
                "kinds": list(control.faults),
                "slow_ms": control.slow_ms,
                "regain_minutes": control.throttle_regain_minutes,
            }
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Seed the sandboxes, write the gateway configuration, serve until terminated."""
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox_proc")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--large-adsets", type=int, default=1200)
    parser.add_argument("--write-config", metavar="FILE")
    parser.add_argument(
        "--unmetered", action="store_true", help="start with the simulated quotas out of play"
    )
    args = parser.parse_args(argv)
    suite = SandboxSuite.build(large_adsets=args.large_adsets, latency_ms=args.latency_ms)
    for control in suite.controls.values():
        control.metered = not args.unmetered
    if args.write_config:
        text = suite.config_toml(f"http://{args.host}:{args.port}")
        Path(args.write_config).write_text(text, encoding="utf-8")
    uvicorn.run(BenchSandboxApp(suite), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
