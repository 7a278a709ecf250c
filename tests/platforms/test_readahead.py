"""``ReadAhead``: a continuation page reads the account's next page; the request for that
position takes it. Over an in-memory platform that counts its calls."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from gateway.errors import RateLimitedError, UpstreamError, UpstreamUnavailableError
from gateway.observability import context
from gateway.observability.context import RequestScope
from gateway.observability.metrics import Metrics
from gateway.observability.tracing import Tracing
from gateway.platforms.base import (
    AccountRef,
    AdSetPage,
    AdSetQuery,
    Platform,
    knows_availability,
    warms_campaigns,
)
from gateway.platforms.readahead import USAGE_CEILING, Outcome, ReadAhead
from tests.fakes import FakePlatform, make_record

ACCOUNT = AccountRef(Platform.META_ADS, "act_1", "Big")
OTHER = AccountRef(Platform.META_ADS, "act_2", "Other")
QUERY = AdSetQuery()


@dataclass
class Inner(FakePlatform):
    """The fake platform, plus what a resilient client tells (availability, usage), listings
    held until released or failed once, by (account, start), and the request each call was
    made for."""

    usage: float | None = None
    down: UpstreamError | None = None
    holds: dict[tuple[str, str | None], asyncio.Event] = field(default_factory=dict)
    fail_once: set[tuple[str, str | None]] = field(default_factory=set)
    callers: list[str | None] = field(default_factory=list)
    closed: bool = False

    async def list_adsets(
        self, account: AccountRef, query: AdSetQuery, *, start: str | None, count: int
    ) -> AdSetPage:
        scope = context.current()
        self.callers.append(scope.request_id if scope is not None else None)
        page = await super().list_adsets(account, query, start=start, count=count)
        key = (account.external_id, start)
        hold = self.holds.get(key)
        if hold is not None:
            await hold.wait()
        if key in self.fail_once:
            self.fail_once.discard(key)
            raise UpstreamUnavailableError("down", platform="meta_ads", account_id=key[0])
        return page

    def hold(self, account: AccountRef, start: str) -> asyncio.Event:
        """Hold the listings of ``start`` until the event returned is set."""
        event = self.holds[(account.external_id, start)] = asyncio.Event()
        return event

    def unavailable(self, account: AccountRef) -> UpstreamError | None:
        return self.down

    def last_usage_pct(self, account_external_id: str) -> float | None:
        return self.usage

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class Harness:
    inner: Inner
    client: ReadAhead
    outcomes: list[Outcome]

    def listings(self, start: str | None = None) -> list[tuple[str, str | None, int]]:
        """The inner client's listing calls (for ``start``, when given)."""
        return [c for c in self.inner.calls if start is None or c[1] == start]


def make(rows: int = 30, *, lifetime: float = 30.0, capacity: int = 32) -> Harness:
    inner = Inner(
        Platform.META_ADS,
        {
            a.external_id: [make_record(Platform.META_ADS, a.external_id, n) for n in range(rows)]
            for a in (ACCOUNT, OTHER)
        },
    )
    outcomes: list[Outcome] = []
    client = ReadAhead(inner, lifetime=lifetime, capacity=capacity, outcome=outcomes.append)
    return Harness(inner, client, outcomes)


async def settle(h: Harness) -> None:
    """Let the reads under way end."""
    reads = [read.task for read in h.client._reads.values()]
    await asyncio.gather(*reads, return_exceptions=True)


async def test_a_continuation_page_reads_the_next_one_and_its_request_takes_it() -> None:
    # given a walk at 5 rows a page whose second page was just answered
    h = make()
    second = await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    await settle(h)
    # then the page after it was read: same account, query and count, from its last token
    assert h.listings() == [("act_1", "|5", 5), ("act_1", "|10", 5)]
    # when the walk asks for it
    third = await h.client.list_adsets(ACCOUNT, QUERY, start="|10", count=5)
    # then it is answered without a call but the next read, with the rows a call gives
    assert h.listings("|10") == [("act_1", "|10", 5)]
    fresh = await h.inner.list_adsets(ACCOUNT, QUERY, start="|10", count=5)
    assert third == fresh
    assert second.resume_after(5) == "|10"
    assert h.outcomes == ["hit"]


async def test_an_answer_is_taken_once_and_a_repeated_request_calls_again() -> None:
    h = make()
    await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    await settle(h)
    await h.client.list_adsets(ACCOUNT, QUERY, start="|10", count=5)
    await settle(h)
    # the same position asked again (a client retrying) is read anew
    await h.client.list_adsets(ACCOUNT, QUERY, start="|10", count=5)
    assert len(h.listings("|10")) == 2
    assert h.outcomes == ["hit"]


async def test_a_first_page_reads_nothing_ahead() -> None:
    h = make()
    await h.client.list_adsets(ACCOUNT, QUERY, start=None, count=5)
    await asyncio.sleep(0)
    assert h.listings() == [("act_1", None, 5)]
    assert h.client.pending == 0


@pytest.mark.parametrize(
    ("rows", "start"),
    [(12, "|10"), (10, "|5")],
    ids=["short page", "full page ending the account"],
)
async def test_a_page_that_ends_the_account_reads_nothing_ahead(rows: int, start: str) -> None:
    h = make(rows)
    page = await h.client.list_adsets(ACCOUNT, QUERY, start=start, count=5)
    await asyncio.sleep(0)
    assert page.resume_after(len(page.rows)) is None
    assert h.listings() == [("act_1", start, 5)]
    assert h.client.pending == 0
    assert h.outcomes == []


async def test_a_different_page_size_or_query_is_not_served_the_read() -> None:
    h = make()
    await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    await settle(h)
    await h.client.list_adsets(ACCOUNT, QUERY, start="|10", count=6)
    await h.client.list_adsets(ACCOUNT, AdSetQuery(campaign_external_id="c"), start="|10", count=5)
    await h.client.list_adsets(OTHER, QUERY, start="|10", count=5)
    assert len(h.listings("|10")) == 4  # the read, then one call for each
    assert "hit" not in h.outcomes


@pytest.mark.parametrize(
    "state",
    ["usage at the ceiling", "unavailable"],
)
async def test_no_read_while_usage_is_high_or_the_account_unavailable(state: str) -> None:
    h = make()
    if state == "unavailable":
        h.inner.down = RateLimitedError("throttled", platform="meta_ads", retry_after=60)
    else:
        h.inner.usage = USAGE_CEILING
    await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    await asyncio.sleep(0)
    assert h.listings() == [("act_1", "|5", 5)]
    assert h.outcomes == ["skipped"]


async def test_usage_below_the_ceiling_reads_ahead() -> None:
    h = make()
    h.inner.usage = USAGE_CEILING - 1
    await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    await settle(h)
    assert len(h.listings()) == 2


async def test_an_unused_answer_is_dropped_after_its_lifetime() -> None:
    # given answers kept for 50 ms
    h = make(lifetime=0.05)
    await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    await settle(h)
    assert h.client.pending == 1
    # when no request takes it in time
    await asyncio.sleep(0.1)
    # then it is gone, and the position is read anew when asked for
    assert h.client.pending == 0
    assert h.outcomes == ["unused"]
    await h.client.list_adsets(ACCOUNT, QUERY, start="|10", count=5)
    assert len(h.listings("|10")) == 2


async def test_at_capacity_the_oldest_answer_makes_room_and_reads_under_way_are_kept() -> None:
    # given room for one read, answered
    h = make(capacity=1)
    await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    await settle(h)
    # when another is due: the answer not taken is dropped for it
    release = h.inner.hold(OTHER, "|10")
    await h.client.list_adsets(OTHER, QUERY, start="|5", count=5)
    assert h.client.pending == 1
    assert h.outcomes == ["unused"]
    # and while that one is still under way, no read is started (nor is it cut short)
    await h.client.list_adsets(ACCOUNT, QUERY, start="|15", count=5)
    assert h.outcomes == ["unused", "skipped"]
    assert h.listings("|20") == []
    release.set()
    await h.client.list_adsets(OTHER, QUERY, start="|10", count=5)
    assert h.outcomes[2] == "hit"
    # the dropped answer's position is read anew
    await h.client.list_adsets(ACCOUNT, QUERY, start="|10", count=5)
    assert len(h.listings("|10")) == 3  # the two reads, then ACCOUNT's own call


async def test_a_failed_read_does_not_fail_the_request_which_calls_again() -> None:
    # given the read ahead of the fourth page fails
    h = make()
    h.inner.fail_once.add(("act_1", "|20"))
    await h.client.list_adsets(ACCOUNT, QUERY, start="|15", count=5)
    await settle(h)
    assert h.outcomes == ["failed"]
    assert h.client.pending == 0
    # when the walk asks for that page: it is answered, by a call of its own
    page = await h.client.list_adsets(ACCOUNT, QUERY, start="|20", count=5)
    assert [r.external_id for r in page.rows] == [f"act_1-{n:05d}" for n in range(20, 25)]
    assert len(h.listings("|20")) == 2
    assert h.outcomes == ["failed"]


async def test_a_request_waiting_for_a_read_that_fails_calls_itself() -> None:
    # given a read under way, which will fail
    h = make()
    release = h.inner.hold(ACCOUNT, "|10")
    h.inner.fail_once.add(("act_1", "|10"))
    await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    # when the request for its position comes before it ends
    waiting = asyncio.create_task(h.client.list_adsets(ACCOUNT, QUERY, start="|10", count=5))
    await asyncio.sleep(0.01)
    release.set()
    page = await waiting
    # then it is answered by a call of its own; the failure is counted once
    assert [r.external_id for r in page.rows] == [f"act_1-{n:05d}" for n in range(10, 15)]
    assert len(h.listings("|10")) == 2
    assert h.outcomes == ["failed"]


async def test_concurrent_requests_for_a_position_share_the_read_under_way() -> None:
    # given a read under way (the platform holds it)
    h = make()
    release = h.inner.hold(ACCOUNT, "|10")
    await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    assert h.listings("|10") == [("act_1", "|10", 5)]
    # when two requests ask for its position before it answers
    waiting = [
        asyncio.create_task(h.client.list_adsets(ACCOUNT, QUERY, start="|10", count=5))
        for _ in range(2)
    ]
    await asyncio.sleep(0.01)
    release.set()
    first, again = await asyncio.gather(*waiting)
    # then both have its answer and the platform was called once for it
    assert first == again
    assert len(first.rows) == 5
    assert len(h.listings("|10")) == 1
    assert h.outcomes == ["hit", "hit"]


async def test_reads_run_outside_the_request_that_started_them() -> None:
    h = make()
    token = context.enter(RequestScope("req-1", Metrics(), Tracing(None)))
    try:
        await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    finally:
        context.leave(token)
    await settle(h)
    assert h.inner.callers == ["req-1", None]


async def test_aclose_cancels_the_reads_under_way_and_closes_the_inner_client() -> None:
    h = make()
    h.inner.hold(ACCOUNT, "|10")
    await h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5)
    reads = [read.task for read in h.client._reads.values()]
    assert len(reads) == 1
    await h.client.aclose()
    assert all(task.cancelled() for task in reads)
    assert h.client.pending == 0
    assert h.inner.closed
    assert h.outcomes == ["unused"]


def test_it_passes_the_inner_clients_capabilities_on() -> None:
    h = make()
    assert knows_availability(h.client)
    assert warms_campaigns(h.client)
    h.inner.usage = 12.0
    assert h.client.last_usage_pct("act_1") == 12.0


async def test_no_read_starts_once_closing_has_begun() -> None:
    # given a continuation page still in flight when the client starts closing
    h = make()
    held = h.inner.hold(ACCOUNT, "|5")
    page = asyncio.ensure_future(h.client.list_adsets(ACCOUNT, QUERY, start="|5", count=5))
    await asyncio.sleep(0.01)
    closing = asyncio.ensure_future(h.client.aclose())
    await asyncio.sleep(0)
    # when its answer arrives
    held.set()
    await page
    await closing
    # then it started no read that would outlive the closed client
    assert h.inner.closed
    assert h.client.pending == 0
    assert h.listings() == [("act_1", "|5", 5)]
