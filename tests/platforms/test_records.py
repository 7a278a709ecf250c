"""Per-row records are immutable, all the way down.

The REST writer caches an item's bytes by its record's identity (``wire.WrittenItems``) and the
platform clients hand the same record to every request that reads the same upstream row
(``platforms.memo``). Both are only correct if nobody can change a record once it is built.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from gateway.platforms import registry
from gateway.platforms.base import (
    AdSetQuery,
    AdSetRecord,
    AgeRange,
    Money,
    Platform,
    TargetingSummary,
)
from gateway.platforms.inprocess import TransportUpstream
from gateway.sandbox.suite import IN_PROCESS_BASE, SandboxSuite
from tests.fakes import make_record


def assert_deeply_immutable(value: Any, where: str = "record") -> None:
    """Fail unless ``value`` and everything reachable from it is an immutable value: scalars,
    enums, datetimes, tuples and frozensets of those, and frozen records."""
    if value is None or isinstance(value, bool | int | float | str | bytes | enum.Enum | datetime):
        return
    if isinstance(value, tuple | frozenset):
        for index, item in enumerate(value):
            assert_deeply_immutable(item, f"{where}[{index}]")
        return
    assert isinstance(value, msgspec.Struct), f"{where}: {type(value).__name__} is not a record"
    assert value.__struct_config__.frozen, f"{where}: {type(value).__name__} is not frozen"
    for name in value.__struct_fields__:
        assert_deeply_immutable(getattr(value, name), f"{where}.{name}")


def full_record() -> AdSetRecord:
    """A record with every nested part present."""
    return msgspec.structs.replace(
        make_record(Platform.META_ADS, "act_1", 1),
        daily_budget=Money(75.0, "USD"),
        lifetime_budget=Money(1000.0, "USD"),
        end_time=datetime(2026, 5, 1, tzinfo=UTC),
        targeting=TargetingSummary(
            geo=("US", "CA"),
            age=AgeRange(18, 34),
            custom_audiences=("238001",),
            placements=("facebook_feed",),
        ),
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("name", "Renamed"),
        ("status", "paused"),
        ("daily_budget", None),
        ("daily_budget.amount", 1.0),
        ("targeting", TargetingSummary()),
        ("targeting.geo", ("FR",)),
        ("targeting.age.max", 99),
    ],
)
def test_no_part_of_a_record_can_be_changed(path: str, value: Any) -> None:
    record = full_record()
    *parents, attr = path.split(".")
    target: Any = record
    for parent in parents:
        target = getattr(target, parent)
    before = getattr(target, attr)
    with pytest.raises(AttributeError):
        setattr(target, attr, value)
    assert getattr(target, attr) == before


def test_a_built_record_is_immutable_all_the_way_down() -> None:
    assert_deeply_immutable(full_record())


def test_a_changed_record_is_a_new_record_equal_to_nothing_before() -> None:
    record = full_record()
    renamed = msgspec.structs.replace(record, name="Renamed")
    assert renamed is not record
    assert renamed != record
    assert record.name == "Ad set 1"
    assert msgspec.structs.replace(record) == record


@pytest.fixture
async def http(suite: SandboxSuite) -> AsyncIterator[TransportUpstream]:
    suite.reset()
    async with TransportUpstream(suite.transport()) as client:
        yield client


@pytest.mark.parametrize("platform", list(Platform))
async def test_rows_shared_between_reads_are_immutable_records(
    platform: Platform, suite: SandboxSuite, http: TransportUpstream
) -> None:
    # given a platform client and an account with rows
    settings = suite.platform_settings(IN_PROCESS_BASE)[platform]
    client = registry.factory(platform).client(http, settings)
    seed = suite.seeds[platform]
    account = next(a for a in suite.accounts[platform] if seed.adset_ids(a.external_id))
    # when the same page is read twice
    first = await client.list_adsets(account, AdSetQuery(), start=None, count=20)
    again = await client.list_adsets(account, AdSetQuery(), start=None, count=20)
    # then the second read shares the first one's records (the memo keyed by upstream JSON),
    # and every one of them is immutable, so caching by their identity is safe
    assert first.rows
    assert all(a is b for a, b in zip(first.rows, again.rows, strict=True))
    for index, row in enumerate(first.rows):
        assert_deeply_immutable(row, f"rows[{index}]")
