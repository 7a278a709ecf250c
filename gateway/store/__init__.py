"""The persistent store: issued API keys and the reverse map of public IDs.

``open_store(database)`` picks the implementation from ``[gateway] database``: SQLite for
``sqlite:///...`` (the embedded default), PostgreSQL for ``postgresql://...`` (several
instances on one database).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.config import POSTGRES_PREFIXES, SQLITE_PREFIX
from gateway.errors import ConfigError
from gateway.store.base import IdTarget, KeyRecord, Store
from gateway.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from gateway.store.postgres import PostgresStore

__all__ = ["IdTarget", "KeyRecord", "PostgresStore", "SqliteStore", "Store", "open_store"]


def open_store(database: str) -> Store:
    """The store ``database`` names; it connects (and migrates) on first use or ``open()``."""
    if database.startswith(POSTGRES_PREFIXES):
        from gateway.store.postgres import PostgresStore

        return PostgresStore(database)
    if database.startswith(SQLITE_PREFIX):
        return SqliteStore(database[len(SQLITE_PREFIX) :] or ":memory:")
    raise ConfigError("gateway.database must be a sqlite:/// or postgresql:// URL")


def __getattr__(name: str) -> Any:
    # psycopg costs ~15 MiB of RSS: a gateway on SQLite (the embedded default) never loads it.
    if name == "PostgresStore":
        from gateway.store.postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
