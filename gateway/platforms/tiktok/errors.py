"""TikTok's envelope verdict -> the gateway's error tree.

TikTok answers business errors with HTTP 200 and a non-zero ``code``; its docs say ``code``
takes precedence over the HTTP status, so it is read first.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import (
    RateLimitedError,
    UpstreamAuthError,
    UpstreamBadRequestError,
    UpstreamError,
    UpstreamForbiddenError,
    UpstreamUnavailableError,
)
from gateway.platforms.base import Platform
from gateway.platforms.http import header_seconds
from gateway.platforms.payload import JsonObject, PayloadError, as_object
from gateway.platforms.upstream import Reply

PLATFORM = Platform.TIKTOK_ADS.value

OK_CODES = frozenset({0, 20001})  # 20001: partial success, the data is still good
THROTTLE_CODES = frozenset({40100, 40016, 40132, 40133})
AUTH_CODES = frozenset({40101, 40102, 40104, 40105, 40110})
FORBIDDEN_CODES = frozenset({40001})

_MAX_MESSAGE = 200


def envelope_data(
    response: Reply, payload: Any, *, account_id: str | None, secret: str = ""
) -> JsonObject:
    """The ``data`` object of a successful envelope; raises the mapped error otherwise.

    ``secret`` (the access token) is scrubbed from any upstream message we quote.
    Raises PayloadError when a success envelope lacks its ``data`` object.
    """
    code = payload.get("code") if isinstance(payload, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        if response.status_code >= 400:
            raise _http_error(response, account_id)
        raise PayloadError("envelope: no integer 'code'")
    if code in OK_CODES:
        if response.status_code >= 400:
            raise _http_error(response, account_id)
        return as_object(payload.get("data"), "data")
    raw_message = payload.get("message")
    message = raw_message if isinstance(raw_message, str) else ""
    if secret:
        message = message.replace(secret, "***")
    raise error_for_code(
        code,
        message[:_MAX_MESSAGE],
        account_id=account_id,
        retry_after=_retry_after(response),
    )


def error_for_code(
    code: int, message: str, *, account_id: str | None, retry_after: float | None = None
) -> UpstreamError:
    """The gateway error for a non-zero TikTok ``code``."""
    text = f"TikTok error {code}: {message}" if message else f"TikTok error {code}"
    kwargs: dict[str, Any] = {
        "platform": PLATFORM,
        "account_id": account_id,
        "upstream_code": str(code),
    }
    if code in THROTTLE_CODES:
        return RateLimitedError(text, retry_after=retry_after, **kwargs)
    if code in AUTH_CODES:
        return UpstreamAuthError(text, **kwargs)
    if code in FORBIDDEN_CODES:
        return UpstreamForbiddenError(text, **kwargs)
    if 50000 <= code < 60000:
        return UpstreamUnavailableError(text, **kwargs)
    # 40002 and every other code: the platform refused what we sent.
    return UpstreamBadRequestError(text, **kwargs)


def _http_error(response: Reply, account_id: str | None) -> UpstreamError:
    """An error from the HTTP status alone, when the body carries no verdict."""
    status = response.status_code
    text = f"TikTok answered HTTP {status}"
    kwargs: dict[str, Any] = {
        "platform": PLATFORM,
        "account_id": account_id,
        "upstream_code": f"http_{status}",
    }
    if status == 429:
        return RateLimitedError(text, retry_after=_retry_after(response), **kwargs)
    if status == 401:
        return UpstreamAuthError(text, **kwargs)
    if status == 403:
        return UpstreamForbiddenError(text, **kwargs)
    if status >= 500:
        return UpstreamUnavailableError(text, **kwargs)
    return UpstreamBadRequestError(text, **kwargs)


def _retry_after(response: Reply) -> float | None:
    """TikTok documents no wait; honour a ``Retry-After`` in seconds if one is ever sent."""
    return header_seconds(response.headers, "retry-after")
