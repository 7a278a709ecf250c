"""The embedded store: one SQLite file through aiosqlite.

Threads: aiosqlite runs the one connection on its own thread and hands results back to the
event loop, so no query or commit blocks the loop; statements run one at a time in call order.

Durability: the file is in WAL mode with ``synchronous=FULL``: a key issued or revoked is on
disk when the call returns, even across a power cut. New IDs are written behind (``IdMap``): a
crash may lose the last moment's, which the next listing remembers again. Several processes
may share the file (the CLI and a server, or two servers on one machine): writers wait up to
``busy_timeout`` seconds for each other.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

import aiosqlite

from gateway.errors import StoreUnavailableError
from gateway.store import migrations
from gateway.store.base import IdTarget
from gateway.store.sql import Dialect, SqlStore, id_rows


def _text(at: datetime | None) -> str | None:
    """UTC ISO 8601 with a fixed width, so text order is time order in SQL comparisons."""
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


_SQLITE = Dialect(placeholder="?", write_time=_text, read_time=_time)

#: ID map rows written by one INSERT: a statement runs, and hands the GIL back and forth, once
#: for this many rows rather than once a row. One statement a row made 5,000 IDs take 0.2-1.2 s
#: to write while pages were served (a busy event loop held the GIL up to the switch interval
#: at each handoff), so the writer fell behind a walk and the queued IDs held tens of MiB.
#: 2,500 parameters; SQLite allows 32,766.
_ROWS_PER_INSERT = 500


@lru_cache(maxsize=_ROWS_PER_INSERT)
def _insert_ids(rows: int) -> str:
    """The INSERT of ``rows`` ID map rows, keeping existing ones."""
    values = ", ".join(["(?, ?, ?, ?, ?)"] * rows)
    return f"INSERT OR IGNORE INTO id_map VALUES {values}"  # noqa: S608 - placeholders only


class SqliteStore(SqlStore[aiosqlite.Connection]):
    """The Store on a SQLite file (or ``:memory:``, private to this object)."""

    dialect = _SQLITE

    def __init__(self, path: str, *, busy_timeout: float = 5.0) -> None:
        super().__init__()
        self.path = path
        self._busy_timeout = busy_timeout
        # One connection: a statement issued while the ID map's transaction is open would
        # join it (and its ROLLBACK), so statements take turns.
        self._turn = asyncio.Lock()

    async def _connect(self) -> aiosqlite.Connection:
        try:
            return await self._open_file()
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"cannot open SQLite {self.path}: {exc}") from exc

    async def _open_file(self) -> aiosqlite.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        try:
            await self._use_wal(db)
            await db.execute("PRAGMA synchronous=FULL")
            await self._migrate(db)
        except BaseException:
            await db.close()
            raise
        return db

    async def _disconnect(self, handle: aiosqlite.Connection) -> None:
        await handle.close()

    async def _use_wal(self, db: aiosqlite.Connection) -> None:
        # Switching a new file to WAL needs the file to itself, and SQLite answers "locked"
        # at once (without waiting busy_timeout) while another process holds a read lock on
        # it: instances starting together retry for as long as they would wait for a lock.
        deadline = asyncio.get_running_loop().time() + self._busy_timeout
        while True:
            try:
                await db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                if asyncio.get_running_loop().time() >= deadline:
                    raise
                await asyncio.sleep(0.05)

    @staticmethod
    async def _migrate(db: aiosqlite.Connection) -> None:
        # IMMEDIATE takes the write lock before reading the applied versions: a second
        # process waits here and then finds every step applied.
        await db.execute("BEGIN IMMEDIATE")
        try:
            await db.execute(migrations.MIGRATIONS_TABLE)
            async with db.execute("SELECT version FROM schema_migrations") as cursor:
                applied = {row[0] async for row in cursor}
            for step in migrations.missing(applied):
                for statement in step.sqlite:
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (step.version, step.description, _text(datetime.now(UTC))),
                )
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")

    async def _run(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        db = await self._connected()
        try:
            async with self._turn, db.execute(sql, tuple(params)) as cursor:
                return [tuple(row) for row in await cursor.fetchall()]
        except sqlite3.OperationalError as exc:  # locked too long, disk I/O, file gone
            raise StoreUnavailableError(f"SQLite: {exc}") from exc

    async def touch_keys(self, used: Mapping[str, datetime]) -> None:
        for key_id, at in used.items():
            await self._run(
                "UPDATE api_keys SET last_used_at = ? WHERE key_id = ? "
                "AND (last_used_at IS NULL OR last_used_at < ?)",
                (_text(at), key_id, _text(at)),
            )

    # --- ID reverse map -------------------------------------------------------------------

    async def _write_ids(self, batch: list[tuple[str, IdTarget]]) -> None:
        db = await self._connected()
        rows = id_rows(batch)
        size = _ROWS_PER_INSERT
        full = len(rows) - len(rows) % size
        try:
            async with self._turn:
                await db.execute("BEGIN")
                try:
                    if full:
                        await db.executemany(
                            _insert_ids(size),
                            [
                                tuple(chain.from_iterable(rows[i : i + size]))
                                for i in range(0, full, size)
                            ],
                        )
                    if full < len(rows):
                        rest = rows[full:]
                        await db.execute(_insert_ids(len(rest)), tuple(chain.from_iterable(rest)))
                except BaseException:
                    await db.execute("ROLLBACK")
                    raise
                await db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"SQLite: {exc}") from exc
