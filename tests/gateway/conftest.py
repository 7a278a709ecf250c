"""The gateway app over in-process sandboxes, as tests use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app, running
from gateway.auth import Principal
from gateway.config import Settings
from gateway.sandbox.suite import DEMO_PROJECT_ID, SandboxSuite
from gateway.schema.context import GraphQLContext

KEY = "lp_test_key_for_tests"
PROJECT = DEMO_PROJECT_ID
AUTH = {"Authorization": f"Bearer {KEY}"}
ADSETS = f"/v1/projects/{PROJECT}/ads/adsets"


@dataclass(repr=False)  # property tests print their arguments on failure; this one is huge
class Gateway:
    """A gateway app over the sandboxes and an HTTP client for it."""

    http: httpx.AsyncClient
    suite: SandboxSuite
    settings: Settings
    app: Starlette

    async def rest(
        self,
        params: Any = None,
        headers: dict[str, str] = AUTH,
        path: str = ADSETS,
    ) -> httpx.Response:
        return await self.http.get(path, params=params, headers=headers)

    async def graphql(
        self, query: str, variables: dict[str, object] | None = None
    ) -> httpx.Response:
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=AUTH
        )

    def reader_context(self) -> GraphQLContext:
        """A GraphQL request's context for a reader of the test project (for executing
        documents on a schema directly)."""
        service = self.app.state.runtime.service
        return GraphQLContext(
            principal=Principal(PROJECT, frozenset({"ads:read"})),
            service=service,
            loaders=service.loaders(PROJECT),
        )


@asynccontextmanager
async def started_gateway(suite: SandboxSuite, settings: Settings) -> AsyncIterator[Gateway]:
    """A gateway with ``settings`` over the sandboxes, started and stopped by its lifespan as
    a server runs it, its start-up calls out of the sandboxes' logs."""
    suite.reset()
    app = create_app(settings, transport=suite.transport())
    try:
        async with (
            running(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
            ) as http,
        ):
            await app.state.runtime.startup.over()
            for control in suite.controls.values():
                control.log.clear()  # what tests count is what their requests sent
            yield Gateway(http, suite, settings, app)
    finally:
        suite.reset()


@pytest.fixture
async def gateway(suite: SandboxSuite) -> AsyncIterator[Gateway]:
    async with started_gateway(suite, suite.settings(key=KEY)) as started:
        yield started
