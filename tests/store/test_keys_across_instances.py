"""Issued keys as several gateway instances on one database see them (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.apikeys import (
    KEY_ID_LENGTH,
    digest_key,
    issue_key,
    key_id_of,
    new_key,
    new_key_id,
    rotate_key,
)
from gateway.auth import CACHE_TTL, Authenticator
from gateway.config import ApiKeySpec, ProjectConfig, Settings
from gateway.errors import AuthenticationError
from gateway.store import Store
from tests.store.conftest import MakeStore

PROJECT = "prj_01HX9Y7K8M2P4RSTUV56789AB"
CONFIGURED_KEY = "any-format-key-declared-by-digest"
SETTINGS = Settings(
    cursor_secret=b"0123456789abcdef0123",
    projects=(
        ProjectConfig(
            PROJECT, "Acme", (ApiKeySpec(digest_key(CONFIGURED_KEY), frozenset({"ads:read"})),), ()
        ),
    ),
)


class Clock:
    """Monotonic seconds and wall time, moved by hand."""

    def __init__(self) -> None:
        self.seconds = 1000.0
        self.wall = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.wall += timedelta(seconds=seconds)


def instance(store: Store, clock: Clock) -> Authenticator:
    return Authenticator(SETTINGS, store, clock=clock.monotonic, now=clock.now)


async def refused(auth: Authenticator, key: str) -> str:
    with pytest.raises(AuthenticationError) as info:
        await auth.authenticate(f"Bearer {key}")
    return info.value.message


async def test_a_key_issued_or_revoked_on_one_instance_holds_on_the_other_within_the_ttl(
    make_store: MakeStore,
) -> None:
    clock = Clock()
    store_a, store_b = await make_store(), await make_store()
    a, b = instance(store_a, clock), instance(store_b, clock)
    # given a key issued through instance A's store (as the CLI does)
    key, record = await issue_key(store_a, PROJECT, ["ads:read"], now=clock.now())
    # then instance B accepts it at once, naming the key by its id
    principal = await b.authenticate(f"Bearer {key}")
    assert (principal.project_id, principal.scopes) == (PROJECT, frozenset({"ads:read"}))
    assert principal.key_id == record.key_id == key_id_of(key)
    # when A's store revokes it, B may answer from its cache for at most the TTL
    assert await store_a.revoke_key(record.key_id, clock.now())
    clock.advance(CACHE_TTL - 1)
    await b.authenticate(f"Bearer {key}")
    clock.advance(1.01)
    assert await refused(b, key) == "this API key was revoked"
    assert await refused(a, key) == "this API key was revoked"
    await a.aclose()
    await b.aclose()


async def test_unknown_and_expired_keys_are_refused(make_store: MakeStore) -> None:
    clock = Clock()
    store = await make_store()
    auth = instance(store, clock)
    assert await refused(auth, "lp_live_01HX9Y6K7EJ4T2_notissued") == "unknown API key"
    key, _ = await issue_key(
        store, PROJECT, ["ads:read"], expires_at=clock.now() + timedelta(hours=1), now=clock.now()
    )
    await auth.authenticate(f"Bearer {key}")
    clock.advance(3600)
    assert await refused(auth, key) == "this API key has expired"
    await auth.aclose()


async def test_last_use_is_written_at_most_once_a_minute_per_key(make_store: MakeStore) -> None:
    clock = Clock()
    store = await make_store()
    auth = instance(store, clock)
    key, record = await issue_key(store, PROJECT, ["ads:read"], now=clock.now())
    first_use = clock.now()
    for _ in range(5):
        await auth.authenticate(f"Bearer {key}")
        clock.advance(10)
    await auth.aclose()
    found = await store.get_key(record.key_id)
    assert found is not None and found.last_used_at == first_use
    # a minute after the recorded use, the next one is recorded
    clock.advance(20)
    await auth.authenticate(f"Bearer {key}")
    await auth.aclose()
    found = await store.get_key(record.key_id)
    assert found is not None and found.last_used_at == first_use + timedelta(seconds=70)


async def test_rotation_keeps_the_old_key_for_its_grace_period(make_store: MakeStore) -> None:
    clock = Clock()
    store = await make_store()
    auth = instance(store, clock)
    old_key, old = await issue_key(store, PROJECT, ["ads:read", "ads:write"], now=clock.now())
    rotated = await rotate_key(store, old.key_id, grace=timedelta(minutes=10), now=clock.now())
    assert rotated is not None
    new_key, new, revoked = rotated
    assert new.key_id != old.key_id and new.scopes == old.scopes
    assert revoked.revoked_at == clock.now() + timedelta(minutes=10)
    # both work during the grace period; afterwards only the new one
    assert (await auth.authenticate(f"Bearer {old_key}")).key_id == old.key_id
    assert (await auth.authenticate(f"Bearer {new_key}")).key_id == new.key_id
    clock.advance(600)
    assert await refused(auth, old_key) == "this API key was revoked"
    await auth.authenticate(f"Bearer {new_key}")
    # a revoked key cannot be rotated again
    assert await rotate_key(store, old.key_id, now=clock.now()) is None
    await auth.aclose()


async def test_configured_keys_work_whatever_their_format(store: Store) -> None:
    auth = instance(store, Clock())
    principal = await auth.authenticate(f"Bearer {CONFIGURED_KEY}")
    assert principal.project_id == PROJECT
    assert principal.key_id == f"sha256:{digest_key(CONFIGURED_KEY)[:12]}"


def test_issued_keys_carry_a_sortable_public_id() -> None:
    earlier = datetime(2026, 4, 1, tzinfo=UTC)
    ids = [key_id_of(f"lp_live_{i}_secret") for i in ("01HX9Y6K7EJ4T2", "01HX9Y6K7EJ4T")]
    assert ids == ["01HX9Y6K7EJ4T2", None]
    assert key_id_of("lp_live_01HX9Y6K7EJ4T2_") is None
    assert key_id_of("lp_test_01HX9Y6K7EJ4T2_x") is None
    assert new_key_id(earlier) < new_key_id(earlier + timedelta(milliseconds=1))
    key = new_key()
    found = key_id_of(key)
    assert found is not None and len(found) == KEY_ID_LENGTH
    assert len(key) > len("lp_live_") + KEY_ID_LENGTH + 40  # 256 random bits of secret
