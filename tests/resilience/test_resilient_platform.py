"""The resilience wrapper: retries, throttle state, breakers, budget and deadline."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from gateway.errors import (
    BudgetSpentError,
    InvalidInputError,
    MalformedResponseError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamError,
    UpstreamUnavailableError,
)
from gateway.platforms.base import (
    AccountRef,
    AdAccountInfo,
    AdSetPage,
    AdSetQuery,
    CampaignRecord,
    KnowsAvailability,
    Platform,
    knows_availability,
)
from gateway.resilience.backoff import RetryBudget, RetryPolicy
from gateway.resilience.breaker import CircuitBreakers
from gateway.resilience.client import ResilienceState, ResilientPlatform
from gateway.resilience.throttle import ThrottleState

ACCOUNT = AccountRef(Platform.META_ADS, "act_1", "A")
OTHER = AccountRef(Platform.META_ADS, "act_2", "B")
PAGE = AdSetPage([], [None], 0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Silent:
    """A client that answers with an empty page and does not report its usage."""

    platform: Platform = Platform.META_ADS

    async def list_adsets(
        self, account: AccountRef, query: AdSetQuery, *, start: str | None, count: int
    ) -> AdSetPage:
        return PAGE

    async def get_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        return {}

    async def list_campaigns(self, account: AccountRef) -> list[CampaignRecord]:
        return []

    async def get_account(self, account: AccountRef) -> AdAccountInfo:
        return AdAccountInfo(self.platform, account.external_id, "A", "USD", None)

    async def aclose(self) -> None:
        return None


@dataclass
class Scripted(Silent):
    """Raises the scripted errors in order, then answers; reports ``usage``."""

    script: list[UpstreamError] = field(default_factory=list)
    calls: int = 0
    usage: float | None = None
    delay: float = 0.0

    async def list_adsets(
        self,
        account: AccountRef,
        query: AdSetQuery,
        *,
        start: str | None,
        count: int,
    ) -> AdSetPage:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.script:
            raise self.script.pop(0)
        return PAGE

    def last_usage_pct(self, account_external_id: str) -> float | None:
        return self.usage


def down() -> UpstreamUnavailableError:
    return UpstreamUnavailableError("down", platform="meta_ads", account_id="act_1")


def throttled(retry_after: float | None) -> RateLimitedError:
    return RateLimitedError(
        "slow down", platform="meta_ads", account_id="act_1", retry_after=retry_after
    )


@dataclass
class Harness:
    inner: Scripted
    client: ResilientPlatform
    waits: list[float]
    clock: Clock


def make(
    inner: Scripted,
    *,
    policy: RetryPolicy | None = None,
    reserve: float = 10.0,
    threshold: int = 5,
) -> Harness:
    clock = Clock()
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += seconds

    state = ResilienceState(
        throttles=ThrottleState(clock=clock),
        breakers=CircuitBreakers(threshold=threshold, clock=clock),
        budgets={Platform.META_ADS: RetryBudget(reserve=reserve, clock=clock)},
    )
    client = ResilientPlatform(
        inner, policy=policy, state=state, sleep=fake_sleep, rng=random.Random(1)
    )
    return Harness(inner, client, waits, clock)


async def page(h: Harness, account: AccountRef = ACCOUNT) -> AdSetPage:
    return await h.client.list_adsets(account, AdSetQuery(), start=None, count=10)


async def test_transient_failures_are_retried_with_capped_jittered_backoff() -> None:
    h = make(Scripted(script=[down(), MalformedResponseError("x", platform="meta_ads")]))
    assert await page(h) is PAGE
    assert h.inner.calls == 3
    assert h.client.stats.retries == 2
    assert all(0 <= w <= RetryPolicy().max_delay for w in h.waits)


async def test_at_most_three_attempts() -> None:
    h = make(Scripted(script=[down(), down(), down(), down()]))
    with pytest.raises(UpstreamUnavailableError):
        await page(h)
    assert h.inner.calls == 3


async def test_non_retryable_errors_are_not_retried() -> None:
    h = make(Scripted(script=[UpstreamAuthError("bad token", platform="meta_ads")]))
    with pytest.raises(UpstreamAuthError):
        await page(h)
    assert h.inner.calls == 1


async def test_throttle_wait_is_honoured_and_shared_by_later_requests() -> None:
    h = make(Scripted(script=[throttled(2.0)]))
    # a short platform wait: retried after at least that wait
    assert await page(h) is PAGE
    assert h.waits[0] >= 2.0
    # a wait past the deadline: no retry, and the account is blocked for everyone
    h.inner.script = [throttled(30.0)]
    calls = h.inner.calls
    with pytest.raises(RateLimitedError):
        await page(h)
    assert h.inner.calls == calls + 1
    with pytest.raises(RateLimitedError) as info:
        await page(h)
    assert h.inner.calls == calls + 1  # not called again while blocked
    assert info.value.retry_after is not None
    assert 29 <= info.value.retry_after <= 30
    # other accounts are not blocked by a Meta account throttle
    assert await page(h, OTHER) is PAGE
    # after the regain time the account is called again
    h.clock.now += 31
    assert await page(h) is PAGE


async def test_breaker_opens_after_repeated_failures_and_probes_after_cooldown() -> None:
    h = make(Scripted(script=[down() for _ in range(6)]), policy=RetryPolicy(max_attempts=1))
    for _ in range(5):
        with pytest.raises(UpstreamUnavailableError):
            await page(h)
    assert h.inner.calls == 5
    with pytest.raises(UpstreamUnavailableError) as info:
        await page(h)
    assert info.value.upstream_code == "circuit_open"
    assert h.inner.calls == 5
    # the open circuit can be seen without calling (the listing checks before fanning out)
    known = h.client.unavailable(ACCOUNT)
    assert isinstance(known, UpstreamUnavailableError)
    assert known.upstream_code == "circuit_open"
    assert h.client.unavailable(OTHER) is None
    h.clock.now += 31
    with pytest.raises(UpstreamUnavailableError):
        await page(h)  # the probe fails: open again
    assert h.inner.calls == 6
    h.clock.now += 31
    assert await page(h) is PAGE  # the next probe succeeds: closed
    assert h.client.state.breakers.state(("meta_ads", "act_1")) == "closed"


async def test_retry_budget_stops_retries_during_an_outage() -> None:
    h = make(Scripted(script=[down() for _ in range(20)]), reserve=2.0, threshold=100)
    for _ in range(4):
        with pytest.raises(UpstreamUnavailableError):
            await page(h)
    # 4 first attempts, but only the budgeted retries (2 reserve + 4 x 0.2 earned, floored)
    assert h.client.stats.retries == 2
    assert h.inner.calls == 6


async def test_deadline_bounds_a_slow_call() -> None:
    inner = Scripted(delay=5.0)
    client = ResilientPlatform(inner, policy=RetryPolicy(deadline=0.05))
    with pytest.raises(UpstreamUnavailableError, match="did not answer"):
        await client.list_adsets(ACCOUNT, AdSetQuery(), start=None, count=1)


async def test_high_meta_usage_spaces_calls_out() -> None:
    h = make(Scripted(usage=97.0))
    await page(h)
    assert h.waits
    assert h.waits[0] > 0
    h2 = make(Scripted(usage=40.0))
    await page(h2)
    assert h2.waits == []


async def test_one_concurrency_cap_per_account_covers_listings_and_lookups() -> None:
    # given a cap of 2 calls per account and slow listings and lookups
    inner = Scripted(delay=0.01)
    client = ResilientPlatform(inner, per_account_concurrency=2)
    running = peak = 0
    original = inner.get_campaigns

    async def slow_lookup(
        account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return await original(account, campaign_ids)

    async def slow_listing(
        account: AccountRef, query: AdSetQuery, *, start: str | None, count: int
    ) -> AdSetPage:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return PAGE

    inner.get_campaigns = slow_lookup  # type: ignore[method-assign]
    inner.list_adsets = slow_listing  # type: ignore[method-assign]
    # when many more calls than slots run at once, of both kinds
    async with asyncio.timeout(5):
        await asyncio.gather(
            *(client.list_adsets(ACCOUNT, AdSetQuery(), start=None, count=1) for _ in range(6)),
            *(client.get_campaigns(ACCOUNT, ["c1"]) for _ in range(6)),
        )
    # then no more than two were ever in flight for the account
    assert peak == 2


def test_the_wrapper_declares_it_knows_availability_and_a_bare_client_does_not() -> None:
    assert knows_availability(ResilientPlatform(Scripted()))
    assert not knows_availability(Scripted())
    assert isinstance(ResilientPlatform(Scripted()), KnowsAvailability)


def test_usage_pacing_applies_only_to_clients_that_report_usage() -> None:
    assert ResilientPlatform(Silent(Platform.TIKTOK_ADS)).usage is None
    reporting = Scripted()
    assert ResilientPlatform(reporting).usage is reporting


async def test_a_probe_that_times_out_reopens_the_circuit_and_a_later_probe_can_close_it() -> None:
    # given an open circuit (5 failures) and a probe that hangs past the deadline
    h = make(
        Scripted(script=[down() for _ in range(5)]),
        policy=RetryPolicy(max_attempts=1, deadline=0.05),
    )
    for _ in range(5):
        with pytest.raises(UpstreamUnavailableError):
            await page(h)
    h.clock.now += 31
    h.inner.delay = 1.0
    with pytest.raises(UpstreamUnavailableError, match="did not answer"):
        await page(h)
    assert h.client.state.breakers.state(("meta_ads", "act_1")) == "open"
    # when the platform recovers, the next probe after the cooldown closes the circuit
    h.inner.delay = 0.0
    h.clock.now += 31
    assert await page(h) is PAGE
    assert h.client.state.breakers.state(("meta_ads", "act_1")) == "closed"


async def test_a_probe_answered_with_a_refusal_closes_the_circuit() -> None:
    h = make(Scripted(script=[down() for _ in range(5)]), policy=RetryPolicy(max_attempts=1))
    for _ in range(5):
        with pytest.raises(UpstreamUnavailableError):
            await page(h)
    h.clock.now += 31
    h.inner.script = [UpstreamAuthError("token revoked", platform="meta_ads")]
    with pytest.raises(UpstreamAuthError):
        await page(h)
    assert h.client.state.breakers.state(("meta_ads", "act_1")) == "closed"


PROBE_ENDINGS: dict[str, Callable[[], BaseException]] = {
    "transient failure": down,
    "refusal": lambda: UpstreamAuthError("token revoked", platform="meta_ads"),
    "long throttle": lambda: throttled(60.0),
    "short throttle": lambda: throttled(0.5),
    "bad input": lambda: InvalidInputError(
        "unreadable token", param="cursor", code="invalid_cursor"
    ),
    "a bug": lambda: KeyError("surprise"),
    "cancellation": asyncio.CancelledError,
}


@pytest.mark.parametrize("ending", list(PROBE_ENDINGS))
async def test_no_probe_ending_leaves_the_circuit_probing(ending: str) -> None:
    # given an open circuit whose cool-down has passed
    h = make(Scripted(script=[down() for _ in range(5)]), policy=RetryPolicy(max_attempts=1))
    key = ("meta_ads", "act_1")
    for _ in range(5):
        with pytest.raises(UpstreamUnavailableError):
            await page(h)
    h.clock.now += 31
    # when the probe ends in any way at all
    raised = PROBE_ENDINGS[ending]()

    async def probe(
        account: AccountRef, query: AdSetQuery, *, start: str | None, count: int, **_: object
    ) -> AdSetPage:
        h.inner.calls += 1
        raise raised

    h.inner.list_adsets = probe  # type: ignore[method-assign]
    with pytest.raises(type(raised)):
        await page(h)
    assert h.client.state.breakers.state(key) != "half_open"
    # then a healthy platform is reached again once the cool-down (or the throttle) is over
    del h.inner.list_adsets
    h.clock.now += 61
    calls = h.inner.calls
    assert await page(h) is PAGE
    assert h.inner.calls == calls + 1
    assert h.client.state.breakers.state(key) == "closed"


async def test_a_probe_refused_by_the_call_budget_leaves_the_circuit_open() -> None:
    # given an open circuit whose cool-down has passed
    h = make(Scripted(script=[down(), down()]), policy=RetryPolicy(max_attempts=1), threshold=2)
    for _ in range(2):
        with pytest.raises(UpstreamUnavailableError):
            await page(h)
    h.clock.now += 31
    # when the probe is refused by the gateway's own call budget (nothing reached the platform)
    h.inner.script.append(
        BudgetSpentError("spent", platform="meta_ads", account_id="act_1", retry_after=5.0)
    )
    with pytest.raises(RateLimitedError):
        await page(h)
    # then nothing was learned about the platform: the circuit is not closed by it
    assert h.client.state.breakers.state(("meta_ads", "act_1")) != "closed"


async def test_usage_is_reported_as_the_highest_seen_here_or_shared() -> None:
    # given a Meta client whose own last response said 30 %
    h = make(Scripted(usage=30.0))
    assert h.client.last_usage_pct("act_1") == 30.0
    # when another instance has shared 70 % for the account, read by the next call
    await h.client.state.coordinator.set_usage("meta_ads:act_1", 70.0, 300.0)
    await page(h)
    # then the higher level is the one known (and the one calls are paced by)
    assert h.client.last_usage_pct("act_1") == 70.0
    assert ResilientPlatform(Silent(Platform.TIKTOK_ADS)).last_usage_pct("act_1") is None


async def test_a_listing_whose_only_caller_gave_up_is_cancelled_with_it() -> None:
    inner = Scripted(delay=5.0)
    client = ResilientPlatform(inner)
    caller = asyncio.create_task(client.list_adsets(ACCOUNT, AdSetQuery(), start=None, count=1))
    await asyncio.sleep(0.01)
    assert inner.calls == 1
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    # nothing of it is left to outlive the request, or the client
    assert client._inflight == {}
    async with asyncio.timeout(1):
        await client.aclose()


async def test_callers_sharing_a_listing_share_its_failure() -> None:
    inner = Scripted(script=[down()], delay=0.01)
    client = ResilientPlatform(inner, policy=RetryPolicy(max_attempts=1))
    calls = [client.list_adsets(ACCOUNT, AdSetQuery(), start=None, count=1) for _ in range(3)]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert inner.calls == 1
    assert [type(o) for o in outcomes] == [UpstreamUnavailableError] * 3


async def test_callers_left_by_a_cancelled_first_caller_call_again() -> None:
    inner = Scripted(delay=0.05)
    client = ResilientPlatform(inner)
    first = asyncio.create_task(client.list_adsets(ACCOUNT, AdSetQuery(), start=None, count=1))
    await asyncio.sleep(0.01)
    others = [
        asyncio.create_task(client.list_adsets(ACCOUNT, AdSetQuery(), start=None, count=1))
        for _ in range(2)
    ]
    await asyncio.sleep(0.01)
    first.cancel()
    assert await asyncio.gather(*others) == [PAGE, PAGE]
    # the first call went with its caller; the two left made one call between them
    assert inner.calls == 2
    with pytest.raises(asyncio.CancelledError):
        await first
