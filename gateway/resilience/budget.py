"""A shared call budget per platform account, counted on the wire: every request sent for an
account (a listing page, the account read a mapping needs, a token exchange) takes one token
of the account's bucket in the coordinator, so all instances together never exceed it.

The account a request is for is set by ``ResilientPlatform`` around each of its calls
(``calling_account``); the platform clients below it need not know about budgets. A request
that finds the bucket empty waits for the next token when it comes within ``max_wait``, else
fails as a platform throttle would (``RateLimitedError`` with the wait as ``retry_after``): the
resilience layer then leaves the account alone until then and the client gets 503
``upstream_throttled`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar

from gateway.coordination import Coordinator
from gateway.errors import BudgetSpentError
from gateway.platforms.base import Platform
from gateway.platforms.factory import CallBudget
from gateway.platforms.upstream import Reply, Upstream

#: The external ID of the account the current resilient call is for.
calling_account: ContextVar[str | None] = ContextVar("calling_account", default=None)

#: The longest a request waits for a token before the client is told to come back.
MAX_WAIT = 1.0


class BudgetedUpstream:
    """An ``Upstream`` that takes a budget token before each request for an account."""

    def __init__(
        self,
        inner: Upstream,
        *,
        platform: Platform,
        budget: CallBudget,
        coordinator: Coordinator,
        max_wait: float = MAX_WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._inner = inner
        self._platform = platform
        self._budget = budget
        self._coordinator = coordinator
        self._max_wait = max_wait
        self._sleep = sleep

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> Reply:
        account = calling_account.get()
        if account is not None:
            await self._take(account)
        return await self._inner.exchange(method, url, headers, content)

    async def _take(self, account: str) -> None:
        bucket = f"budget:{self._platform.value}:{account}"
        waited = 0.0
        while True:
            grant = await self._coordinator.take(
                bucket, self._budget.calls, self._budget.per_seconds
            )
            if grant.granted:
                return
            if waited + grant.wait > self._max_wait:
                raise BudgetSpentError(
                    f"the gateway's call budget for this {self._platform.value} account is "
                    "spent; not calling it again yet",
                    platform=self._platform.value,
                    account_id=account,
                    retry_after=grant.wait,
                )
            waited += grant.wait
            await self._sleep(grant.wait)

    async def aclose(self) -> None:
        await self._inner.aclose()
