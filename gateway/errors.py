"""The gateway's error tree. Foreign errors are translated once, at the boundary, chained.

    GatewayError                      code                  HTTP
    ├── UpstreamError                                       502  (platform, account_id)
    │   ├── UpstreamAuthError         upstream_auth_failed       token invalid or expired
    │   ├── UpstreamForbiddenError    upstream_forbidden         no access to the account
    │   ├── UpstreamNotFoundError     upstream_not_found         account or object unknown
    │   ├── UpstreamBadRequestError   upstream_bad_request       platform rejected our request
    │   ├── RateLimitedError          upstream_throttled    503  (retry_after) Retry-After
    │   │   └── BudgetSpentError                                 our own call budget is spent
    │   ├── UpstreamUnavailableError  upstream_unavailable       5xx, timeout, dropped
    │   └── MalformedResponseError    upstream_malformed         not the documented shape
    ├── SourcesFailedError            upstream_unavailable  502  (sources) a page's accounts
    │                                 upstream_throttled    503  failed; Retry-After if known
    ├── InvalidInputError             invalid_<param>       400  (param) bad client input
    ├── PayloadTooLargeError          payload_too_large     413  body over the request limit
    ├── AuthenticationError           unauthenticated       401  missing or unknown API key
    ├── PermissionDeniedError         forbidden             403  key lacks the scope
    ├── NotFoundError                 not_found             404  unknown project, or another's
    ├── StoreUnavailableError         store_unavailable     503  the database cannot be reached
    └── ConfigError                   config_invalid        500  configuration cannot be used

Every error carries a stable ``code`` and a message safe to show a client: messages never
contain tokens, secrets or upstream URLs with credentials. Each class says how it is answered
over HTTP (``status_code``, ``headers``, ``body()``); ``responses`` renders them all the same way.
An ``UpstreamError`` that reaches a REST client is answered as ``upstream_unavailable`` with its
own code as ``reason`` (throttling keeps ``upstream_throttled``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.listing.types import Source


def retry_after_header(seconds: float) -> dict[str, str]:
    """``Retry-After`` in whole seconds, at least one (HTTP takes no fractions)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


#: How much of a client's value an error message quotes.
QUOTED_PREFIX = 40


def quote_input(value: str) -> str:
    """A client's value as an error message quotes it: its first ``QUOTED_PREFIX`` characters,
    then "…" when there were more, so an answer never echoes unbounded input."""
    if len(value) <= QUOTED_PREFIX:
        return repr(value)
    return repr(value[:QUOTED_PREFIX]) + "…"


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    code = "gateway_error"
    status_code = 500
    #: Seconds after which trying again may succeed, when known: sent as ``Retry-After``.
    retry_after: float | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def headers(self) -> dict[str, str]:
        """Response headers that go with the error."""
        return {} if self.retry_after is None else retry_after_header(self.retry_after)

    def body(self) -> dict[str, Any]:
        """The ``error`` object of a REST error response."""
        return {"code": self.code, "message": self.message}


class UpstreamError(GatewayError):
    """A platform call failed. ``retryable`` says whether trying again may help;
    ``retry_after`` how long to wait first (a throttle's regain time, a breaker's cool-down)."""

    code = "upstream_error"
    status_code = 502
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        account_id: str | None = None,
        upstream_code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.platform = platform
        self.account_id = account_id
        self.upstream_code = upstream_code
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        # Clients are told the platform is unavailable; ``reason`` says how it failed.
        return {
            "code": "upstream_unavailable",
            "message": self.message,
            "reason": self.code,
            "platform": self.platform,
        }


class UpstreamAuthError(UpstreamError):
    """The platform rejected the credentials (invalid or expired token)."""

    code = "upstream_auth_failed"


class UpstreamForbiddenError(UpstreamError):
    """The credentials are valid but lack access to this account or object."""

    code = "upstream_forbidden"


class UpstreamNotFoundError(UpstreamError):
    """The platform does not know the account or object."""

    code = "upstream_not_found"


class UpstreamBadRequestError(UpstreamError):
    """The platform rejected a parameter we sent: a gateway bug or an API change."""

    code = "upstream_bad_request"


class RateLimitedError(UpstreamError):
    """The platform throttled us; ``retry_after`` is its own wait in seconds, when known."""

    code = "upstream_throttled"
    status_code = 503
    retryable = True

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "platform": self.platform}


class BudgetSpentError(RateLimitedError):
    """The gateway's own call budget for the account is spent: refused before anything was
    sent, so it says nothing about the platform's health (the breaker learns nothing)."""


class UpstreamUnavailableError(UpstreamError):
    """A 5xx, a timeout or a dropped connection: transient as far as we can tell."""

    code = "upstream_unavailable"
    retryable = True


class MalformedResponseError(UpstreamError):
    """The body was not JSON, was truncated, or did not have the documented shape."""

    code = "upstream_malformed"
    retryable = True


class SourcesFailedError(GatewayError):
    """Accounts failed and partial pages were not allowed: no rows are returned at all.

    Throttled when every failed account was throttled (503); otherwise unavailable (502).
    Either way ``Retry-After`` is the longest wait of the failed accounts (a platform's regain
    time or a breaker's cool-down). The body lists every account asked."""

    def __init__(self, sources: Sequence[Source]) -> None:
        failed = [s for s in sources if s.failed]
        throttled = all(s.throttled for s in failed)
        self.code = "upstream_throttled" if throttled else "upstream_unavailable"
        self.status_code = 503 if throttled else 502
        waits = [s.retry_after for s in failed if s.retry_after is not None]
        self.retry_after = max(waits) if waits else None
        names = ", ".join(sorted({s.platform.value for s in failed}))
        verb = "throttled" if throttled else "failed for"
        super().__init__(f"{names} {verb} {len(failed)} ad account(s); no rows were lost")
        self.sources = list(sources)

    def body(self) -> dict[str, Any]:
        return {**super().body(), "sources": [s.as_json() for s in self.sources]}


class InvalidInputError(GatewayError):
    """The client sent a value we cannot accept; ``param`` names it."""

    status_code = 400

    def __init__(self, message: str, *, param: str, code: str) -> None:
        super().__init__(message)
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {**super().body(), "param": self.param}


class PayloadTooLargeError(GatewayError):
    """The request body is longer than the gateway reads (declared or while it arrived)."""

    code = "payload_too_large"
    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


class AuthenticationError(GatewayError):
    """No API key, or one we do not know."""

    code = "unauthenticated"
    status_code = 401

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class PermissionDeniedError(GatewayError):
    """The API key is valid but lacks the required scope."""

    code = "forbidden"
    status_code = 403


class NotFoundError(GatewayError):
    """The project does not exist or does not belong to the key (never says which)."""

    code = "not_found"
    status_code = 404


class StoreUnavailableError(GatewayError):
    """The database (keys, ID reverse map) cannot be reached: the request may succeed if
    tried again (503). The client sees a fixed message; ``detail`` (the driver's reason, which
    may name hosts and users) is for logs and the command line."""

    code = "store_unavailable"
    status_code = 503

    def __init__(self, detail: str) -> None:
        super().__init__("the gateway's database is unavailable; try again shortly")
        self.detail = detail


class ConfigError(GatewayError):
    """The configuration file or environment cannot be used."""

    code = "config_invalid"
