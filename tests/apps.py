"""The gateway over the in-process sandboxes, as the end-to-end fault tests build it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from starlette.applications import Starlette

from gateway.app import close_runtime, create_app
from gateway.sandbox.suite import SandboxSuite
from tests.gateway.conftest import KEY


@asynccontextmanager
async def gateway_with_deadline(suite: SandboxSuite, deadline: float) -> AsyncIterator[Starlette]:
    """The gateway on ``suite`` (knobs and logs reset before and after), accepting ``KEY``, with
    every platform's upstream deadline set to ``deadline`` seconds so "slow" faults end soon."""
    suite.reset()
    settings = suite.settings(key=KEY)
    platforms = {p: replace(ps, deadline=deadline) for p, ps in settings.platforms.items()}
    app = create_app(replace(settings, platforms=platforms), transport=suite.transport())
    try:
        yield app
    finally:
        await close_runtime(app.state.runtime)
        suite.reset()
