"""Plain HTTP to the three sandboxes of a ``SandboxSuite``, the way a third-party client
written from the platforms' docs talks to them (no gateway client code involved)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from gateway.platforms.apple.auth import AppleCredentials, sign_client_secret
from gateway.platforms.base import AccountRef, Platform
from gateway.sandbox.suite import SandboxSuite

BASE = "http://sandbox.test"


def apple_token_form(creds: AppleCredentials, now: float) -> dict[str, str]:
    """The client-credentials form Apple's token endpoint takes, signed at ``now``."""
    return {
        "grant_type": "client_credentials",
        "client_id": creds.client_id,
        "client_secret": sign_client_secret(creds, now=now, lifetime_s=3600),
        "scope": "searchadsorg",
    }


def access_token(response: httpx.Response) -> str:
    """The access token of a successful answer from Apple's token endpoint."""
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@dataclass
class SuiteHttp:
    suite: SandboxSuite
    http: httpx.AsyncClient

    def account(self, platform: Platform, index: int = 0) -> AccountRef:
        return self.suite.accounts[platform][index]

    async def meta(
        self, path: str, params: dict[str, Any] | None = None, *, index: int = 0
    ) -> httpx.Response:
        token = self.account(Platform.META_ADS, index).credentials["access_token"]
        encoded = {
            k: v if isinstance(v, str) else orjson.dumps(v).decode()
            for k, v in (params or {}).items()
        }
        return await self.http.get(
            f"{BASE}/meta/v25.0{path}", params=encoded, headers={"Authorization": f"Bearer {token}"}
        )

    async def tiktok(
        self, path: str, params: dict[str, Any] | None = None, *, index: int = 0
    ) -> dict[str, Any]:
        """GET a TikTok endpoint; returns the envelope (asserting HTTP 200, like TikTok)."""
        account = self.account(Platform.TIKTOK_ADS, index)
        query = {"advertiser_id": account.external_id, **(params or {})}
        encoded = {
            k: v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in query.items()
        }
        response = await self.http.get(
            f"{BASE}/tiktok/open_api/v1.3{path}",
            params=encoded,
            headers={"Access-Token": account.credentials["access_token"]},
        )
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    async def apple_token(self, index: int = 0) -> str:
        creds = AppleCredentials.from_account(self.account(Platform.APPLE_ADS, index))
        form = apple_token_form(creds, now=time.time())
        return access_token(await self.http.post(f"{BASE}/apple/auth/oauth2/token", data=form))

    async def apple(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        index: int = 0,
        context: str | None = "default",
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.apple_token(index)}"}
        if context == "default":
            context = f"adAccountId={self.account(Platform.APPLE_ADS, index).external_id}"
        if context is not None:
            headers["X-AP-Context"] = context
        return await self.http.request(method, f"{BASE}/apple/v1{path}", json=body, headers=headers)


@asynccontextmanager
async def suite_http(suite: SandboxSuite) -> AsyncIterator[SuiteHttp]:
    async with httpx.AsyncClient(transport=suite.transport()) as http:
        yield SuiteHttp(suite, http)
