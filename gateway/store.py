"""SQLite store: issued API keys (digests only) and the reverse map of public IDs.

Writes are rare (a key issued, an ID seen for the first time) and batched in one transaction;
reads of the ID map go through a bounded in-memory cache first, so a steady listing does no SQL
and memory does not grow with the number of ad sets ever listed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

#: IDs kept in memory; older ones are read back from SQLite when asked for.
CACHE_SIZE = 20_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    digest TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS id_map (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    account_external_id TEXT NOT NULL,
    campaign_external_id TEXT,
    external_id TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class IdTarget:
    """What a public ID points at upstream."""

    platform: str
    account_external_id: str
    campaign_external_id: str | None
    external_id: str


@dataclass(frozen=True, slots=True)
class StoredKey:
    """An issued API key, by digest."""

    digest: str
    project_id: str
    scopes: frozenset[str]


class Store:
    """A small SQLite database shared by the process (thread-safe, one connection)."""

    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # An ID map can be rebuilt: no fsync on every commit (WAL keeps the file consistent).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._ids: OrderedDict[str, IdTarget] = OrderedDict()

    def close(self) -> None:
        self._db.close()

    async def ping(self) -> None:
        """A cheap round trip to the database (readiness); raises when it cannot answer."""
        with self._lock:
            self._db.execute("SELECT 1").fetchone()

    # --- API keys -------------------------------------------------------------------------

    def add_key(self, digest: str, project_id: str, scopes: Iterable[str]) -> None:
        """Remember an issued key's digest."""
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys (digest, project_id, scopes, created_at) VALUES (?, ?, ?, ?)",
                (digest, project_id, " ".join(sorted(scopes)), datetime.now(UTC).isoformat()),
            )

    def find_key(self, digest: str) -> StoredKey | None:
        """The issued key with this digest, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT digest, project_id, scopes FROM api_keys WHERE digest = ?", (digest,)
            ).fetchone()
        if row is None:
            return None
        return StoredKey(digest=row[0], project_id=row[1], scopes=frozenset(row[2].split()))

    # --- ID reverse map -------------------------------------------------------------------

    def knows(self, public_id: str) -> bool:
        """Whether ``public_id`` was remembered recently (a cheap check before building an
        entry; False does not mean the database lacks it)."""
        return public_id in self._ids

    def remember_ids(self, entries: Iterable[tuple[str, IdTarget]]) -> None:
        """Record IDs not seen before (cheap when all are known)."""
        fresh = [(i, t) for i, t in entries if i not in self._ids]
        if not fresh:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO id_map VALUES (?, ?, ?, ?, ?)",
                    [
                        (
                            i,
                            t.platform,
                            t.account_external_id,
                            t.campaign_external_id,
                            t.external_id,
                        )
                        for i, t in fresh
                    ],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        for public_id, target in fresh:
            self._cache(public_id, target)

    def _cache(self, public_id: str, target: IdTarget) -> None:
        self._ids[public_id] = target
        self._ids.move_to_end(public_id)
        if len(self._ids) > CACHE_SIZE:
            self._ids.popitem(last=False)

    def resolve(self, public_id: str) -> IdTarget | None:
        """What ``public_id`` names, if it was ever seen."""
        target = self._ids.get(public_id)
        if target is not None:
            return target
        with self._lock:
            row = self._db.execute(
                "SELECT platform, account_external_id, campaign_external_id, external_id "
                "FROM id_map WHERE id = ?",
                (public_id,),
            ).fetchone()
        if row is None:
            return None
        target = IdTarget(*row)
        self._cache(public_id, target)
        return target
