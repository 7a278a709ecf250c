"""Two gateway apps on one database (SQLite file or PostgreSQL), as two instances would run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from gateway.apikeys import issue_key
from gateway.app import close_runtime, create_app
from gateway.auth import CACHE_TTL
from gateway.sandbox.suite import DEMO_PROJECT_ID, SandboxSuite
from gateway.store import Store, open_store

ADSETS = f"/v1/projects/{DEMO_PROJECT_ID}/ads/adsets"


@pytest.fixture
async def instances(
    database: str, suite: SandboxSuite
) -> AsyncIterator[list[tuple[httpx.AsyncClient, Store]]]:
    suite.reset()
    settings = suite.settings(database=database)
    out = []
    apps = []
    for _ in range(2):
        store = open_store(database)
        app = create_app(settings, transport=suite.transport(), store=store)
        apps.append(app)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
        out.append((http, store))
    yield out
    for (http, _), app in zip(out, apps, strict=True):
        await http.aclose()
        await close_runtime(app.state.runtime)
    suite.reset()


async def test_keys_and_ids_are_shared_and_revocation_reaches_the_other_within_seconds(
    instances: list[tuple[httpx.AsyncClient, Store]], suite: SandboxSuite
) -> None:
    (a, store_a), (b, store_b) = instances
    # given a key issued into the shared database (as `gateway keys create` does)
    key, _ = await issue_key(store_a, DEMO_PROJECT_ID, ["ads:read"])
    auth = {"Authorization": f"Bearer {key}"}
    # then both instances accept it
    first = await a.get(ADSETS, params={"limit": 100}, headers=auth)
    assert first.status_code == 200, first.text
    second = await b.get(ADSETS, params={"limit": 1}, headers=auth)
    assert second.status_code == 200

    # IDs A listed resolve on B once written, with no listing on B
    seen_by_b = {item["campaignId"] for item in second.json()["items"]}
    campaign_id = next(
        item["campaignId"] for item in first.json()["items"] if item["campaignId"] not in seen_by_b
    )
    await store_a.flush()
    assert not store_b.knows(campaign_id)
    suite.reset()
    by_campaign = await b.get(ADSETS, params={"campaignId": campaign_id}, headers=auth)
    assert by_campaign.status_code == 200
    # (a miss would have indexed the campaigns of every account, on all three platforms)
    assert [p for p, c in suite.controls.items() if c.log.entries] == [
        by_campaign.json()["items"][0]["platform"]
    ]
    items = by_campaign.json()["items"]
    assert items and {item["campaignId"] for item in items} == {campaign_id}

    # when A's store revokes the key, B honours it within its cache's lifetime
    (key_id,) = [k.key_id for k in await store_a.list_keys(DEMO_PROJECT_ID)]
    assert await store_a.revoke_key(key_id, datetime.now(UTC))
    revoked_at = time.monotonic()
    status = 200
    while status == 200 and time.monotonic() - revoked_at < CACHE_TTL + 2:
        status = (await b.get(ADSETS, params={"limit": 1}, headers=auth)).status_code
        await asyncio.sleep(0.25)
    assert status == 401
    assert time.monotonic() - revoked_at <= CACHE_TTL + 1
    refused = await a.get(ADSETS, params={"limit": 1}, headers=auth)
    assert refused.json()["error"] == {
        "code": "unauthenticated",
        "message": "this API key was revoked",
        "requestId": refused.headers["x-request-id"],
    }
