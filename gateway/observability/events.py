"""Events of the resilience policy and the upstream seam: a log line each, the app's metrics,
and the counters of the request they happen for (see ``context``)."""

from __future__ import annotations

import logging

from gateway.observability.context import current

log = logging.getLogger("gateway.events")


def upstream_call(platform: str, outcome: str, seconds: float) -> None:
    """One call to a platform ended (``outcome``: see ``metrics.Metrics.client_duration``)."""
    scope = current()
    if scope is None:
        return
    scope.upstream_calls += 1
    scope.metrics.observe_client(platform, outcome, seconds)


def retry(platform: str, account_id: str, attempt: int, wait: float, reason: str) -> None:
    """A failed call is tried again after ``wait`` seconds."""
    log.info(
        "upstream retry",
        extra={
            "event": "retry",
            "platform": platform,
            "account_id": account_id,
            "attempt": attempt,
            "wait_s": round(wait, 3),
            "reason": reason,
        },
    )
    scope = current()
    if scope is not None:
        scope.retries += 1
        scope.metrics.retries.labels(platform).inc()


def throttled(platform: str, throttle_scope: tuple[str, str], seconds: float) -> None:
    """A platform said to stop calling an account (TikTok: the app) for ``seconds``."""
    log.warning(
        "upstream throttled",
        extra={
            "event": "throttled",
            "platform": platform,
            "account_id": throttle_scope[1],
            "regain_s": round(seconds, 3),
        },
    )
    scope = current()
    if scope is not None:
        scope.metrics.throttled(throttle_scope, seconds)


def throttle_block(platform: str, account_id: str, seconds: float) -> None:
    """A call was not made because its account is throttled for longer than we wait."""
    log.info(
        "throttle block",
        extra={
            "event": "throttle_block",
            "platform": platform,
            "account_id": account_id,
            "retry_after_s": round(seconds, 3),
        },
    )


def breaker_transition(key: tuple[str, str], old: str, new: str) -> None:
    """A circuit changed state (closed, open, half_open)."""
    level = logging.WARNING if new == "open" else logging.INFO
    log.log(
        level,
        "breaker %s -> %s",
        old,
        new,
        extra={"event": "breaker", "platform": key[0], "account_id": key[1], "state": new},
    )
    scope = current()
    if scope is not None:
        scope.metrics.breaker(key, new)


def graphql_outcome(operation_name: str | None, outcome: str) -> None:
    """A GraphQL request ended: ``ok``, ``partial`` (data with errors) or ``error`` (nothing
    executed)."""
    scope = current()
    if scope is not None:
        scope.operation = operation_name
        scope.metrics.graphql_operation(operation_name, outcome)
