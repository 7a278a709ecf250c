"""The versioned schema: numbered steps, each written for SQLite and for PostgreSQL.

Start-up applies the steps a database lacks and records them in ``schema_migrations``. Steps
are only ever appended. The whole run holds an exclusive lock (SQLite ``BEGIN IMMEDIATE``,
PostgreSQL a transaction-scoped advisory lock), so instances starting together against an
empty database apply each step once; DDL is transactional on both, so a failed step leaves
nothing half-done.

Step 1 is the schema of the first releases (its ``IF NOT EXISTS`` lets a database made by them
count as version 1); step 2 gives keys a public id, expiry, last use and revocation. Keys made
before step 2 get the id ``legacy_`` + the start of their digest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Step:
    """One schema change, as statements per dialect."""

    version: int
    description: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


_ID_MAP = """CREATE TABLE IF NOT EXISTS id_map (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    account_external_id TEXT NOT NULL,
    campaign_external_id TEXT,
    external_id TEXT NOT NULL
)"""

_LEGACY_IDS = (
    "UPDATE api_keys SET key_id = 'legacy_' || substr(digest, 1, 14) WHERE key_id IS NULL",
    "CREATE UNIQUE INDEX api_keys_key_id ON api_keys (key_id)",
    "CREATE INDEX api_keys_project ON api_keys (project_id)",
)

STEPS: tuple[Step, ...] = (
    Step(
        1,
        "api keys by digest; ID reverse map",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS api_keys (digest TEXT PRIMARY KEY, "
            "project_id TEXT NOT NULL, scopes TEXT NOT NULL, created_at TEXT NOT NULL)",
            _ID_MAP,
        ),
        postgres=(
            "CREATE TABLE api_keys (digest TEXT PRIMARY KEY, project_id TEXT NOT NULL, "
            "scopes TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)",
            _ID_MAP,
        ),
    ),
    Step(
        2,
        "key ids, expiry, last use, revocation",
        sqlite=(
            "ALTER TABLE api_keys ADD COLUMN key_id TEXT",
            "ALTER TABLE api_keys ADD COLUMN expires_at TEXT",
            "ALTER TABLE api_keys ADD COLUMN last_used_at TEXT",
            "ALTER TABLE api_keys ADD COLUMN revoked_at TEXT",
            *_LEGACY_IDS,
        ),
        postgres=(
            "ALTER TABLE api_keys ADD COLUMN key_id TEXT",
            "ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMPTZ",
            "ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMPTZ",
            "ALTER TABLE api_keys ADD COLUMN revoked_at TIMESTAMPTZ",
            *_LEGACY_IDS,
            "ALTER TABLE api_keys ALTER COLUMN key_id SET NOT NULL",
        ),
    ),
)

LATEST = STEPS[-1].version

MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def missing(applied: set[int]) -> list[Step]:
    """The steps not applied yet, in order."""
    return [step for step in STEPS if step.version not in applied]
