"""The SQLite store: ID reverse map (bounded memory) and issued keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import store as store_module
from gateway.store import IdTarget, Store


def test_ids_survive_cache_eviction_and_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "CACHE_SIZE", 10)
    path = str(tmp_path / "ids.db")
    store = Store(path)
    entries = [(f"adg_{n}", IdTarget("meta_ads", "act_1", "c1", str(n))) for n in range(50)]
    store.remember_ids(entries)
    assert len(store._ids) == 10  # bounded
    assert store.knows("adg_49") and not store.knows("adg_0")  # evicted from memory only
    assert store.resolve("adg_0") == IdTarget("meta_ads", "act_1", "c1", "0")
    store.close()
    again = Store(path)
    assert again.resolve("adg_49") == IdTarget("meta_ads", "act_1", "c1", "49")
    assert again.resolve("adg_nope") is None
    again.close()


def test_keys_are_found_by_digest(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "keys.db"))
    store.add_key("ab" * 32, "prj_X", ["ads:read"])
    found = store.find_key("ab" * 32)
    assert found is not None
    assert found.project_id == "prj_X"
    assert found.scopes == frozenset({"ads:read"})
    assert store.find_key("cd" * 32) is None
    store.close()
