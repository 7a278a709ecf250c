"""Direct calls to the Meta sandbox, the same request the gateway's Meta client sends for an
ad-set page: the yardstick the gateway's latencies are divided by."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from gateway.platforms.meta import API_VERSION
from gateway.platforms.meta.mapping import ADSET_FIELDS
from gateway.platforms.meta.statuses import effective_status_rule

MAX_WALK_PAGES = 1000


class MetaAdsets:
    """``GET {base}/{version}/act_.../adsets`` for one configured Meta account."""

    def __init__(self, doc: Mapping[str, Any], external_id: str) -> None:
        meta = doc["platforms"]["meta_ads"]
        account = next(
            a
            for a in doc["projects"][0]["ad_accounts"]
            if a["platform"] == "meta_ads" and a["external_id"] == external_id
        )
        root = f"{meta['base_url'].rstrip('/')}/{meta.get('api_version', API_VERSION)}"
        self.url = f"{root}/{external_id}/adsets"
        self.headers = {"Authorization": f"Bearer {account['credentials']['access_token']}"}
        self.params = {
            "fields": ",".join(ADSET_FIELDS),
            "summary": "total_count",
            "filtering": orjson.dumps([effective_status_rule(None)]).decode(),
        }

    async def page(
        self, client: httpx.AsyncClient, limit: int, after: str | None = None
    ) -> tuple[float, str | None]:
        """One page: (seconds it took, the ``after`` cursor when a next page exists)."""
        params = {**self.params, "limit": str(limit)}
        if after is not None:
            params["after"] = after
        started = time.perf_counter()
        response = await client.get(self.url, params=params, headers=self.headers)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        body = response.json()
        paging = body.get("paging") or {}
        following = paging.get("cursors", {}).get("after") if paging.get("next") else None
        return elapsed, following

    async def walk(self, client: httpx.AsyncClient, limit: int) -> tuple[float, int]:
        """Every page of the account: (sum of page times in seconds, pages)."""
        total, after = 0.0, None
        for pages in range(1, MAX_WALK_PAGES + 1):
            elapsed, after = await self.page(client, limit, after)
            total += elapsed
            if after is None:
                return total, pages
        raise RuntimeError(f"direct walk did not end within {MAX_WALK_PAGES} pages")
