"""The persistent store: issued API keys and the reverse map of public IDs.

``open_store(database)`` picks the implementation from ``[gateway] database``: SQLite for
``sqlite:///...`` (the embedded default), PostgreSQL for ``postgresql://...`` (several
instances on one database).
"""

from __future__ import annotations

from gateway.config import POSTGRES_PREFIXES, SQLITE_PREFIX
from gateway.errors import ConfigError
from gateway.store.base import IdTarget, KeyRecord, Store
from gateway.store.postgres import PostgresStore
from gateway.store.sqlite import SqliteStore

__all__ = ["IdTarget", "KeyRecord", "PostgresStore", "SqliteStore", "Store", "open_store"]


def open_store(database: str) -> Store:
    """The store ``database`` names; it connects (and migrates) on first use or ``open()``."""
    if database.startswith(POSTGRES_PREFIXES):
        return PostgresStore(database)
    if database.startswith(SQLITE_PREFIX):
        return SqliteStore(database[len(SQLITE_PREFIX) :] or ":memory:")
    raise ConfigError("gateway.database must be a sqlite:/// or postgresql:// URL")
