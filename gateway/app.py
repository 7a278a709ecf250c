"""The application factory: wiring only."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.auth import Authenticator, Principal, digest_key
from gateway.config import Settings
from gateway.docs_page import docs_routes
from gateway.graphiql import graphiql_routes
from gateway.graphql_http import GraphQLEndpoint
from gateway.listing.service import ListingService
from gateway.middleware import SANDBOX_MODE, BodyLimit, ModeAwareStarlette, NoSniff, cors_middleware
from gateway.openapi import openapi_document
from gateway.platforms import registry
from gateway.platforms.base import AdPlatform, Platform
from gateway.platforms.pool import upstream_pool
from gateway.platforms.upstream import Upstream
from gateway.probes import probe_routes
from gateway.resilience.backoff import RetryPolicy
from gateway.resilience.client import ResilienceState, ResilientPlatform
from gateway.resilience.throttle import ThrottleState
from gateway.responses import EXCEPTION_HANDLERS, json_response
from gateway.rest import AdSetsEndpoint
from gateway.schema import build_schema
from gateway.store import Store, open_store

log = logging.getLogger("gateway")


@dataclass
class Runtime:
    """What the app holds for its lifetime."""

    settings: Settings
    store: Store
    http: list[Upstream]
    clients: dict[Platform, AdPlatform]
    service: ListingService
    authenticator: Authenticator


def build_clients(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None,
    state: ResilienceState,
) -> tuple[dict[Platform, AdPlatform], list[Upstream]]:
    """One resilient client per platform, built by the platform's factory, each with its own
    timeouts and connection pool."""
    clients: dict[Platform, AdPlatform] = {}
    pools: list[Upstream] = []
    for platform, ps in settings.platforms.items():
        timeout = httpx.Timeout(
            connect=ps.connect_timeout,
            read=ps.read_timeout,
            write=ps.read_timeout,
            pool=ps.pool_timeout,
        )
        http = upstream_pool(timeout, transport)
        pools.append(http)
        inner = registry.factory(platform).client(http, ps)
        policy = RetryPolicy(max_attempts=ps.max_attempts, deadline=ps.deadline)
        clients[platform] = ResilientPlatform(inner, policy=policy, state=state)
    return clients, pools


def create_app(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    store: Store | None = None,
    demo_key: str | None = None,
) -> Starlette:
    """The gateway app. ``transport`` replaces the network (sandboxes in-process, tests).

    ``demo_key`` makes it the sandbox demo: the key is accepted for the first project,
    GraphiQL and the docs page are pre-filled with it, and every response says
    ``X-Gateway-Mode: sandbox``.
    """
    store = store or open_store(settings.database)
    state = ResilienceState(throttles=ThrottleState(max_regain=settings.max_regain_seconds))
    clients, pools = build_clients(settings, transport, state)
    service = ListingService(settings, clients, store)
    authenticator = Authenticator(settings, store)
    demo_headers = demo_variables = None
    if demo_key is not None and settings.projects:
        project = settings.projects[0]
        authenticator.add(digest_key(demo_key), Principal(project.id, frozenset({"ads:read"})))
        demo_headers = json.dumps({"Authorization": f"Bearer {demo_key}"})
        demo_variables = json.dumps({"projectId": project.id}, indent=2)
    runtime = Runtime(settings, store, pools, clients, service, authenticator)
    graphql = GraphQLEndpoint(
        build_schema(introspection=settings.graphql_introspection),
        service,
        authenticator,
        demo_headers=demo_headers,
        demo_variables=demo_variables,
        suggestions=settings.graphql_introspection,
    )
    adsets = AdSetsEndpoint(service, authenticator)

    async def openapi(_: Request) -> Response:
        return json_response(openapi_document())

    async def index(_: Request) -> Response:
        return json_response(
            {
                "graphql": "/graphql",
                "graphiql": "/graphql (open in a browser)",
                "rest": "/v1/projects/{projectId}/ads/adsets",
                "openapi": "/openapi.json",
                "docs": "/docs",
                "health": "/healthz",
                "readiness": "/readyz",
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await close_runtime(runtime)

    app = ModeAwareStarlette(
        routes=[
            Route("/", index),
            *probe_routes(settings, store),
            Route("/graphql", graphql.handle, methods=["GET", "POST"]),
            Route("/v1/projects/{project_id}/ads/adsets", adsets.handle, methods=["GET"]),
            Route("/openapi.json", openapi),
            *graphiql_routes(endpoint="/graphql", static_prefix="/graphiql/static"),
            *docs_routes(openapi_url="/openapi.json", demo_key=demo_key),
        ],
        middleware=[
            Middleware(NoSniff),
            Middleware(BodyLimit),
            *cors_middleware(settings.cors_origins),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
        mode=SANDBOX_MODE if demo_key is not None else None,
    )
    app.state.runtime = runtime
    return app


async def close_runtime(runtime: Runtime) -> None:
    """Close what the app owns (clients, connection pool, database)."""
    for client in runtime.clients.values():
        await client.aclose()
    for http in runtime.http:
        await http.aclose()
    await runtime.authenticator.aclose()
    await runtime.store.close()
