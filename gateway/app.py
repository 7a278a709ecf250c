"""The application factory: wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.auth import Authenticator, Principal, digest_key
from gateway.config import Settings
from gateway.coordination import Coordinator, degraded_probe, open_coordinator
from gateway.docs_page import docs_routes
from gateway.graphiql import graphiql_routes
from gateway.graphql_http import GraphQLEndpoint
from gateway.listing.service import ListingService
from gateway.loaders import stop_leftover_reads
from gateway.middleware import SANDBOX_MODE, BodyLimit, ModeAwareStarlette
from gateway.observability.metrics import Metrics
from gateway.observability.requests import RequestObserver
from gateway.observability.tracing import Tracing
from gateway.openapi import openapi_document
from gateway.platforms import registry
from gateway.platforms.base import AccountRef, AdPlatform, Platform, WarmsUp
from gateway.platforms.pool import NetworkUpstream, SharedTls, upstream_pool
from gateway.platforms.readahead import ReadAhead
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


#: The longest start-up waits for the clients' warm-up (token requests) before the instance
#: says it is ready anyway: what did not finish is met again by the first request.
WARM_UP_SECONDS = 10.0
#: Connections opened ahead per configured account (a first page calls each about two or
#: three times at once: its listing and its details; Apple: two phases and its campaigns),
#: and at most this many per platform.
PRECONNECT_PER_ACCOUNT = 3
PRECONNECT_MAX = 16


@dataclass
class Startup:
    """What start-up prepares so that a first request does not pay for it: the network pools
    (a connector each, over the one TLS context, built only if an upstream speaks https) and the
    clients that warm up (with their configured accounts), and the connections worth opening
    ahead (pool, base URL, how many)."""

    tls: SharedTls = field(default_factory=SharedTls)
    pools: list[NetworkUpstream] = field(default_factory=list)
    warm_ups: list[tuple[WarmsUp, tuple[AccountRef, ...]]] = field(default_factory=list)
    preconnects: list[tuple[NetworkUpstream, str, int]] = field(default_factory=list)
    #: The warm-up running in the background; done once start-up is over.
    warming: asyncio.Task[None] | None = None

    @property
    def done(self) -> bool:
        return self.warming is not None and self.warming.done()

    async def over(self) -> None:
        """Wait until start-up is over (as an orchestrator waits for ``/readyz``)."""
        assert self.warming is not None, "start_runtime was not called"
        await asyncio.shield(self.warming)


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
    startup: Startup = field(default_factory=Startup)


def build_clients(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None,
    state: ResilienceState,
    startup: Startup | None = None,
) -> tuple[dict[Platform, AdPlatform], list[Upstream]]:
    """One resilient client per platform, built by the platform's factory, each with its own
    timeouts and connection pool (and its shared call budget, when configured). What the
    pools and clients prepare at start-up is listed in ``startup``."""
    startup = startup or Startup()
    accounts = _accounts_by_platform(settings)
    clients: dict[Platform, AdPlatform] = {}
    pools: list[Upstream] = []
    for platform, ps in settings.platforms.items():
        timeout = httpx.Timeout(
            connect=ps.connect_timeout,
            read=ps.read_timeout,
            write=ps.read_timeout,
            pool=ps.pool_timeout,
        )
        pool = upstream_pool(timeout, transport, tls=startup.tls, urls=(ps.base_url, ps.token_url))
        if isinstance(pool, NetworkUpstream):
            startup.pools.append(pool)
            ahead = min(PRECONNECT_MAX, PRECONNECT_PER_ACCOUNT * len(accounts.get(platform, ())))
            if ahead:
                startup.preconnects.append((pool, ps.base_url, ahead))
        http: Upstream = pool
        if ps.budget is not None:
            http = BudgetedUpstream(
                http, platform=platform, budget=ps.budget, coordinator=state.coordinator
            )
        pools.append(http)
        inner = registry.factory(platform).client(http, ps)
        if isinstance(inner, WarmsUp) and accounts.get(platform):
            startup.warm_ups.append((inner, accounts[platform]))
        policy = RetryPolicy(max_attempts=ps.max_attempts, deadline=ps.deadline)
        clients[platform] = ResilientPlatform(inner, policy=policy, state=state)
    return clients, pools


def read_ahead(
    clients: Mapping[Platform, AdPlatform], metrics: Metrics
) -> dict[Platform, AdPlatform]:
    """Each client wrapped to read a walk's next page ahead (``platforms.readahead``), its
    reads counted in ``metrics``."""

    def wrapped(client: AdPlatform) -> ReadAhead:
        platform = client.platform.value
        return ReadAhead(client, outcome=lambda outcome: metrics.read_ahead(platform, outcome))

    return {platform: wrapped(client) for platform, client in clients.items()}


def _accounts_by_platform(settings: Settings) -> dict[Platform, tuple[AccountRef, ...]]:
    """Each platform's configured accounts, once each (projects may share one)."""
    found: dict[Platform, dict[AccountRef, None]] = {}
    for project in settings.projects:
        for account in project.ad_accounts:
            found.setdefault(account.platform, {})[account] = None
    return {platform: tuple(refs) for platform, refs in found.items()}


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
    degraded = degraded_probe(coordinator)
    if degraded is not None:
        metrics.shared_state_degraded = degraded
    state = ResilienceState(
        throttles=ThrottleState(max_regain=settings.max_regain_seconds), coordinator=coordinator
    )
    startup = Startup()
    clients, pools = build_clients(settings, transport, state, startup)
    if settings.read_ahead:
        clients = read_ahead(clients, metrics)
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
    runtime = Runtime(settings, store, pools, clients, service, authenticator, coordinator, startup)
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
            await start_runtime(runtime)
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
            *probe_routes(settings, store, started=lambda: startup.done),
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


@contextlib.asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[None]:
    """The app's lifespan as a server runs it: start-up (``start_runtime``) on the way in,
    ``close_runtime`` on the way out. For serving the app in-process (tests, tools)."""
    async with app.router.lifespan_context(app):
        yield


async def start_runtime(runtime: Runtime) -> None:
    """Start-up, run by the app's lifespan before it serves: what a first request would
    otherwise pay is done here, once.

    The network pools open their connectors, over the one TLS context built in a worker thread
    when an upstream speaks https (none at all for http:// upstreams). Then, in the background
    and for at most ``WARM_UP_SECONDS``, the pools open connections to their platforms (a
    connect only: no request, no quota spent) and the clients warm up (Apple fetches an
    access token per API user and keeps it fresh). The server already answers (``/healthz``);
    ``/readyz`` says ready once the warm-up is over. A second call does nothing."""
    startup = runtime.startup
    if startup.warming is not None:
        return
    await asyncio.gather(*(pool.start() for pool in startup.pools))
    startup.warming = asyncio.create_task(_warm_up(startup))


async def _warm_up(startup: Startup) -> None:
    tasks: list[asyncio.Task[object]] = [
        asyncio.create_task(pool.preconnect(url, count), name=f"preconnect to {url}")
        for pool, url, count in startup.preconnects
    ]
    tasks += [
        asyncio.create_task(client.warm_up(refs), name=f"{type(client).__name__}.warm_up")
        for client, refs in startup.warm_ups
    ]
    if not tasks:
        return
    try:
        _, late = await asyncio.wait(tasks, timeout=WARM_UP_SECONDS)
        if late:
            log.warning(
                "start-up: warm-up still running after %gs; left to requests", WARM_UP_SECONDS
            )
    finally:
        # Timed out or shut down: the first requests fetch what is missing themselves. Each
        # task is waited for and its error read here, so none runs on past shutdown nor fails
        # unseen (the warm-ups are not meant to raise: one that does is a bug worth a trace).
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for task, outcome in zip(tasks, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error("start-up: warm-up %s failed", task.get_name(), exc_info=outcome)


async def close_runtime(runtime: Runtime) -> None:
    """Close what the app owns (clients, connection pool, database)."""
    warming = runtime.startup.warming
    if warming is not None and not warming.done():
        warming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await warming
    await stop_leftover_reads(runtime.clients.values())
    for client in runtime.clients.values():
        await client.aclose()
    for http in runtime.http:
        await http.aclose()
    await runtime.authenticator.aclose()
    await runtime.store.close()
    await runtime.coordinator.aclose()
