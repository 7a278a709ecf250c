"""The ID map's write-behind: pages only queue IDs; writes are batched across pages."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar

import pytest

from gateway.errors import StoreUnavailableError
from gateway.store.base import IdTarget
from gateway.store.idmap import IdMap


class FakeDatabase:
    """Records each batch written; ``fail`` makes the next writes raise."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.rows: dict[str, IdTarget] = {}
        self.fail = False
        self.written = asyncio.Event()

    async def write(self, batch: list[tuple[str, IdTarget]]) -> None:
        await asyncio.sleep(0)  # a real write yields to the loop
        if self.fail:
            raise StoreUnavailableError("database down")
        self.batches.append([public_id for public_id, _ in batch])
        self.rows.update(batch)
        self.written.set()

    async def read(self, public_id: str) -> IdTarget | None:
        return self.rows.get(public_id)


def entries(first: int, count: int) -> list[tuple[str, IdTarget]]:
    return [
        (f"adg_{n}", IdTarget("meta_ads", "act_1", "c1", str(n)))
        for n in range(first, first + count)
    ]


async def test_pages_listed_together_are_written_in_one_batch() -> None:
    # given an ID map that writes a minute after the first new ID, or past 5,000 of them
    db = FakeDatabase()
    ids = IdMap(db.write, db.read, delay=60.0, batch=5000)
    # when ten pages of new IDs are remembered, letting the loop run between them
    for page in range(10):
        ids.remember(entries(page * 100, 100))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    # then nothing was written yet, every ID is known and resolves from memory
    assert db.batches == []
    assert ids.knows("adg_0") and ids.knows("adg_999")
    assert await ids.resolve("adg_500") == IdTarget("meta_ads", "act_1", "c1", "500")
    # and a flush writes them all in one batch
    await ids.flush()
    assert len(db.batches) == 1
    assert sorted(db.batches[0]) == sorted(i for i, _ in entries(0, 1000))


async def test_queued_ids_are_written_after_the_delay_without_a_flush() -> None:
    db = FakeDatabase()
    ids = IdMap(db.write, db.read, delay=0.01, batch=1000)
    ids.remember(entries(0, 3))
    async with asyncio.timeout(10):
        await db.written.wait()
    assert db.batches == [["adg_0", "adg_1", "adg_2"]]


async def test_a_full_batch_is_written_without_waiting_for_the_delay() -> None:
    db = FakeDatabase()
    ids = IdMap(db.write, db.read, delay=60.0, batch=250)
    ids.remember(entries(0, 100))
    ids.remember(entries(100, 100))
    await asyncio.sleep(0)
    assert db.batches == []
    ids.remember(entries(200, 100))  # 300 waiting: past the batch size
    async with asyncio.timeout(10):
        while len(db.batches) < 2:
            await db.written.wait()
            db.written.clear()
    # at most a batch a write, the rest right after it
    assert [len(b) for b in db.batches] == [250, 50]


async def test_a_backlog_is_written_a_batch_at_a_time() -> None:
    # given a database slow enough that IDs pile up while a batch is written
    db = FakeDatabase()
    release = asyncio.Event()
    write = db.write

    async def slow_write(batch: list[tuple[str, IdTarget]]) -> None:
        await release.wait()
        await write(batch)

    ids = IdMap(slow_write, db.read, delay=60.0, batch=100)
    ids.remember(entries(0, 100))
    await asyncio.sleep(0)
    for page in range(1, 10):
        ids.remember(entries(page * 100, 100))
    # when the database answers again
    release.set()
    await ids.flush()
    # then no write held more than a batch, and every ID was written once, in order
    assert [len(b) for b in db.batches] == [100] * 10
    assert [i for b in db.batches for i in b] == [i for i, _ in entries(0, 1000)]


async def test_ids_remembered_again_are_not_queued_again() -> None:
    db = FakeDatabase()
    ids = IdMap(db.write, db.read, delay=60.0, batch=1000)
    ids.remember(entries(0, 5))
    await ids.flush()
    ids.remember(entries(0, 6))
    await ids.flush()
    assert db.batches[1] == ["adg_5"]


async def test_a_failed_write_forgets_the_batch_so_later_listings_offer_it_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = FakeDatabase()
    db.fail = True
    ids = IdMap(db.write, db.read, delay=60.0, batch=1000)
    ids.remember(entries(0, 2))
    await ids.flush()
    assert "2 new IDs not written" in caplog.text
    assert not ids.knows("adg_0")
    db.fail = False
    ids.remember(entries(0, 2))
    await ids.flush()
    assert db.batches == [["adg_0", "adg_1"]]


REQUEST: ContextVar[str | None] = ContextVar("request", default=None)


async def test_the_writer_runs_outside_the_request_that_started_it() -> None:
    # given a write that notes which request it runs for
    db = FakeDatabase()
    seen: list[str | None] = []

    async def write(batch: list[tuple[str, IdTarget]]) -> None:
        seen.append(REQUEST.get())
        await db.write(batch)

    ids = IdMap(write, db.read, delay=0.01, batch=1000)
    # when a request's listing queues new IDs
    token = REQUEST.set("req-1")
    try:
        ids.remember(entries(0, 3))
    finally:
        REQUEST.reset(token)
    await ids.flush()
    # then the batch is written in a context of its own (its work is not the request's)
    assert seen == [None]
