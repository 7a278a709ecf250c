"""Rotating the cursor secret: cursors signed by a secret still listed keep the walk going; a
secret taken off the list makes its cursors mean the first page."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from gateway.app import close_runtime, create_app
from gateway.config import Settings
from gateway.sandbox.suite import SandboxSuite
from tests.gateway.conftest import ADSETS, AUTH, KEY

OLD = b"old-cursor-secret-0123456789"
NEW = b"new-cursor-secret-0123456789"

Instance = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def instance(suite: SandboxSuite) -> Instance:
    """Gateway instances on a freshly reset sandbox suite, each with its cursor secrets."""
    suite.reset()

    @asynccontextmanager
    async def started(
        secret: bytes, retired: tuple[bytes, ...] = ()
    ) -> AsyncIterator[httpx.AsyncClient]:
        settings: Settings = dataclasses.replace(
            suite.settings(key=KEY), cursor_secret=secret, retired_cursor_secrets=retired
        )
        app = create_app(settings, transport=suite.transport())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as http:
            yield http
        await close_runtime(app.state.runtime)

    return started


async def page(http: httpx.AsyncClient, cursor: str | None = None) -> dict[str, Any]:
    params = {"limit": "30", **({"cursor": cursor} if cursor else {})}
    response = await http.get(ADSETS, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[str]:
    return [item["adsetId"] for item in body["items"]]


async def test_a_cursor_signed_by_a_listed_old_secret_continues_the_walk(
    instance: Instance,
) -> None:
    async with instance(OLD) as before:
        first = await page(before)
        expected_second = await page(before, first["nextCursor"])
    # the secret rotates on every instance: the new one signs, the old one still verifies
    async with instance(NEW, retired=(OLD,)) as after:
        second = await page(after, first["nextCursor"])
        assert ids(second) == ids(expected_second)
        assert not set(ids(first)) & set(ids(second))
        # and the cursors it hands out now are signed by the new secret
        third_via_new = await page(after, second["nextCursor"])
    async with instance(NEW) as only_new:
        assert ids(await page(only_new, second["nextCursor"])) == ids(third_via_new)


async def test_a_cursor_signed_by_a_removed_secret_means_the_first_page(instance: Instance) -> None:
    async with instance(OLD) as before:
        first = await page(before)
    async with instance(NEW) as after:
        assert ids(await page(after, first["nextCursor"])) == ids(first)
