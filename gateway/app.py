"""The application factory: wiring only."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.auth import Authenticator, Principal, digest_key
from gateway.config import Settings
from gateway.coordination import Coordinator, FallbackCoordinator, open_coordinator
from gateway.docs_page import docs_routes
from gateway.graphiql import graphiql_routes
from gateway.graphql_http import GraphQLEndpoint
from gateway.listing.service import ListingService
from gateway.middleware import SANDBOX_MODE, BodyLimit, ModeAwareStarlette
from gateway.observability.metrics import Metrics
from gateway.observability.requests import RequestObserver
from gateway.observability.tracing import Tracing
from gateway.openapi import openapi_document
from gateway.platforms import registry
from gateway.platforms.base import AdPlatform, Platform
from gateway.platforms.pool import upstream_pool
from gateway.platforms.upstream import Upstream
from gateway.probes import probe_routes
from gateway.ratelimit import RateLimitMiddleware
from gateway.resilience.backoff import RetryPolicy
from gateway.resilience.budget import BudgetedUpstream
from gateway.resilience.client import ResilienceState, ResilientPlatform
from gateway.resilience.throttle import ThrottleState
from gateway.responses import EXCEPTION_HANDLERS, json_response
from gateway.rest import AdSetsEndpoint
from gateway.schema import build_schema
from gateway.store import Store, open_store

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

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
    coordinator: Coordinator


def build_clients(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None,
    state: ResilienceState,
) -> tuple[dict[Platform, AdPlatform], list[Upstream]]:
    """One resilient client per platform, built by the platform's factory, each with its own
    timeouts and connection pool (and its shared call budget, when configured)."""
    clients: dict[Platform, AdPlatform] = {}
    pools: list[Upstream] = []
    for platform, ps in settings.platforms.items():
        timeout = httpx.Timeout(
            connect=ps.connect_timeout,
            read=ps.read_timeout,
            write=ps.read_timeout,
            pool=ps.pool_timeout,
        )
        http: Upstream = upstream_pool(timeout, transport)
        if ps.budget is not None:
            http = BudgetedUpstream(
                http, platform=platform, budget=ps.budget, coordinator=state.coordinator
            )
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
    coordinator: Coordinator | None = None,
    metrics_route: bool = True,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """The gateway app. ``transport`` replaces the network (sandboxes in-process, tests).

    ``demo_key`` makes it the sandbox demo: the key is accepted for the first project,
    GraphiQL and the docs page are pre-filled with it, and every response says
    ``X-Gateway-Mode: sandbox``. ``coordinator`` replaces the one ``settings.redis`` names
    (tests running several apps on one shared state).

    The app's metrics (``app.state.metrics``) are served at ``/metrics`` unless
    ``metrics_route`` is false (``gateway serve --metrics-port`` serves them apart); a
    ``tracer_provider`` turns on OpenTelemetry spans.
    """
    metrics = Metrics()
    tracing = Tracing(tracer_provider)
    store = store or open_store(settings.database)
    coordinator = coordinator or open_coordinator(settings.redis, settings.redis_prefix)
    if isinstance(coordinator, FallbackCoordinator):
        metrics.shared_state_degraded = lambda: coordinator.degraded
    state = ResilienceState(
        throttles=ThrottleState(max_regain=settings.max_regain_seconds), coordinator=coordinator
    )
    clients, pools = build_clients(settings, transport, state)
    # Size hints are worth a round trip only when another process can use them.
    hints_shared_by = coordinator if settings.redis is not None else None
    service = ListingService(settings, clients, store, coordinator=hints_shared_by)
    authenticator = Authenticator(settings, store)
    demo_headers = demo_variables = None
    if demo_key is not None and settings.projects:
        project = settings.projects[0]
        authenticator.add(digest_key(demo_key), Principal(project.id, frozenset({"ads:read"})))
        demo_headers = json.dumps({"Authorization": f"Bearer {demo_key}"})
        demo_variables = json.dumps({"projectId": project.id}, indent=2)
    runtime = Runtime(settings, store, pools, clients, service, authenticator, coordinator)
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
        # The API's two routes first: the router tries each route's pattern in turn, and no
        # two patterns overlap, so the order changes nothing but the cost of a lookup.
        routes=[
            Route("/v1/projects/{project_id}/ads/adsets", adsets.handle, methods=["GET"]),
            Route("/graphql", graphql.handle, methods=["GET", "POST"]),
            Route("/", index),
            *probe_routes(settings, store),
            Route("/openapi.json", openapi),
            *graphiql_routes(endpoint="/graphql", static_prefix="/graphiql/static"),
            *docs_routes(openapi_url="/openapi.json", demo_key=demo_key),
            *([Route("/metrics", metrics.endpoint)] if metrics_route else []),
        ],
        middleware=[
            Middleware(BodyLimit),
            Middleware(
                RateLimitMiddleware,
                authenticator=authenticator,
                coordinator=coordinator,
                limits=settings.rate_limit,
            ),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
        mode=SANDBOX_MODE if demo_key is not None else None,
        cors_origins=settings.cors_origins,
        outer=lambda stack, headers: RequestObserver(stack, metrics, tracing, headers),
    )
    app.state.runtime = runtime
    app.state.metrics = metrics
    return app


async def close_runtime(runtime: Runtime) -> None:
    """Close what the app owns (clients, connection pool, database)."""
    for client in runtime.clients.values():
        await client.aclose()
    for http in runtime.http:
        await http.aclose()
    await runtime.authenticator.aclose()
    await runtime.store.close()
    await runtime.coordinator.aclose()
