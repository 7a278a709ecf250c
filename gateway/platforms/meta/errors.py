"""Meta's error envelope and usage headers, translated once into the gateway's error tree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

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
from gateway.platforms.base import Platform
from gateway.platforms.upstream import Reply

PLATFORM = Platform.META_ADS.value

# Application, user, page, ad-account and business-use-case throttles.
_THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
_UNAVAILABLE_CODES = frozenset({1, 2})
# 190 invalid or expired token; 102 session key invalid; 104 no token sent.
_AUTH_CODES = frozenset({102, 104, 190})
_MAX_MESSAGE = 300


@dataclass(frozen=True, slots=True)
class GraphError:
    """The fields of ``{"error": {...}}`` that decide what went wrong."""

    code: int | None
    subcode: int | None
    message: str
    type: str | None
    is_transient: bool

    @property
    def upstream_code(self) -> str | None:
        if self.code is None:
            return None
        return str(self.code) if self.subcode is None else f"{self.code}/{self.subcode}"


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def graph_error(payload: Any) -> GraphError | None:
    """The envelope's error, or None when ``payload`` carries none."""
    if not isinstance(payload, Mapping) or "error" not in payload:
        return None
    error = payload["error"]
    if not isinstance(error, Mapping):
        return GraphError(None, None, "", None, is_transient=False)
    message = error.get("message")
    kind = error.get("type")
    return GraphError(
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        message=message if isinstance(message, str) else "",
        type=kind if isinstance(kind, str) else None,
        is_transient=error.get("is_transient") is True,
    )


def _header_json(headers: Mapping[str, str], name: str) -> Any:
    raw = headers.get(name)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None  # usage headers are advisory: never fail a call over one


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _buc_entries(headers: Mapping[str, str], account_digits: str) -> list[Mapping[str, Any]]:
    usage = _header_json(headers, "x-business-use-case-usage")
    if not isinstance(usage, Mapping):
        return []
    entries = usage.get(account_digits)
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, Mapping)]


def usage_pct(headers: Mapping[str, str], account_digits: str) -> float | None:
    """The highest usage percentage the response reports for the app or this account."""
    values: list[float] = []
    for entry in _buc_entries(headers, account_digits):
        values.extend(
            n
            for key in ("call_count", "total_cputime", "total_time")
            if (n := _number(entry.get(key))) is not None
        )
    app = _header_json(headers, "x-app-usage")
    if isinstance(app, Mapping):
        values.extend(
            n
            for key in ("call_count", "total_cputime", "total_time")
            if (n := _number(app.get(key))) is not None
        )
    account = _header_json(headers, "x-ad-account-usage")
    if isinstance(account, Mapping) and (n := _number(account.get("acc_id_util_pct"))) is not None:
        values.append(n)
    return max(values) if values else None


def retry_after(headers: Mapping[str, str], account_digits: str) -> float | None:
    """Seconds until Meta lets this account in again: the business-use-case header's
    ``estimated_time_to_regain_access`` (minutes), else the ad-account header's
    ``reset_time_duration`` (seconds), else None."""
    waits = [
        n
        for entry in _buc_entries(headers, account_digits)
        if (n := _number(entry.get("estimated_time_to_regain_access"))) is not None
    ]
    if waits and max(waits) > 0:
        return max(waits) * 60.0
    account = _header_json(headers, "x-ad-account-usage")
    if isinstance(account, Mapping):
        reset = _number(account.get("reset_time_duration"))
        if reset is not None and reset > 0:
            return reset
    return None


def _safe(message: str, secret: str | None) -> str:
    if secret:
        message = message.replace(secret, "***")
    return message[:_MAX_MESSAGE]


def translate(
    response: Reply,
    payload: Any,
    *,
    account_id: str,
    secret: str | None,
) -> UpstreamError | None:
    """The gateway error for a failed Graph call, or None when the call succeeded.

    ``secret`` (the access token) is scrubbed from any message we pass on.
    """
    error = graph_error(payload)
    status = response.status_code
    if error is None and status < 400:
        return None
    digits = account_id.removeprefix("act_")
    if error is None:
        return _by_http_status(status, account_id)
    code = error.code
    detail = _safe(error.message, secret) or "no message"
    text = f"Meta error {error.upstream_code or '?'}: {detail}"
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "account_id": account_id,
        "upstream_code": error.upstream_code,
    }
    if code in _THROTTLE_CODES:
        return RateLimitedError(text, retry_after=retry_after(response.headers, digits), **common)
    if code in _AUTH_CODES:
        return UpstreamAuthError(text, **common)
    if code == 10 or (code is not None and 200 <= code <= 299):
        return UpstreamForbiddenError(text, **common)
    if code == 100 and error.subcode == 33:
        return UpstreamNotFoundError(text, **common)
    if code in _UNAVAILABLE_CODES or error.is_transient or status >= 500:
        return UpstreamUnavailableError(text, **common)
    if code == 100:
        return UpstreamBadRequestError(text, **common)
    if status < 400:
        # An error envelope on a 2xx: not the documented shape.
        return MalformedResponseError(text, **common)
    return _by_http_status(status, account_id, text=text, upstream_code=error.upstream_code)


def _by_http_status(
    status: int, account_id: str, *, text: str | None = None, upstream_code: str | None = None
) -> UpstreamError:
    """Fallback for errors without a known Graph code."""
    text = text or f"Meta answered HTTP {status}"
    common: dict[str, Any] = {
        "platform": PLATFORM,
        "account_id": account_id,
        "upstream_code": upstream_code,
    }
    if status >= 500:
        return UpstreamUnavailableError(text, **common)
    if status == 401:
        return UpstreamAuthError(text, **common)
    if status == 403:
        return UpstreamForbiddenError(text, **common)
    if status == 404:
        return UpstreamNotFoundError(text, **common)
    if status == 429:
        return RateLimitedError(text, **common)
    return UpstreamBadRequestError(text, **common)
