"""The PostgreSQL test setup itself: skipped visibly on a laptop, never silently in CI."""

from __future__ import annotations

import pytest

from tests.store.conftest import POSTGRES_ENV, postgres_base_url


def test_a_missing_url_skips_with_its_reason_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POSTGRES_ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"{POSTGRES_ENV} is not set"):
        postgres_base_url()


def test_a_missing_url_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POSTGRES_ENV, raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the PostgreSQL tests"):
        postgres_base_url()
