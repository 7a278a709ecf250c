"""Coordinators to test against: in-process always, Redis when ``GATEWAY_TEST_REDIS_URL`` is set.

Without the variable the Redis cases are skipped with that reason, except in CI (``CI=true``),
where a missing variable or an unreachable server fails them. Each test uses its own key
prefix, deleted afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from redis import Redis

from gateway.coordination import Coordinator, InProcessCoordinator, RedisCoordinator

REDIS_ENV = "GATEWAY_TEST_REDIS_URL"


def redis_test_url() -> str:
    """The test server's URL, or a skip (a failure in CI) naming the variable."""
    url = os.environ.get(REDIS_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"{REDIS_ENV} is not set; CI must run the Redis tests (.ci/run)")
    pytest.skip(f"{REDIS_ENV} is not set: Redis coordination tests skipped (.ci/run sets it)")


@pytest.fixture
def redis_prefix() -> Iterator[tuple[str, str]]:
    """(URL, a fresh key prefix); the prefix's keys are deleted afterwards."""
    url = redis_test_url()
    prefix = f"gw_test_{secrets.token_hex(6)}:"
    with Redis.from_url(url, socket_connect_timeout=2) as client:
        client.ping()  # unreachable: an error, never a skip
        yield url, prefix
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(params=["in_process", "redis"])
async def coordinator(request: pytest.FixtureRequest) -> AsyncIterator[Coordinator]:
    """A coordinator of each kind, on empty state."""
    if request.param == "in_process":
        yield InProcessCoordinator()
        return
    url, prefix = request.getfixturevalue("redis_prefix")
    shared = RedisCoordinator.from_url(url, prefix)
    try:
        yield shared
    finally:
        await shared.aclose()
