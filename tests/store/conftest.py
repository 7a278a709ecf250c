"""Stores to test against: SQLite always, PostgreSQL when ``GATEWAY_TEST_POSTGRES_URL`` is set.

Without the variable the PostgreSQL cases are skipped with that reason, except in CI
(``CI=true``), where a missing variable or an unreachable server fails them. Each test gets its
own PostgreSQL schema (dropped afterwards), so runs in parallel do not collide.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from gateway.store import Store, open_store

POSTGRES_ENV = "GATEWAY_TEST_POSTGRES_URL"

MakeStore = Callable[[], Awaitable[Store]]


def postgres_base_url() -> str:
    """The test server's URL, or a skip (a failure in CI) naming the variable."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"{POSTGRES_ENV} is not set; CI must run the PostgreSQL tests (.ci/run)")
    pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL store tests skipped (.ci/run sets it)")


def with_search_path(url: str, schema: str) -> str:
    """``url`` with every session's search_path set to ``schema`` (libpq ``options``)."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL on a fresh, empty schema of the test database."""
    base = postgres_base_url()
    schema = f"gw_test_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"CREATE SCHEMA {schema}".encode())
    try:
        yield with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE".encode())


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``[gateway] database`` URL of each kind, on an empty database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gateway.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def make_store(database: str) -> AsyncIterator[MakeStore]:
    """Opens stores on the same database (as several instances would), closing them after."""
    opened: list[Store] = []

    async def make() -> Store:
        store = open_store(database)
        opened.append(store)
        await store.open()
        return store

    yield make
    for store in opened:
        await store.close()


@pytest.fixture
async def store(make_store: MakeStore) -> Store:
    return await make_store()
