"""What the SQL stores share: the key queries, the ID map, connecting once and closing.

``SqliteStore`` and ``PostgresStore`` differ in their driver (how a statement runs, how a
connection opens and closes, how a batch of IDs is written) and in their dialect: the
parameter placeholder and how a time is stored. Both are data here (``Dialect``), so each
query is written once.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from gateway.errors import StoreUnavailableError
from gateway.store.base import IdTarget, KeyRecord
from gateway.store.idmap import IdMap

Handle = TypeVar("Handle")
Row = Sequence[Any]

# Queries with ``{p}`` for the dialect's placeholder. The key columns are listed, never *, so
# a later migration adding one cannot shift them.
_SELECT_KEYS = (
    "SELECT key_id, digest, project_id, scopes, created_at, expires_at, last_used_at, revoked_at "
    "FROM api_keys "
)
_KEY_BY_DIGEST = _SELECT_KEYS + "WHERE digest = {p}"
_KEY_BY_ID = _SELECT_KEYS + "WHERE key_id = {p}"
_ALL_KEYS = _SELECT_KEYS + "ORDER BY created_at, key_id"
_PROJECT_KEYS = _SELECT_KEYS + "WHERE project_id = {p} ORDER BY created_at, key_id"
_INSERT_KEY = (
    "INSERT INTO api_keys "
    "(key_id, digest, project_id, scopes, created_at, expires_at, last_used_at, revoked_at) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"
)


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one database spells a parameter and stores a time."""

    placeholder: str
    #: A time as the driver binds it (SQLite keeps text; psycopg binds datetimes itself).
    write_time: Callable[[datetime | None], Any]
    #: A time column's value back as an aware datetime.
    read_time: Callable[[Any], datetime | None]

    def sql(self, template: str) -> str:
        """``template`` with each ``{p}`` replaced by this dialect's placeholder."""
        return template.format(p=self.placeholder)


class SqlStore(ABC, Generic[Handle]):
    """The Store over one SQL database reached through a ``Handle`` (a connection or a pool)
    that opens on first use and is shared by every call after."""

    dialect: ClassVar[Dialect]

    def __init__(self) -> None:
        self._handle: Handle | None = None
        self._closed = False
        self._opening = asyncio.Lock()
        self._ids = IdMap(self._write_ids, self._read_id)

    # --- what each driver provides ---------------------------------------------------------

    @abstractmethod
    async def _connect(self) -> Handle:
        """A new handle on a migrated database; ``StoreUnavailableError`` when unreachable."""

    @abstractmethod
    async def _disconnect(self, handle: Handle) -> None:
        """Release ``handle``."""

    @abstractmethod
    async def _run(self, sql: str, params: Iterable[Any] = ()) -> Sequence[Row]:
        """Run one statement; its rows (none for a statement that returns none)."""

    @abstractmethod
    async def _write_ids(self, batch: list[tuple[str, IdTarget]]) -> None:
        """Insert a batch of ID map entries in one transaction, keeping existing ones."""

    # --- connection ------------------------------------------------------------------------

    async def open(self) -> None:
        await self._connected()

    async def close(self) -> None:
        await self._ids.flush()
        self._closed = True
        if self._handle is not None:
            handle, self._handle = self._handle, None
            await self._disconnect(handle)

    async def _connected(self) -> Handle:
        if self._handle is not None:
            return self._handle
        if self._closed:
            raise StoreUnavailableError("the store was closed")
        # Callers arriving together wait for one connection instead of each opening their own.
        async with self._opening:
            if self._handle is None:
                self._handle = await self._connect()
        return self._handle

    async def ping(self) -> None:
        await self._run("SELECT 1", ())

    # --- API keys -------------------------------------------------------------------------

    async def add_key(self, key: KeyRecord) -> None:
        when = self.dialect.write_time
        await self._run(
            self.dialect.sql(_INSERT_KEY),
            (
                key.key_id,
                key.digest,
                key.project_id,
                " ".join(sorted(key.scopes)),
                when(key.created_at),
                when(key.expires_at),
                when(key.last_used_at),
                when(key.revoked_at),
            ),
        )

    async def find_key(self, digest: str) -> KeyRecord | None:
        keys = await self._select_keys(_KEY_BY_DIGEST, (digest,))
        return keys[0] if keys else None

    async def get_key(self, key_id: str) -> KeyRecord | None:
        keys = await self._select_keys(_KEY_BY_ID, (key_id,))
        return keys[0] if keys else None

    async def list_keys(self, project_id: str | None = None) -> list[KeyRecord]:
        if project_id is None:
            return await self._select_keys(_ALL_KEYS, ())
        return await self._select_keys(_PROJECT_KEYS, (project_id,))

    async def revoke_key(self, key_id: str, at: datetime) -> bool:
        when = self.dialect.write_time(at)
        rows = await self._run(
            self.dialect.sql(
                "UPDATE api_keys SET revoked_at = {p} WHERE key_id = {p} "
                "AND (revoked_at IS NULL OR revoked_at > {p}) RETURNING key_id"
            ),
            (when, key_id, when),
        )
        return bool(rows)

    async def _select_keys(self, query: str, params: tuple[Any, ...]) -> list[KeyRecord]:
        rows = await self._run(self.dialect.sql(query), params)
        return [self._key(row) for row in rows]

    def _key(self, row: Row) -> KeyRecord:
        read = self.dialect.read_time
        created = read(row[4])
        assert created is not None  # NOT NULL column
        return KeyRecord(
            key_id=row[0],
            digest=row[1],
            project_id=row[2],
            scopes=frozenset(row[3].split()),
            created_at=created,
            expires_at=read(row[5]),
            last_used_at=read(row[6]),
            revoked_at=read(row[7]),
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

    async def _read_id(self, public_id: str) -> IdTarget | None:
        rows = await self._run(
            self.dialect.sql(
                "SELECT platform, account_external_id, campaign_external_id, external_id "
                "FROM id_map WHERE id = {p}"
            ),
            (public_id,),
        )
        return IdTarget(*rows[0]) if rows else None


def id_rows(batch: list[tuple[str, IdTarget]]) -> list[tuple[str, str, str, str | None, str]]:
    """ID map entries as ``id_map`` rows, in its column order.

    The platform is bound as a plain ``str``: listings pass the ``Platform`` enum, a ``str``
    subclass, which sqlite3 first looks up in its adapter registry (and probes for
    ``__adapt__`` and ``__conform__``) for every row, at many times the cost of binding it."""
    return [
        (i, str(t.platform), t.account_external_id, t.campaign_external_id, t.external_id)
        for i, t in batch
    ]
