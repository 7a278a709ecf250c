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
from pathlib import Path
from typing import Any

import aiosqlite

from gateway.errors import StoreUnavailableError
from gateway.store import migrations
from gateway.store.base import IdTarget, KeyRecord
from gateway.store.idmap import IdMap

_SELECT_KEY_BY_DIGEST = (
    "SELECT key_id, digest, project_id, scopes, created_at, expires_at, last_used_at, revoked_at "
    "FROM api_keys WHERE digest = ?"
)
_SELECT_KEY_BY_ID = (
    "SELECT key_id, digest, project_id, scopes, created_at, expires_at, last_used_at, revoked_at "
    "FROM api_keys WHERE key_id = ?"
)
_SELECT_KEYS = (
    "SELECT key_id, digest, project_id, scopes, created_at, expires_at, last_used_at, revoked_at "
    "FROM api_keys WHERE ? IS NULL OR project_id = ? ORDER BY created_at, key_id"
)
_INSERT_KEY = (
    "INSERT INTO api_keys "
    "(key_id, digest, project_id, scopes, created_at, expires_at, last_used_at, revoked_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class SqliteStore:
    """The Store on a SQLite file (or ``:memory:``, private to this object)."""

    def __init__(self, path: str, *, busy_timeout: float = 5.0) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._db: aiosqlite.Connection | None = None
        self._closed = False
        self._opening = asyncio.Lock()
        # One connection: a statement issued while the ID map's transaction is open would
        # join it (and its ROLLBACK), so statements take turns.
        self._turn = asyncio.Lock()
        self._ids = IdMap(self._write_ids, self._read_id)

    async def open(self) -> None:
        await self._connection()

    async def close(self) -> None:
        await self._ids.flush()
        self._closed = True
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    async def _connection(self) -> aiosqlite.Connection:
        if self._db is not None:
            return self._db
        if self._closed:
            raise StoreUnavailableError("the store was closed")
        async with self._opening:
            if self._db is None:
                try:
                    self._db = await self._connect()
                except sqlite3.Error as exc:
                    raise StoreUnavailableError(f"cannot open SQLite {self.path}: {exc}") from exc
        return self._db

    async def _connect(self) -> aiosqlite.Connection:
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

    async def _run(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        db = await self._connection()
        try:
            async with self._turn, db.execute(sql, tuple(params)) as cursor:
                return list(await cursor.fetchall())
        except sqlite3.OperationalError as exc:  # locked too long, disk I/O, file gone
            raise StoreUnavailableError(f"SQLite: {exc}") from exc

    # --- API keys -------------------------------------------------------------------------

    async def add_key(self, key: KeyRecord) -> None:
        await self._run(
            _INSERT_KEY,
            (
                key.key_id,
                key.digest,
                key.project_id,
                " ".join(sorted(key.scopes)),
                _text(key.created_at),
                _text(key.expires_at),
                _text(key.last_used_at),
                _text(key.revoked_at),
            ),
        )

    async def ping(self) -> None:
        await self._run("SELECT 1", ())

    async def find_key(self, digest: str) -> KeyRecord | None:
        rows = await self._run(_SELECT_KEY_BY_DIGEST, (digest,))
        return _key(rows[0]) if rows else None

    async def get_key(self, key_id: str) -> KeyRecord | None:
        rows = await self._run(_SELECT_KEY_BY_ID, (key_id,))
        return _key(rows[0]) if rows else None

    async def list_keys(self, project_id: str | None = None) -> list[KeyRecord]:
        rows = await self._run(_SELECT_KEYS, (project_id, project_id))
        return [_key(row) for row in rows]

    async def revoke_key(self, key_id: str, at: datetime) -> bool:
        rows = await self._run(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? "
            "AND (revoked_at IS NULL OR revoked_at > ?) RETURNING key_id",
            (_text(at), key_id, _text(at)),
        )
        return bool(rows)

    async def touch_keys(self, used: Mapping[str, datetime]) -> None:
        for key_id, at in used.items():
            await self._run(
                "UPDATE api_keys SET last_used_at = ? WHERE key_id = ? "
                "AND (last_used_at IS NULL OR last_used_at < ?)",
                (_text(at), key_id, _text(at)),
            )

    # --- ID reverse map -------------------------------------------------------------------

    def knows(self, public_id: str) -> bool:
        return self._ids.knows(public_id)

    def remember_ids(self, entries: Iterable[tuple[str, IdTarget]]) -> None:
        self._ids.remember(entries)

    async def resolve(self, public_id: str) -> IdTarget | None:
        return await self._ids.resolve(public_id)

    async def flush(self) -> None:
        await self._ids.flush()

    @property
    def cached_ids(self) -> int:
        """How many IDs are held in memory."""
        return len(self._ids)

    async def _write_ids(self, batch: list[tuple[str, IdTarget]]) -> None:
        db = await self._connection()
        rows = [
            (i, t.platform, t.account_external_id, t.campaign_external_id, t.external_id)
            for i, t in batch
        ]
        try:
            async with self._turn:
                await db.execute("BEGIN")
                try:
                    await db.executemany(
                        "INSERT OR IGNORE INTO id_map VALUES (?, ?, ?, ?, ?)", rows
                    )
                except BaseException:
                    await db.execute("ROLLBACK")
                    raise
                await db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise StoreUnavailableError(f"SQLite: {exc}") from exc

    async def _read_id(self, public_id: str) -> IdTarget | None:
        rows = await self._run(
            "SELECT platform, account_external_id, campaign_external_id, external_id "
            "FROM id_map WHERE id = ?",
            (public_id,),
        )
        return IdTarget(*rows[0]) if rows else None


def _text(at: datetime | None) -> str | None:
    """UTC ISO 8601 with a fixed width, so text order is time order in SQL comparisons."""
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def _key(row: sqlite3.Row | tuple[Any, ...]) -> KeyRecord:
    created = _time(row[4])
    assert created is not None  # NOT NULL column
    return KeyRecord(
        key_id=row[0],
        digest=row[1],
        project_id=row[2],
        scopes=frozenset(row[3].split()),
        created_at=created,
        expires_at=_time(row[5]),
        last_used_at=_time(row[6]),
        revoked_at=_time(row[7]),
    )
