"""Liveness and readiness probes for orchestrators: no authentication, JSON bodies.

``/healthz`` answers while the process serves requests and checks nothing else, so a
restart is never triggered by a dependency being down. ``/readyz`` says whether this
instance can serve traffic: its configuration is loaded, its start-up is over (connection
pools open, clients warmed up: ``app.start_runtime``) and its store answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.config import Settings
from gateway.responses import json_response

log = logging.getLogger("gateway.probes")


class Pingable(Protocol):
    """A dependency with a cheap round trip (the store: ``SELECT 1``)."""

    async def ping(self) -> None: ...


def probe_routes(
    settings: Settings, store: Pingable, *, started: Callable[[], bool] = lambda: True
) -> list[Route]:
    """``/healthz`` and ``/readyz`` over the app's own settings and store; ``started`` says
    whether start-up is over (``startup`` is ``pending`` until then)."""

    async def healthz(_: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = {"configuration": "ok", "startup": "ok" if started() else "pending", "store": "ok"}
        try:
            await store.ping()
        except Exception as exc:  # any failure means "not ready", never a 500
            log.warning("readiness: store ping failed (%s)", type(exc).__name__)
            checks["store"] = "failed"
        ready = all(v == "ok" for v in checks.values())
        body = {
            "status": "ready" if ready else "not_ready",
            "checks": checks,
            "projects": len(settings.projects),
        }
        return json_response(body, 200 if ready else 503)

    return [Route("/healthz", healthz), Route("/readyz", readyz)]
