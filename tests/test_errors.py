"""Each error class says how it is answered over HTTP; one handler writes every REST error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.errors import (
    AuthenticationError,
    GatewayError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    SourcesFailedError,
    UpstreamAuthError,
    UpstreamUnavailableError,
)
from gateway.listing.types import ScopedAccount, Source
from gateway.platforms.base import AccountRef, Platform
from gateway.responses import EXCEPTION_HANDLERS

META = ScopedAccount("aa_META", AccountRef(Platform.META_ADS, "act_1", "Meta"))
APPLE = ScopedAccount("aa_APPLE", AccountRef(Platform.APPLE_ADS, "9", "Apple"))


def throttled(account: ScopedAccount, wait: float | None) -> Source:
    error = RateLimitedError("slow", platform=account.ref.platform, retry_after=wait)
    return Source.failure(account, error)


def failed(account: ScopedAccount) -> Source:
    return Source.failure(account, UpstreamUnavailableError("down", platform="meta_ads"))


async def answer(error: Exception) -> httpx.Response:
    """What a client receives when a route raises ``error`` in an app with our handlers."""

    async def route(_: Request) -> Response:
        raise error

    app = Starlette(routes=[Route("/", route)], exception_handlers=EXCEPTION_HANDLERS)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.get("/")


@pytest.mark.parametrize(
    ("error", "status", "headers", "body"),
    [
        (
            InvalidInputError("bad", param="limit", code="invalid_limit"),
            400,
            {},
            {"code": "invalid_limit", "message": "bad", "param": "limit"},
        ),
        (
            AuthenticationError("who?"),
            401,
            {"www-authenticate": "Bearer"},
            {"code": "unauthenticated", "message": "who?"},
        ),
        (PermissionDeniedError("no"), 403, {}, {"code": "forbidden", "message": "no"}),
        (NotFoundError("none"), 404, {}, {"code": "not_found", "message": "none"}),
        (
            UpstreamAuthError("revoked", platform="tiktok_ads"),
            502,
            {},
            {
                "code": "upstream_unavailable",
                "message": "revoked",
                "reason": "upstream_auth_failed",
                "platform": "tiktok_ads",
            },
        ),
        (
            RateLimitedError("slow", platform="meta_ads", retry_after=2.2),
            503,
            {"retry-after": "3"},
            {"code": "upstream_throttled", "message": "slow", "platform": "meta_ads"},
        ),
        (
            RateLimitedError("slow", platform="meta_ads", retry_after=0.1),
            503,
            {"retry-after": "1"},
            {"code": "upstream_throttled", "message": "slow", "platform": "meta_ads"},
        ),
    ],
)
async def test_each_error_is_answered_with_its_status_headers_and_body(
    error: GatewayError, status: int, headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = await answer(error)
    assert response.status_code == status
    assert response.json() == {"error": body}
    for name, value in headers.items():
        assert response.headers[name] == value
    assert ("retry-after" in response.headers) == ("retry-after" in headers)


async def test_accounts_all_throttled_answer_503_with_the_longest_wait() -> None:
    sources = [Source.ok(APPLE), throttled(META, 4.5), throttled(APPLE, None)]
    response = await answer(SourcesFailedError(sources))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    error = response.json()["error"]
    assert error["code"] == "upstream_throttled"
    assert error["sources"] == [s.as_json() for s in sources]
    assert error["sources"][1] == {
        "platform": "meta_ads",
        "adAccountId": "aa_META",
        "status": "throttled",
        "code": "upstream_throttled",
        "retryAfter": 4.5,
    }


async def test_a_failed_account_among_throttled_ones_answers_502_with_the_longest_wait() -> None:
    response = await answer(SourcesFailedError([throttled(APPLE, 9), failed(META)]))
    assert response.status_code == 502
    assert response.headers["retry-after"] == "9"
    assert response.json()["error"]["code"] == "upstream_unavailable"
    assert response.json()["error"]["message"] == (
        "apple_ads, meta_ads failed for 2 ad account(s); no rows were lost"
    )


async def test_anything_else_is_a_500_that_says_nothing_of_its_cause() -> None:
    response = await answer(RuntimeError("secret token abc"))
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "Unexpected error."}}
