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

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg_pool
from psycopg.rows import TupleRow

from gateway.errors import StoreUnavailableError
from gateway.store import migrations
from gateway.store.base import IdTarget
from gateway.store.sql import Dialect, SqlStore, id_rows

#: What an unreachable or restarting server raises (constraint violations are not among them).
_UNREACHABLE = (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)

Pool = psycopg_pool.AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]


def _same_time(at: datetime | None) -> datetime | None:
    # psycopg binds an aware datetime to timestamptz and reads one back: nothing to convert.
    return at


class PostgresStore(SqlStore[Pool]):
    """The Store on a PostgreSQL database named by a libpq URL."""

    dialect = Dialect(placeholder="%s", write_time=_same_time, read_time=_same_time)

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 5.0
    ) -> None:
        super().__init__()
        self.url = url
        self._sizes = (min_size, max_size)
        self._timeout = timeout

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

    async def _disconnect(self, handle: Pool) -> None:
        await handle.close()

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
        pool = await self._connected()
        try:
            async with pool.connection() as conn:
                cursor = await conn.execute(sql, tuple(params))
                return await cursor.fetchall() if cursor.description else []
        except _UNREACHABLE as exc:
            raise StoreUnavailableError(f"PostgreSQL unreachable: {_reason(exc)}") from exc

    # --- API keys -------------------------------------------------------------------------

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

    async def _write_ids(self, batch: list[tuple[str, IdTarget]]) -> None:
        rows = id_rows(batch)
        pool = await self._connected()
        try:
            async with pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO id_map VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                    rows,
                )
        except _UNREACHABLE as exc:
            raise StoreUnavailableError(f"PostgreSQL unreachable: {_reason(exc)}") from exc


def _reason(exc: Exception) -> str:
    """libpq's message on one line (it spans several for a refused connection)."""
    return " ".join(str(exc).split()) or type(exc).__name__
