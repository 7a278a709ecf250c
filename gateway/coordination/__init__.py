"""Coordination state shared by the gateway's instances (design.md section 7).

base.py      the Coordinator interface: throttles, usage, circuits, size hints, token buckets
local.py     InProcessCoordinator: the default, one process's dictionaries
redis.py     RedisCoordinator: shared through Redis, atomic steps as server-side scripts
fallback.py  FallbackCoordinator: Redis while it answers, local state while it does not

The Redis modules are imported on first use: the Redis client library costs about 16 MiB of
resident memory, which a gateway without ``redis`` configured would otherwise carry for nothing.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from gateway.coordination.base import AccountState, BucketGrant, Coordinator
from gateway.coordination.local import InProcessCoordinator

if TYPE_CHECKING:
    from gateway.coordination.fallback import FallbackCoordinator
    from gateway.coordination.redis import RedisCoordinator

__all__ = [
    "AccountState",
    "BucketGrant",
    "Coordinator",
    "FallbackCoordinator",
    "InProcessCoordinator",
    "RedisCoordinator",
    "degraded_probe",
    "open_coordinator",
]

#: Names exported here whose modules import the Redis client, by module.
_LAZY = {
    "FallbackCoordinator": "gateway.coordination.fallback",
    "RedisCoordinator": "gateway.coordination.redis",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def open_coordinator(redis_url: str | None, prefix: str = "gateway:") -> Coordinator:
    """In-process state without ``redis_url``; else Redis, falling back to local state while
    it cannot be reached."""
    if redis_url is None:
        return InProcessCoordinator()
    from gateway.coordination.fallback import FallbackCoordinator
    from gateway.coordination.redis import RedisCoordinator

    return FallbackCoordinator(RedisCoordinator.from_url(redis_url, prefix))


def degraded_probe(coordinator: Coordinator) -> Callable[[], bool] | None:
    """Whether shared state is degraded now, for a coordinator that can fall back; else None.

    Looked up without importing the fallback module: a ``FallbackCoordinator`` exists only if
    its module was imported already.
    """
    fallback = sys.modules.get("gateway.coordination.fallback")
    if fallback is None or not isinstance(coordinator, fallback.FallbackCoordinator):
        return None
    falls_back = cast("FallbackCoordinator", coordinator)
    return lambda: falls_back.degraded
