"""Coordination state shared by the gateway's instances (design.md section 7).

base.py      the Coordinator interface: throttles, usage, circuits, size hints, token buckets
local.py     InProcessCoordinator: the default, one process's dictionaries
redis.py     RedisCoordinator: shared through Redis, atomic steps as server-side scripts
fallback.py  FallbackCoordinator: Redis while it answers, local state while it does not
"""

from __future__ import annotations

from gateway.coordination.base import AccountState, BucketGrant, Coordinator
from gateway.coordination.fallback import FallbackCoordinator
from gateway.coordination.local import InProcessCoordinator
from gateway.coordination.redis import RedisCoordinator

__all__ = [
    "AccountState",
    "BucketGrant",
    "Coordinator",
    "FallbackCoordinator",
    "InProcessCoordinator",
    "RedisCoordinator",
    "open_coordinator",
]


def open_coordinator(redis_url: str | None, prefix: str = "gateway:") -> Coordinator:
    """In-process state without ``redis_url``; else Redis, falling back to local state while
    it cannot be reached."""
    if redis_url is None:
        return InProcessCoordinator()
    return FallbackCoordinator(RedisCoordinator.from_url(redis_url, prefix))
