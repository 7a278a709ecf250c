"""No sandbox reports a creation, modification or start time later than its clock, whatever
the size of the large accounts, and the seeds stay deterministic (issue 11)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.platforms.base import Platform
from gateway.sandbox import apple, meta, tiktok
from gateway.sandbox.clock import SEED_CLOCK
from gateway.sandbox.suite import SandboxSuite
from tests.sandbox.wire import SuiteHttp, suite_http

SIZES = [0, 1, 7, 1200, 5000]
EVERY_META_STATUS = [
    "ACTIVE", "PAUSED", "DELETED", "PENDING_REVIEW", "DISAPPROVED", "PREAPPROVED",
    "PENDING_BILLING_INFO", "CAMPAIGN_PAUSED", "ARCHIVED", "ADSET_PAUSED", "IN_PROCESS",
    "WITH_ISSUES",
]  # fmt: skip


def meta_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


def tiktok_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def apple_time(text: str) -> datetime:
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=UTC)


async def meta_times(h: SuiteHttp) -> list[datetime]:
    rule = [{"field": "adset.effective_status", "operator": "IN", "value": EVERY_META_STATUS}]
    times: list[datetime] = []
    for index, account in enumerate(h.suite.accounts[Platform.META_ADS]):
        for edge in ("adsets", "campaigns"):
            params: dict[str, Any] = {
                "fields": "created_time,updated_time,start_time",
                "limit": "500",
                "filtering": rule if edge == "adsets" else [],
                "effective_status": ["ACTIVE", "PAUSED", "ARCHIVED", "DELETED"],
            }
            after: str | None = None
            while True:
                page = {**params, **({"after": after} if after else {})}
                body = (await h.meta(f"/{account.external_id}/{edge}", page, index=index)).json()
                for row in body["data"]:
                    times += [meta_time(row[k]) for k in ("created_time", "updated_time")]
                    times.append(meta_time(row["start_time"]))
                if "next" not in body.get("paging", {}):
                    break
                after = body["paging"]["cursors"]["after"]
    return times


async def tiktok_times(h: SuiteHttp) -> list[datetime]:
    times: list[datetime] = []
    for index in range(len(h.suite.accounts[Platform.TIKTOK_ADS])):
        for path, keys in (
            ("/adgroup/get/", ("create_time", "modify_time", "schedule_start_time")),
            ("/campaign/get/", ("create_time", "modify_time")),
        ):
            page = 1
            while True:
                params = {"filtering": {"primary_status": "STATUS_ALL"}, "page": str(page),
                          "page_size": "1000"}  # fmt: skip
                body = await h.tiktok(path, params, index=index)
                assert body["code"] == 0, body
                times += [tiktok_time(row[k]) for row in body["data"]["list"] for k in keys]
                if page >= body["data"]["page_info"]["total_page"]:
                    break
                page += 1
    return times


async def apple_times(h: SuiteHttp) -> list[datetime]:
    times: list[datetime] = []
    for index in range(len(h.suite.accounts[Platform.APPLE_ADS])):
        for kind in ("adgroups", "campaigns"):
            for deleted in (False, True):
                offset = 0
                while True:
                    body = {
                        "filters": [{"field": "deleted", "operator": "EQUALS", "value": deleted}],
                        "pagination": {"offset": offset, "pageSize": 1000, "fetchTotalCount": True},
                    }
                    reply = (await h.apple("POST", f"/{kind}/query", body, index=index)).json()
                    for row in reply["result"]:
                        keys = ("creationTime", "modificationTime", "startTime")
                        times += [apple_time(row[k]) for k in keys if row.get(k)]
                    offset += len(reply["result"])
                    if offset >= reply["pagination"]["totalCount"]:
                        break
    return times


@pytest.mark.parametrize("large_adsets", SIZES)
async def test_no_seeded_time_is_later_than_the_sandbox_clock(large_adsets: int) -> None:
    suite = SandboxSuite.build(large_adsets=large_adsets)
    async with suite_http(suite) as h:
        per_platform = {
            "meta": await meta_times(h),
            "tiktok": await tiktok_times(h),
            "apple": await apple_times(h),
        }
    now = datetime.now(UTC)
    assert now >= SEED_CLOCK
    for name, times in per_platform.items():
        assert times, name
        late = [t for t in times if t > SEED_CLOCK]
        assert late == [], f"{name}: {len(late)} times after {SEED_CLOCK}, latest {max(late)}"


@pytest.mark.parametrize("large_adsets", [1, 5000])
def test_seeds_are_deterministic(large_adsets: int) -> None:
    for module in (meta, tiktok, apple):
        first, second = module.build_seed(large_adsets), module.build_seed(large_adsets)
        for account in first.accounts:
            assert first.adset_ids(account.external_id) == second.adset_ids(account.external_id)
    assert (
        meta.build_seed(large_adsets).data[0].adsets == meta.build_seed(large_adsets).data[0].adsets
    )
    assert (
        tiktok.build_seed(large_adsets).advertisers == tiktok.build_seed(large_adsets).advertisers
    )
    first_apple, second_apple = apple.build_seed(large_adsets), apple.build_seed(large_adsets)
    assert [d.adgroups for d in first_apple.data.values()] == [
        d.adgroups for d in second_apple.data.values()
    ]
