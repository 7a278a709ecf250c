"""Identical listings running at the same moment are sent once and shared; nothing is kept
once the answer is in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.platforms import registry
from gateway.platforms.base import AdSetQuery, Platform
from gateway.platforms.pool import upstream_pool
from gateway.resilience.client import ResilientPlatform
from gateway.sandbox.suite import SandboxSuite


@pytest.fixture
async def meta(suite: SandboxSuite) -> AsyncIterator[ResilientPlatform]:
    suite.reset()
    http = upstream_pool(httpx.Timeout(5.0), suite.transport())
    settings = suite.settings().platforms[Platform.META_ADS]
    client = ResilientPlatform(registry.factory(Platform.META_ADS).client(http, settings))
    yield client
    await client.aclose()
    await http.aclose()
    suite.reset()


async def test_concurrent_identical_page_requests_make_one_upstream_call(
    suite: SandboxSuite, meta: ResilientPlatform
) -> None:
    account = suite.accounts[Platform.META_ADS][0]
    control = suite.controls[Platform.META_ADS]
    await meta.get_account(account)  # the currency is cached: a page is one call
    control.reset()
    control.latency_ms = 50  # the requests overlap
    pages = await asyncio.gather(
        *(meta.list_adsets(account, AdSetQuery(), start=None, count=5) for _ in range(10))
    )
    assert control.log.count(f"{account.external_id}/adsets") == 1
    assert all(page == pages[0] for page in pages)
    # a different count is a different request, and a later one calls again (no cache)
    await asyncio.gather(
        meta.list_adsets(account, AdSetQuery(), start=None, count=5),
        meta.list_adsets(account, AdSetQuery(), start=None, count=6),
    )
    assert control.log.count(f"{account.external_id}/adsets") == 3


async def test_one_caller_cancelled_does_not_cancel_the_others(
    suite: SandboxSuite, meta: ResilientPlatform
) -> None:
    account = suite.accounts[Platform.META_ADS][0]
    suite.controls[Platform.META_ADS].latency_ms = 50
    first = asyncio.create_task(meta.list_adsets(account, AdSetQuery(), start=None, count=5))
    second = asyncio.create_task(meta.list_adsets(account, AdSetQuery(), start=None, count=5))
    await asyncio.sleep(0.01)
    first.cancel()
    page = await second
    assert page.rows
    with pytest.raises(asyncio.CancelledError):
        await first
