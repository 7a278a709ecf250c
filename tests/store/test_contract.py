"""The Store contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from gateway.platforms.base import Platform
from gateway.store import IdTarget, KeyRecord, Store, idmap, migrations
from gateway.store.sql import id_rows
from tests.store.conftest import MakeStore

T0 = datetime(2026, 4, 1, 12, 0, 0, 123000, tzinfo=UTC)


def key(key_id: str, project: str = "prj_A", **changes: object) -> KeyRecord:
    fields: dict[str, object] = {
        "key_id": key_id,
        "digest": key_id.lower().ljust(64, "0"),
        "project_id": project,
        "scopes": frozenset({"ads:read"}),
        "created_at": T0,
        **changes,
    }
    return KeyRecord(**fields)  # type: ignore[arg-type]


async def test_keys_round_trip_by_digest_and_by_id(store: Store) -> None:
    # given a key with every field set
    full = key(
        "01HX9Y6K7EJ4T2",
        scopes=frozenset({"ads:read", "ads:write"}),
        expires_at=T0 + timedelta(days=30),
        last_used_at=T0 + timedelta(minutes=1),
        revoked_at=T0 + timedelta(days=1),
    )
    await store.add_key(full)
    # then it comes back whole, by digest and by id; unknown ones are None
    assert await store.find_key(full.digest) == full
    assert await store.get_key("01HX9Y6K7EJ4T2") == full
    assert await store.find_key("f" * 64) is None
    assert await store.get_key("01HXNOPE000000") is None


async def test_list_keys_oldest_first_and_by_project(store: Store) -> None:
    await store.add_key(key("B0000000000000", created_at=T0 + timedelta(seconds=2)))
    await store.add_key(key("A0000000000000", created_at=T0 + timedelta(seconds=1)))
    await store.add_key(key("C0000000000000", project="prj_B"))
    assert [k.key_id for k in await store.list_keys()] == [
        "C0000000000000",
        "A0000000000000",
        "B0000000000000",
    ]
    assert [k.key_id for k in await store.list_keys("prj_A")] == [
        "A0000000000000",
        "B0000000000000",
    ]
    assert await store.list_keys("prj_NONE") == []


async def test_revocation_earliest_time_stands(store: Store) -> None:
    await store.add_key(key("R0000000000000"))
    # a revocation in the future (a rotation's grace) can be brought forward, not pushed back
    assert await store.revoke_key("R0000000000000", T0 + timedelta(hours=1))
    assert await store.revoke_key("R0000000000000", T0)
    assert not await store.revoke_key("R0000000000000", T0 + timedelta(days=1))
    found = await store.get_key("R0000000000000")
    assert found is not None and found.revoked_at == T0
    assert found.refusal(T0) == "this API key was revoked"
    assert found.refusal(T0 - timedelta(seconds=1)) is None
    assert not await store.revoke_key("NOSUCHKEY00000", T0)


async def test_last_used_only_moves_forward(store: Store) -> None:
    await store.add_key(key("U0000000000000"))
    await store.add_key(key("V0000000000000"))
    later, earlier = T0 + timedelta(minutes=5), T0 + timedelta(minutes=1)
    await store.touch_keys({"U0000000000000": later, "V0000000000000": earlier})
    await store.touch_keys({"U0000000000000": earlier})
    await store.touch_keys({})
    u, v = await store.get_key("U0000000000000"), await store.get_key("V0000000000000")
    assert u is not None and u.last_used_at == later
    assert v is not None and v.last_used_at == earlier


async def test_a_digest_or_key_id_is_issued_once(store: Store) -> None:
    await store.add_key(key("D0000000000000"))
    with pytest.raises(Exception):  # noqa: B017, PT011 - each driver's IntegrityError
        await store.add_key(key("D0000000000000"))


async def test_ids_are_seen_at_once_and_by_another_instance_once_written(
    make_store: MakeStore,
) -> None:
    # given IDs remembered by one instance
    first = await make_store()
    target = IdTarget("meta_ads", "act_1", "c1", "s1")
    first.remember_ids([("adg_1", target), ("cmp_1", IdTarget("meta_ads", "act_1", None, "c1"))])
    # then that instance knows them before anything is written
    assert first.knows("adg_1")
    assert await first.resolve("adg_1") == target
    # and another instance on the same database resolves them once written
    await first.flush()
    second = await make_store()
    assert not second.knows("adg_1")
    assert await second.resolve("adg_1") == target
    assert second.knows("adg_1")
    assert await second.resolve("cmp_1") == IdTarget("meta_ads", "act_1", None, "c1")
    assert await second.resolve("adg_nope") is None
    # remembering an ID twice (another instance, a later page) is harmless
    second.remember_ids([("adg_1", target), ("adg_2", target)])
    first.remember_ids([("adg_2", target)])
    await second.flush()
    await first.flush()


async def test_ids_are_written_as_the_text_they_are(make_store: MakeStore) -> None:
    # IDs that look like numbers keep their zeros; quotes, backslashes and accents pass as is
    odd = {
        "adg_0012": IdTarget("apple_ads", "0400", None, "0012"),
        "adg_quoted": IdTarget("tiktok_ads", 'a"b\\c', "x'y", "é 1e3"),
    }
    first = await make_store()
    first.remember_ids(odd.items())
    await first.flush()
    second = await make_store()
    assert {i: await second.resolve(i) for i in odd} == odd


async def test_id_cache_is_bounded_and_evicted_ids_are_read_back(
    make_store: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idmap, "CACHE_SIZE", 10)
    store = await make_store()
    entries = [(f"adg_{n}", IdTarget("meta_ads", "act_1", "c1", str(n))) for n in range(50)]
    store.remember_ids(entries)
    await store.flush()
    assert store.knows("adg_49") and not store.knows("adg_0")  # evicted from memory only
    assert sum(store.knows(i) for i, _ in entries) == 10
    assert await store.resolve("adg_0") == IdTarget("meta_ads", "act_1", "c1", "0")


async def test_schema_steps_are_applied_once_by_instances_starting_together(
    make_store: MakeStore,
) -> None:
    # given an empty database, when four instances start at the same moment
    async with asyncio.timeout(30):
        stores = await asyncio.gather(*(make_store() for _ in range(4)))
    # then every one works, and each step was applied exactly once
    await stores[0].add_key(key("M0000000000000"))
    for store in stores:
        assert await store.get_key("M0000000000000") is not None
    assert await applied_versions(stores[3]) == [s.version for s in migrations.STEPS]


async def test_reopening_applies_nothing_again(make_store: MakeStore) -> None:
    first = await make_store()
    await first.add_key(key("K0000000000000"))
    await first.close()
    again = await make_store()
    assert await again.get_key("K0000000000000") is not None
    assert await applied_versions(again) == [s.version for s in migrations.STEPS]


async def applied_versions(store: Store) -> list[int]:
    run = store._run  # type: ignore[attr-defined]
    rows = await run("SELECT version FROM schema_migrations ORDER BY version")
    return [row[0] for row in rows]


def test_id_rows_bind_the_platform_as_plain_text() -> None:
    # listings hand the Platform enum (a str subclass): drivers get the plain text
    target = IdTarget(Platform.META_ADS, "act_1", "c1", "s1")
    rows = id_rows([("adg_1", target)])
    assert rows == [("adg_1", "meta_ads", "act_1", "c1", "s1")]
    assert type(rows[0][1]) is str


async def test_a_batch_of_ids_larger_than_one_insert_is_written_whole(
    make_store: MakeStore,
) -> None:
    # two full inserts of SQLite's and a partial one, with an ID written before among them
    first = await make_store()
    first.remember_ids([("adg_7", IdTarget("meta_ads", "act_1", "c1", "7"))])
    await first.flush()
    entries = [(f"adg_{n}", IdTarget("meta_ads", "act_1", "c1", str(n))) for n in range(250)]
    first.remember_ids(entries)
    await first.flush()
    second = await make_store()
    for public_id, target in entries:
        assert await second.resolve(public_id) == target
