"""The row counts README.md documents for the default seeds, read over HTTP the way a client
would count them (the platforms' own totals)."""

from __future__ import annotations

import pytest

from gateway.platforms.base import Platform
from gateway.sandbox.suite import SandboxSuite
from tests.sandbox.wire import suite_http

SUITE = SandboxSuite.build()

META_LARGE_BY_STATUS = {
    "ACTIVE": 438, "PAUSED": 164, "CAMPAIGN_PAUSED": 121, "WITH_ISSUES": 78, "IN_PROCESS": 75,
    "ARCHIVED": 154, "DELETED": 170,
}  # fmt: skip
META_TOTALS = [1200, 48, 0, 31]
TIKTOK_TOTALS_AND_DELETED = [(1200, 152), (90, None), (24, None)]
APPLE_TOTALS_AND_DELETED = [(1200, 286), (36, None), (9, None)]


def rule(statuses: list[str]) -> list[dict[str, object]]:
    return [{"field": "adset.effective_status", "operator": "IN", "value": statuses}]


async def test_meta_counts_per_status_and_account() -> None:
    async with suite_http(SUITE) as h:
        large = h.account(Platform.META_ADS).external_id
        for status, count in META_LARGE_BY_STATUS.items():
            params = {"summary": "total_count", "filtering": rule([status])}
            body = (await h.meta(f"/{large}/adsets", params)).json()
            assert (status, body["summary"]["total_count"]) == (status, count)
        totals = []
        for index, account in enumerate(SUITE.accounts[Platform.META_ADS]):
            params = {"summary": "total_count", "filtering": rule(list(META_LARGE_BY_STATUS))}
            body = (await h.meta(f"/{account.external_id}/adsets", params, index=index)).json()
            totals.append(body["summary"]["total_count"])
    assert totals == META_TOTALS
    assert sum(META_LARGE_BY_STATUS.values()) == META_TOTALS[0]


@pytest.mark.parametrize(("index", "expected"), list(enumerate(TIKTOK_TOTALS_AND_DELETED)))
async def test_tiktok_counts(index: int, expected: tuple[int, int | None]) -> None:
    total, deleted = expected
    async with suite_http(SUITE) as h:
        everything = await h.tiktok(
            "/adgroup/get/", {"filtering": {"primary_status": "STATUS_ALL"}}, index=index
        )
        gone = await h.tiktok(
            "/adgroup/get/", {"filtering": {"primary_status": "STATUS_DELETE"}}, index=index
        )
    assert everything["data"]["page_info"]["total_number"] == total
    if deleted is not None:
        assert gone["data"]["page_info"]["total_number"] == deleted


@pytest.mark.parametrize(("index", "expected"), list(enumerate(APPLE_TOTALS_AND_DELETED)))
async def test_apple_counts(index: int, expected: tuple[int, int | None]) -> None:
    total, deleted = expected

    def query(flag: bool) -> dict[str, object]:
        return {
            "filters": [{"field": "deleted", "operator": "EQUALS", "value": flag}],
            "pagination": {"offset": 0, "pageSize": 1, "fetchTotalCount": True},
        }

    async with suite_http(SUITE) as h:
        live = (await h.apple("POST", "/adgroups/query", query(False), index=index)).json()
        gone = (await h.apple("POST", "/adgroups/query", query(True), index=index)).json()
    counts = (live["pagination"]["totalCount"], gone["pagination"]["totalCount"])
    assert sum(counts) == total
    if deleted is not None:
        assert counts[1] == deleted
