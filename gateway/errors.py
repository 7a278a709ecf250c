"""The gateway's error tree. Foreign errors are translated once, at the boundary, chained.

    GatewayError                       code
    ├── UpstreamError                  (platform, account_id)
    │   ├── UpstreamAuthError          upstream_auth_failed     token invalid or expired
    │   ├── UpstreamForbiddenError     upstream_forbidden       token lacks access to the account
    │   ├── UpstreamNotFoundError      upstream_not_found       account or object unknown upstream
    │   ├── UpstreamBadRequestError    upstream_bad_request     the platform rejected our request
    │   ├── RateLimitedError           upstream_throttled       (retry_after seconds, if known)
    │   ├── UpstreamUnavailableError   upstream_unavailable     5xx, timeout, dropped connection
    │   └── MalformedResponseError     upstream_malformed       body not the documented shape
    ├── InvalidInputError              invalid_<param> codes    (param) bad client input
    ├── AuthenticationError            unauthenticated          missing or unknown API key
    ├── PermissionDeniedError          forbidden                key lacks the scope
    ├── NotFoundError                  not_found                unknown project (or not the key's)
    ├── StoreUnavailableError          store_unavailable        the database cannot be reached
    └── ConfigError                    config_invalid           configuration cannot be used

Every error carries a stable ``code`` and a message safe to show a client: messages never
contain tokens, secrets or upstream URLs with credentials.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    code = "gateway_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UpstreamError(GatewayError):
    """A platform call failed. ``retryable`` says whether trying again may help."""

    code = "upstream_error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        account_id: str | None = None,
        upstream_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.platform = platform
        self.account_id = account_id
        self.upstream_code = upstream_code
        #: Set once the resilience layer has spent its retries on this error, so an outer
        #: call that sees it (a listing whose campaign lookup failed) does not retry again.
        self.exhausted = False


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
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        account_id: str | None = None,
        upstream_code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, platform=platform, account_id=account_id, upstream_code=upstream_code
        )
        self.retry_after = retry_after


class UpstreamUnavailableError(UpstreamError):
    """A 5xx, a timeout or a dropped connection: transient as far as we can tell."""

    code = "upstream_unavailable"
    retryable = True


class MalformedResponseError(UpstreamError):
    """The body was not JSON, was truncated, or did not have the documented shape."""

    code = "upstream_malformed"
    retryable = True


class InvalidInputError(GatewayError):
    """The client sent a value we cannot accept; ``param`` names it."""

    def __init__(self, message: str, *, param: str, code: str = "invalid_parameter") -> None:
        super().__init__(message)
        self.param = param
        self.code = code


class AuthenticationError(GatewayError):
    """No API key, or one we do not know."""

    code = "unauthenticated"


class PermissionDeniedError(GatewayError):
    """The API key is valid but lacks the required scope."""

    code = "forbidden"


class NotFoundError(GatewayError):
    """The project does not exist or does not belong to the key (never says which)."""

    code = "not_found"


class StoreUnavailableError(GatewayError):
    """The database (keys, ID reverse map) cannot be reached: the request may succeed if
    tried again (503). The client sees a fixed message; ``detail`` (the driver's reason, which
    may name hosts and users) is for logs and the command line."""

    code = "store_unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__("the gateway's database is unavailable; try again shortly")
        self.detail = detail


class ConfigError(GatewayError):
    """The configuration file or environment cannot be used."""

    code = "config_invalid"
