"""Apple Ads v1 error bodies and statuses, translated once into the gateway's error tree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import (
    MalformedResponseError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamBadRequestError,
    UpstreamError,
    UpstreamForbiddenError,
    UpstreamNotFoundError,
    UpstreamUnavailableError,
)
from gateway.platforms.apple.auth import retry_after_seconds
from gateway.platforms.base import Platform
from gateway.platforms.upstream import Reply

PLATFORM = Platform.APPLE_ADS.value


def api_error(response: Reply, payload: Any, account_id: str) -> UpstreamError:
    """The gateway error for a failed v1 call, from its status and ``{"error": {...}}`` body."""
    status = response.status_code
    code, message = _error_fields(payload)
    detail = f"{code}: {message}" if code and message else (code or message or "no detail")
    text = f"Apple Ads answered HTTP {status} ({detail})"
    where: dict[str, Any] = {"platform": PLATFORM, "account_id": account_id, "upstream_code": code}
    if status == 429:
        return RateLimitedError(text, retry_after=retry_after_seconds(response.headers), **where)
    if status == 401:
        return UpstreamAuthError(text, **where)
    if status == 403:
        return UpstreamForbiddenError(text, **where)
    if status == 404:
        return UpstreamNotFoundError(text, **where)
    if status >= 500:
        return UpstreamUnavailableError(text, **where)
    if 400 <= status < 500:
        return UpstreamBadRequestError(text, **where)
    return MalformedResponseError(f"Apple Ads answered unexpected HTTP {status}", **where)


def _error_fields(payload: Any) -> tuple[str | None, str | None]:
    """(code, message) of a v1 error body, tolerating any shape."""
    if not isinstance(payload, Mapping):
        return None, None
    error = payload.get("error")
    if not isinstance(error, Mapping):
        return None, None
    code = error.get("code")
    message = error.get("message")
    details = error.get("details")
    if isinstance(details, list) and details and isinstance(details[0], Mapping):
        first = details[0].get("message")
        if isinstance(first, str) and first and first != message:
            message = f"{message}; {first}" if isinstance(message, str) else first
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )
