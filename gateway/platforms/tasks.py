"""Upstream calls side by side: a TaskGroup whose failure is the first error itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


@asynccontextmanager
async def side_by_side() -> AsyncIterator[asyncio.TaskGroup]:
    """An ``asyncio.TaskGroup`` (a failure cancels the other tasks and the body, and nothing
    outlives the block) that raises the first failure as it is, not in an ExceptionGroup.

    The calls of one listing are for one account: a second failure among them says nothing
    the first does not, and callers keep catching ``UpstreamError`` as the single error it is.
    Cancellation of the caller and KeyboardInterrupt pass through as TaskGroup raises them.
    """
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failed:
        first = failed.exceptions[0]
    else:
        return
    raise first
