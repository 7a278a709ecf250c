"""Prometheus metrics with OpenTelemetry's semantic names, in one registry per app.

Labels stay bounded: routes are templates (an unknown path is ``other``), statuses are
numbers, platforms and outcomes are fixed sets, and GraphQL operation names are cut to a safe
shape and capped in number. Account ids never become labels: breaker states are counted by
platform and state, throttled accounts by platform.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

UNKNOWN_ROUTE: Final = "other"
#: Distinct GraphQL operation names kept as labels; later names count as ``other``.
MAX_OPERATION_NAMES: Final = 50
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
BREAKER_STATES: Final = ("closed", "open", "half_open")

#: Seconds: upstream calls are slower than our own answers, up to the 25 s deadline.
_SERVER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CLIENT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0)


class Metrics:
    """The app's instruments and the state gauges' bookkeeping."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._clock = clock
        self.server_duration = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP requests the gateway served.",
            ["http_route", "http_request_method", "http_response_status_code"],
            buckets=_SERVER_BUCKETS,
            registry=self.registry,
        )
        self.client_duration = Histogram(
            "http_client_request_duration_seconds",
            "Duration of calls to the ad platforms, by outcome (ok, client_error, server_error, "
            "timeout, connection_error).",
            ["platform", "outcome"],
            buckets=_CLIENT_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "gateway_upstream_retries",
            "Upstream calls tried again after a failure.",
            ["platform"],
            registry=self.registry,
        )
        self.graphql_operations = Counter(
            "gateway_graphql_operations",
            "GraphQL operations by name and outcome (ok, partial, error).",
            ["operation_name", "outcome"],
            registry=self.registry,
        )
        self.read_aheads = Counter(
            "gateway_read_aheads",
            "Pages of a walk read ahead, by platform and how they ended (hit: a request took "
            "the answer; unused: dropped unread; failed), and reads that were due but not "
            "started (skipped: quota usage high, account unavailable, or too many under way).",
            ["platform", "outcome"],
            registry=self.registry,
        )
        #: Regain time (monotonic) by throttle scope (platform, account or "*").
        self._throttled: dict[tuple[str, str], float] = {}
        #: Breaker state by (platform, account); closed circuits are dropped.
        self._breakers: dict[tuple[str, str], str] = {}
        self._operation_names: set[str] = set()
        #: Whether shared state (Redis) is unreachable now; None when none is configured.
        self.shared_state_degraded: Callable[[], bool] | None = None
        self.registry.register(_StateCollector(self))
        # Each label set's child, found once: ``labels()`` validates, locks and builds a tuple
        # on every call, a few microseconds per request and per upstream call.
        self._server_children: dict[tuple[str, str, int], Histogram] = {}
        self._client_children: dict[tuple[str, str], Histogram] = {}

    def observe_server(self, route: str, method: str, status: int, seconds: float) -> None:
        """One request served: ``http_server_request_duration_seconds``."""
        key = (route, method, status)
        child = self._server_children.get(key)
        if child is None:
            child = self.server_duration.labels(route, method, str(status))
            self._server_children[key] = child
        child.observe(seconds)

    def observe_client(self, platform: str, outcome: str, seconds: float) -> None:
        """One upstream call ended: ``http_client_request_duration_seconds``."""
        key = (platform, outcome)
        child = self._client_children.get(key)
        if child is None:
            child = self.client_duration.labels(platform, outcome)
            self._client_children[key] = child
        child.observe(seconds)

    def read_ahead(self, platform: str, outcome: str) -> None:
        """A read ahead ended, or was not started (``gateway_read_aheads_total``)."""
        self.read_aheads.labels(platform, outcome).inc()

    def throttled(self, scope: tuple[str, str], seconds: float) -> None:
        until = self._clock() + seconds
        self._throttled[scope] = max(until, self._throttled.get(scope, 0.0))

    def breaker(self, key: tuple[str, str], state: str) -> None:
        if state == "closed":
            self._breakers.pop(key, None)
        else:
            self._breakers[key] = state

    def graphql_operation(self, name: str | None, outcome: str) -> None:
        self.graphql_operations.labels(self._operation_label(name), outcome).inc()

    def _operation_label(self, name: str | None) -> str:
        if name is None:
            return "anonymous"
        if not _OPERATION_NAME.match(name):
            return UNKNOWN_ROUTE
        if name not in self._operation_names:
            if len(self._operation_names) >= MAX_OPERATION_NAMES:
                return UNKNOWN_ROUTE
            self._operation_names.add(name)
        return name

    def throttled_counts(self) -> dict[str, int]:
        """Throttle scopes still blocked now, by platform (expired ones are forgotten)."""
        now = self._clock()
        for scope in [s for s, until in self._throttled.items() if until <= now]:
            del self._throttled[scope]
        counts: dict[str, int] = {}
        for platform, _ in self._throttled:
            counts[platform] = counts.get(platform, 0) + 1
        return counts

    def breaker_counts(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for (platform, _), state in self._breakers.items():
            counts[(platform, state)] = counts.get((platform, state), 0) + 1
        return counts

    def exposition(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def endpoint(self, _: Request) -> Response:
        """The ``/metrics`` route."""
        return self.exposition()


class _StateCollector(Collector):
    """Gauges read at scrape time from what the resilience events reported."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        throttled = GaugeMetricFamily(
            "gateway_throttled_accounts",
            "Ad accounts (TikTok: apps) the gateway is not calling until their regain time.",
            labels=["platform"],
        )
        for platform, count in sorted(self._metrics.throttled_counts().items()):
            throttled.add_metric([platform], count)
        yield throttled
        breakers = GaugeMetricFamily(
            "gateway_breaker_state",
            "Circuit breakers (one per platform and ad account) that are not closed, by state.",
            labels=["platform", "state"],
        )
        for (platform, state), count in sorted(self._metrics.breaker_counts().items()):
            breakers.add_metric([platform, state], count)
        yield breakers
        degraded = self._metrics.shared_state_degraded
        if degraded is not None:
            yield GaugeMetricFamily(
                "gateway_shared_state_degraded",
                "1 while Redis cannot be reached and this instance coordinates with its own "
                "state only (throttles, circuits, budgets and rate limits are then per instance).",
                value=1 if degraded() else 0,
            )
