"""``ResilientPlatform``: an AdPlatform that wraps another with the resilience policy.

Every read is idempotent, so it is retried on transport errors, 5xx, malformed bodies and
throttling: at most ``max_attempts`` tries, full-jitter backoff that honours the platform's own
wait, never past the call's deadline, and only while the retry budget allows. Throttle state and
circuit breakers are shared by all requests; a per-account semaphore caps concurrency. No call is
ever duplicated speculatively (hedging would spend the customer's quota).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from gateway.coordination import AccountState, Coordinator, InProcessCoordinator
from gateway.errors import (
    BudgetSpentError,
    RateLimitedError,
    UpstreamError,
    UpstreamUnavailableError,
)
from gateway.observability import events
from gateway.platforms.base import (
    AccountRef,
    AdAccountInfo,
    AdPlatform,
    AdSetPage,
    AdSetQuery,
    CampaignRecord,
    Platform,
    ReportsUsage,
    warms_campaigns,
)
from gateway.platforms.delegating import Delegating
from gateway.resilience.backoff import RetryBudget, RetryPolicy
from gateway.resilience.breaker import CircuitBreakers
from gateway.resilience.budget import calling_account
from gateway.resilience.throttle import ThrottleState, throttle_scope

T = TypeVar("T")

#: Meta usage (percent of quota) above which calls are spaced out.
SLOW_DOWN_AT = 90.0
#: How long a reported usage level is shared with the other instances.
USAGE_TTL = 300.0


@dataclass
class ResilienceState:
    """Process-wide state shared by every request: throttles, breakers, budgets."""

    throttles: ThrottleState = field(default_factory=ThrottleState)
    breakers: CircuitBreakers = field(default_factory=CircuitBreakers)
    budgets: dict[Platform, RetryBudget] = field(default_factory=dict)
    #: Where throttles, usage, open circuits and call budgets are shared with other instances
    #: (this process only, unless Redis is configured).
    coordinator: Coordinator = field(default_factory=InProcessCoordinator)

    def budget(self, platform: Platform) -> RetryBudget:
        return self.budgets.setdefault(platform, RetryBudget())


@dataclass
class CallStats:
    """Counters for tests and logs."""

    attempts: int = 0
    retries: int = 0
    short_circuited: int = 0


class ResilientPlatform(Delegating):
    """Wraps a platform client with retries, throttling, breakers and a deadline.

    Also a ``KnowsAvailability``: the listing asks it which accounts would fail fast now; a
    ``ReportsUsage`` (the usage known here or shared; None unless the inner client reports
    usage); and a ``WarmsCampaigns``, passing the inner client's on (a no-op for one that keeps
    none). What reads no platform (cached campaigns and accounts) and ``aclose`` (every listing
    runs in its caller's task, so none outlives its callers) pass straight through."""

    def __init__(
        self,
        inner: AdPlatform,
        *,
        policy: RetryPolicy | None = None,
        state: ResilienceState | None = None,
        per_account_concurrency: int = 8,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(inner)
        self.policy = policy or RetryPolicy()
        self.state = state or ResilienceState()
        self.stats = CallStats()
        #: Where the inner client reports quota usage (Meta), calls are paced by it.
        self.usage: ReportsUsage | None = inner if isinstance(inner, ReportsUsage) else None
        self._concurrency = per_account_concurrency
        self._shared_usage: dict[str, float | None] = {}
        #: Times this instance published, by coordinator key: its own knowledge is already in
        #: its local state (on its own clock), so reading it back must not extend it.
        self._published: dict[str, float] = {}
        #: Identical listings running now, shared rather than sent twice.
        self._inflight: dict[tuple[object, ...], asyncio.Future[AdSetPage]] = {}
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._sleep = sleep
        self._rng = rng or random.Random()

    async def list_adsets(
        self, account: AccountRef, query: AdSetQuery, *, start: str | None, count: int
    ) -> AdSetPage:
        """One page; a request identical to one in flight (same account, query, start and
        count) waits for that one's answer instead of calling again. Nothing is kept once the
        answer is in: the next request calls the platform anew.

        The first caller makes the call in its own task (a task per call cost about 45,000
        instructions, a tenth of a warm page's four calls); the others wait for its outcome,
        shielded, so that one of them giving up cancels nothing. Should the first caller be
        cancelled, its call goes with it, and those still waiting call again themselves."""
        key = (account.external_id, query, start, count)
        while (shared := self._inflight.get(key)) is not None:
            try:
                return await asyncio.shield(shared)
            except asyncio.CancelledError:
                waiting = asyncio.current_task()
                if not shared.cancelled() or (waiting is not None and waiting.cancelling()):
                    raise
        return await self._lead(
            key, account, lambda: self.inner.list_adsets(account, query, start=start, count=count)
        )

    async def _lead(
        self,
        key: tuple[object, ...],
        account: AccountRef,
        fn: Callable[[], Awaitable[AdSetPage]],
    ) -> AdSetPage:
        """Make the call under ``key``, giving its outcome to the callers that share it."""
        shared: asyncio.Future[AdSetPage] = asyncio.get_running_loop().create_future()
        self._inflight[key] = shared
        try:
            page = await self._call(account, fn)
        except Exception as exc:
            shared.set_exception(exc)
            shared.exception()  # retrieved: there may be no one sharing it
            raise
        else:
            shared.set_result(page)
            return page
        finally:
            if not shared.done():  # cancelled (or interrupted): those waiting call again
                shared.cancel()
            if self._inflight.get(key) is shared:
                del self._inflight[key]

    async def get_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        return await self._call(account, lambda: self.inner.get_campaigns(account, campaign_ids))

    async def list_campaigns(self, account: AccountRef) -> list[CampaignRecord]:
        return await self._call(account, lambda: self.inner.list_campaigns(account))

    async def warm_campaigns(self, account: AccountRef) -> None:
        inner = self.inner
        if warms_campaigns(inner) and not inner.campaigns_warm(account):
            await self._call(account, lambda: inner.warm_campaigns(account))

    async def get_account(self, account: AccountRef) -> AdAccountInfo:
        return await self._call(account, lambda: self.inner.get_account(account))

    def last_usage_pct(self, account_external_id: str) -> float | None:
        """The highest quota usage (percent) known for the account: as the platform last
        reported it here or, shared, to another instance. None when the platform reports no
        usage (every platform but Meta) or has not yet."""
        if self.usage is None:
            return None
        levels = (
            self.usage.last_usage_pct(account_external_id),
            self._shared_usage.get(account_external_id),
        )
        return max((level for level in levels if level is not None), default=None)

    def unavailable(self, account: AccountRef) -> UpstreamError | None:
        """The error a call for ``account`` would fail fast with now (throttled past what
        the policy waits out, or an open circuit), without calling anything."""
        scope = throttle_scope(self.platform, account.external_id)
        blocked = self.state.throttles.blocked_for(scope)
        if blocked is not None and blocked > self.policy.max_wait:
            return self._throttled(account, blocked)
        cooling = self.state.breakers.cooling_for((self.platform.value, account.external_id))
        if cooling is not None:
            return self._circuit_open(account, cooling)
        return None

    def _throttled(self, account: AccountRef, seconds: float) -> RateLimitedError:
        return RateLimitedError(
            f"{self.platform.value} throttled this account; not calling it again yet",
            platform=self.platform.value,
            account_id=account.external_id,
            retry_after=seconds,
        )

    def _circuit_open(self, account: AccountRef, seconds: float) -> UpstreamUnavailableError:
        paused = f"calls paused for {seconds:.0f}s"
        return UpstreamUnavailableError(
            f"{self.platform.value} is failing for this account; {paused}",
            platform=self.platform.value,
            account_id=account.external_id,
            upstream_code="circuit_open",
            retry_after=seconds,
        )

    async def _call(self, account: AccountRef, fn: Callable[[], Awaitable[T]]) -> T:
        calling_account.set(account.external_id)  # the request budget counts it (budget.py)
        try:
            async with asyncio.timeout(self.policy.deadline):
                return await self._attempts(account, fn)
        except TimeoutError as exc:
            self.state.breakers.failure((self.platform.value, account.external_id))
            raise UpstreamUnavailableError(
                f"{self.platform.value} did not answer within {self.policy.deadline:g}s",
                platform=self.platform.value,
                account_id=account.external_id,
            ) from exc

    async def _attempts(self, account: AccountRef, fn: Callable[[], Awaitable[T]]) -> T:
        deadline = time.monotonic() + self.policy.deadline
        breaker_key = (self.platform.value, account.external_id)
        scope = throttle_scope(self.platform, account.external_id)
        budget = self.state.budget(self.platform)
        budget.record_call()
        attempt = 1
        while True:
            await self._adopt_shared(account, scope)
            blocked = self.state.throttles.blocked_for(scope)
            if blocked is not None:
                if not self._may_wait(blocked, deadline):
                    self.stats.short_circuited += 1
                    events.throttle_block(self.platform.value, account.external_id, blocked)
                    raise self._throttled(account, blocked)
                await self._sleep(blocked)  # a short regain time: wait it out, do not call
                continue
            with self.state.breakers.admit(breaker_key) as refused_for:
                if refused_for is not None:
                    self.stats.short_circuited += 1
                    raise self._circuit_open(account, refused_for)
                try:
                    async with self._semaphore(account.external_id):
                        pause = self._pause(account)
                        if pause is not None:
                            await self._sleep(pause)
                        self.stats.attempts += 1
                        result = await fn()
                except UpstreamError as exc:
                    wait = self._retry_wait(exc, attempt, scope, breaker_key, deadline, budget)
                    await self._publish_failure(exc, scope, breaker_key)
                    if wait is None:
                        raise
                    events.retry(self.platform.value, account.external_id, attempt, wait, exc.code)
                else:
                    self.state.breakers.success(breaker_key)
                    if self.usage is not None:
                        await self._publish_usage(account, self.usage)
                    return result
            self.stats.retries += 1
            attempt += 1
            await self._sleep(wait)

    def _retry_wait(
        self,
        exc: UpstreamError,
        attempt: int,
        scope: tuple[str, str],
        breaker_key: tuple[str, str],
        deadline: float,
        budget: RetryBudget,
    ) -> float | None:
        """Record the failure; return the wait before the next attempt, or None when there
        is none (not retryable, attempts spent, past the deadline, or out of budget)."""
        platform_wait = self._note_failure(exc, scope, breaker_key)
        if not exc.retryable or attempt >= self.policy.max_attempts:
            return None
        wait = self.policy.delay(attempt, platform_wait, self._rng)
        if not self._may_wait(wait, deadline) or not budget.try_spend():
            return None
        return wait

    def _may_wait(self, seconds: float, deadline: float) -> bool:
        """Whether a wait fits the policy and the call's deadline."""
        return seconds <= self.policy.max_wait and time.monotonic() + seconds < deadline

    def _note_failure(
        self, exc: UpstreamError, scope: tuple[str, str], breaker_key: tuple[str, str]
    ) -> float | None:
        """Record the failure; return the platform's wait when it throttled us. A throttle
        or a refusal (bad token, not found) is an answer: the platform is up."""
        if isinstance(exc, RateLimitedError):
            if not isinstance(exc, BudgetSpentError):  # our own refusal: the platform is unheard
                self.state.breakers.success(breaker_key)
            # The client is told the wait as blocked: capped at the throttle state's maximum.
            exc.retry_after = self.state.throttles.block(self.platform, scope, exc.retry_after)
            events.throttled(self.platform.value, scope, exc.retry_after)
            return exc.retry_after
        if exc.retryable:
            self.state.breakers.failure(breaker_key)
        else:
            self.state.breakers.success(breaker_key)
        return None

    def _semaphore(self, account_id: str) -> asyncio.Semaphore:
        semaphore = self._semaphores.get(account_id)
        if semaphore is None:
            semaphore = self._semaphores[account_id] = asyncio.Semaphore(self._concurrency)
        return semaphore

    # -- state shared with other instances ----------------------------------------------

    async def _adopt_shared(self, account: AccountRef, scope: tuple[str, str]) -> None:
        """Take in what other instances learned: a throttle (honoured as if seen here), an
        open circuit (fail fast here too) and the latest usage level."""
        coordinator = self.state.coordinator
        state = await coordinator.account_state(_name(scope))
        breaker_scope = (self.platform.value, account.external_id)
        if breaker_scope != scope:
            state = AccountState(
                throttled_until=state.throttled_until,
                **_circuit_and_usage(await coordinator.account_state(_name(breaker_scope))),
            )
        now = time.time()
        throttled_until = self._learned(f"throttle:{_name(scope)}", state.throttled_until)
        if throttled_until is not None and throttled_until > now:
            self.state.throttles.block(self.platform, scope, throttled_until - now)
        circuit_until = self._learned(f"circuit:{_name(breaker_scope)}", state.circuit_open_until)
        if circuit_until is not None and circuit_until > now:
            self.stats.short_circuited += 1
            raise self._circuit_open(account, circuit_until - now)
        self._shared_usage[account.external_id] = state.usage_pct

    def _learned(self, key: str, until: float | None) -> float | None:
        """``until`` unless this instance published it itself."""
        if until is None or self._published.get(key) == until:
            return None
        return until

    async def _publish_failure(
        self, exc: UpstreamError, scope: tuple[str, str], breaker_key: tuple[str, str]
    ) -> None:
        """Share a throttle's regain time, or a circuit this failure opened."""
        if isinstance(exc, RateLimitedError):
            blocked = self.state.throttles.blocked_for(scope)
            if blocked is not None:
                until = self._published[f"throttle:{_name(scope)}"] = time.time() + blocked
                await self.state.coordinator.set_throttled(_name(scope), until)
            return
        cooling = self.state.breakers.cooling_for(breaker_key)
        if cooling is not None:
            until = self._published[f"circuit:{_name(breaker_key)}"] = time.time() + cooling
            await self.state.coordinator.set_circuit(_name(breaker_key), until)

    async def _publish_usage(self, account: AccountRef, reports: ReportsUsage) -> None:
        """After a success, share the usage level the platform reported. (A shared open
        circuit needs no closing: it expires when its cool-down ends, and the next call is
        the probe.)"""
        usage = reports.last_usage_pct(account.external_id)
        if usage is not None:
            name = _name((self.platform.value, account.external_id))
            await self.state.coordinator.set_usage(name, usage, USAGE_TTL)

    def _pause(self, account: AccountRef) -> float | None:
        """Seconds to wait before a call when the platform reports usage near its limit
        (Meta), here or (shared) on another instance; None to call now."""
        usage = self.last_usage_pct(account.external_id)
        if usage is not None and usage >= SLOW_DOWN_AT:
            return min(2.0, 0.2 * (usage - SLOW_DOWN_AT + 1))
        return None


def _name(scope: tuple[str, str]) -> str:
    """A scope as the coordinator names it: ``meta_ads:act_1``, ``tiktok_ads:*``."""
    return f"{scope[0]}:{scope[1]}"


def _circuit_and_usage(state: AccountState) -> dict[str, float | None]:
    return {"usage_pct": state.usage_pct, "circuit_open_until": state.circuit_open_until}
