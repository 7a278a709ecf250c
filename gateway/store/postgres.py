"""The shared store: PostgreSQL through psycopg 3 and a connection pool.

Several gateway instances (and the ``gateway keys`` commands) share one database: a key issued
or revoked anywhere is seen by every instance at its next lookup. Each statement runs in its
own transaction (autocommit) and is durable when the call returns; new IDs are written behind
(``IdMap``), so a crash may lose the last moment's, which the next listing remembers again.
Queries run on the event loop without blocking it (psycopg's async connections).

Unreachable at ``open`` (start-up): ``StoreUnavailableError`` with libpq's own reason. During
a request: the pool waits at most ``timeout`` seconds for a connection, then the same error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg_pool
from psycopg.rows import TupleRow

from gateway.errors import StoreUnavailableError
from gateway.store import migrations
from gateway.store.base import IdTarget, KeyRecord
from gateway.store.idmap import IdMap

_SELECT_KEY_BY_DIGEST = (
    "SELECT key_id, digest, project_id, scopes, created_at, expires_at, last_used_at, revoked_at "
    "FROM api_keys WHERE digest = %s"
)
_SELECT_KEY_BY_ID = (
    "SELECT key_id, digest, project_id, scopes, created_at, expires_at, last_used_at, revoked_at "
    "FROM api_keys WHERE key_id = %s"
)
_SELECT_KEYS = (
    "SELECT key_id, digest, project_id, scopes, created_at, expires_at, last_used_at, revoked_at "
    "FROM api_keys WHERE %s::text IS NULL OR project_id = %s ORDER BY created_at, key_id"
)
_INSERT_KEY = (
    "INSERT INTO api_keys "
    "(key_id, digest, project_id, scopes, created_at, expires_at, last_used_at, revoked_at) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)

#: What an unreachable or restarting server raises (constraint violations are not among them).
_UNREACHABLE = (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)

Pool = psycopg_pool.AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]


class PostgresStore:
    """The Store on a PostgreSQL database named by a libpq URL."""

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 5.0
    ) -> None:
        self.url = url
        self._sizes = (min_size, max_size)
        self._timeout = timeout
        self._pool: Pool | None = None
        self._closed = False
        self._opening = asyncio.Lock()
        self._ids = IdMap(self._write_ids, self._read_id)

    async def open(self) -> None:
        await self._connected_pool()

    async def close(self) -> None:
        await self._ids.flush()
        self._closed = True
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _connected_pool(self) -> Pool:
        if self._pool is not None:
            return self._pool
        if self._closed:
            raise StoreUnavailableError("the store was closed")
        async with self._opening:
            if self._pool is None:
                self._pool = await self._connect()
        return self._pool

    async def _connect(self) -> Pool:
        # One direct connection first: it migrates, and when the server is unreachable it
        # fails at once with libpq's reason (a pool would retry quietly until its timeout).
        try:
            async with await psycopg.AsyncConnection.connect(
                self.url, connect_timeout=max(1, round(self._timeout))
            ) as conn:
                await self._migrate(conn)
        except psycopg.Error as exc:
            raise StoreUnavailableError(f"PostgreSQL unreachable: {_reason(exc)}") from exc
        pool: Pool = psycopg_pool.AsyncConnectionPool(
            self.url,
            min_size=self._sizes[0],
            max_size=self._sizes[1],
            timeout=self._timeout,
            kwargs={"autocommit": True},
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=self._timeout)
        except psycopg_pool.PoolTimeout as exc:
            await pool.close()
            raise StoreUnavailableError(f"PostgreSQL unreachable: {exc}") from exc
        return pool

    @staticmethod
    async def _migrate(conn: psycopg.AsyncConnection[TupleRow]) -> None:
        async with conn.transaction():
            # Instances starting together queue here; the lock ends with the transaction.
            # Keyed by schema, so databases shared by schema do not wait on each other.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('gateway.migrations.' || current_schema()))"
            )
            await conn.execute(migrations.MIGRATIONS_TABLE)
            cursor = await conn.execute("SELECT version FROM schema_migrations")
            applied = {row[0] for row in await cursor.fetchall()}
            for step in migrations.missing(applied):
                for statement in step.postgres:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES (%s, %s, %s)",
                    (step.version, step.description, datetime.now(UTC).isoformat()),
                )

    async def _run(self, sql: str, params: Iterable[Any] = ()) -> list[TupleRow]:
        pool = await self._connected_pool()
        try:
            async with pool.connection() as conn:
                cursor = await conn.execute(sql, tuple(params))
                return await cursor.fetchall() if cursor.description else []
        except _UNREACHABLE as exc:
            raise StoreUnavailableError(f"PostgreSQL unreachable: {_reason(exc)}") from exc

    # --- API keys -------------------------------------------------------------------------

    async def add_key(self, key: KeyRecord) -> None:
        await self._run(
            _INSERT_KEY,
            (
                key.key_id,
                key.digest,
                key.project_id,
                " ".join(sorted(key.scopes)),
                key.created_at,
                key.expires_at,
                key.last_used_at,
                key.revoked_at,
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
            "UPDATE api_keys SET revoked_at = %s WHERE key_id = %s "
            "AND (revoked_at IS NULL OR revoked_at > %s) RETURNING key_id",
            (at, key_id, at),
        )
        return bool(rows)

    async def touch_keys(self, used: Mapping[str, datetime]) -> None:
        if not used:
            return
        await self._run(
            "UPDATE api_keys SET last_used_at = u.at "
            "FROM unnest(%s::text[], %s::timestamptz[]) AS u(key_id, at) "
            "WHERE api_keys.key_id = u.key_id "
            "AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at < u.at)",
            (list(used), list(used.values())),
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
        rows = [
            (i, t.platform, t.account_external_id, t.campaign_external_id, t.external_id)
            for i, t in batch
        ]
        pool = await self._connected_pool()
        try:
            async with pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO id_map VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                    rows,
                )
        except _UNREACHABLE as exc:
            raise StoreUnavailableError(f"PostgreSQL unreachable: {_reason(exc)}") from exc

    async def _read_id(self, public_id: str) -> IdTarget | None:
        rows = await self._run(
            "SELECT platform, account_external_id, campaign_external_id, external_id "
            "FROM id_map WHERE id = %s",
            (public_id,),
        )
        return IdTarget(*rows[0]) if rows else None


def _reason(exc: Exception) -> str:
    """libpq's message on one line (it spans several for a refused connection)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _key(row: TupleRow) -> KeyRecord:
    return KeyRecord(
        key_id=row[0],
        digest=row[1],
        project_id=row[2],
        scopes=frozenset(row[3].split()),
        created_at=row[4],
        expires_at=row[5],
        last_used_at=row[6],
        revoked_at=row[7],
    )
