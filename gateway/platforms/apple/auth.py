"""Apple OAuth: an ES256 client-secret JWT exchanged for a client-credentials access token.

Both the signed client secret and the access token are cached per ``client_id`` and reused
until shortly before they expire. Concurrent callers that find no valid token share one token
request (a lock per ``client_id``). The API client calls ``invalidate`` on a 401 and asks
again, which refreshes once.

``keep_fresh`` (the app's start-up) fetches the tokens of the configured API users before any
request needs them, then renews each in the background ahead of its expiry, so no request
waits on the token endpoint: a request only fetches a token itself when the background
renewal could not get one in time (the endpoint down for minutes) or after a 401. A
renewal that stops on an unexpected error is logged, and the next request that fetches the
user's token itself starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from gateway.errors import (
    MalformedResponseError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamBadRequestError,
    UpstreamError,
    UpstreamUnavailableError,
)
from gateway.observability.context import outside_request
from gateway.platforms.base import AccountRef, Platform
from gateway.platforms.http import fetch_json, header_seconds
from gateway.platforms.payload import PayloadError, as_object, opt_int, opt_str, req_str
from gateway.platforms.upstream import Reply, Upstream

log = logging.getLogger("gateway.platforms.apple")

PLATFORM = Platform.APPLE_ADS.value
AUDIENCE = "https://appleid.apple.com"
SCOPE = "searchadsorg"
#: Apple accepts client secrets valid for up to 180 days; one day limits a leaked secret.
SECRET_LIFETIME_S = 24 * 3600
#: Errors of the token endpoint that mean "these credentials do not work".
_AUTH_ERRORS = frozenset({"invalid_client", "invalid_grant", "unauthorized_client"})


@dataclass(frozen=True, slots=True)
class AppleCredentials:
    """What an Apple Ads API user needs to sign a client secret."""

    client_id: str
    team_id: str
    key_id: str
    private_key_pem: str

    @classmethod
    def from_account(cls, account: AccountRef) -> AppleCredentials:
        """The account's credentials, or UpstreamAuthError naming the missing key."""
        creds: Mapping[str, str] = account.credentials
        missing = [
            k for k in ("client_id", "team_id", "key_id", "private_key_pem") if not creds.get(k)
        ]
        if missing:
            raise UpstreamAuthError(
                f"Apple Ads credentials lack {', '.join(missing)}",
                platform=PLATFORM,
                account_id=account.external_id,
            )
        return cls(creds["client_id"], creds["team_id"], creds["key_id"], creds["private_key_pem"])


def sign_client_secret(creds: AppleCredentials, *, now: float, lifetime_s: int) -> str:
    """The ES256 client-secret JWT Apple's token endpoint expects.

    PyJWT (and the cryptography it loads) is imported here, when an Apple account first needs
    a token: about 8 MiB of resident memory a gateway without Apple accounts never uses."""
    import jwt

    issued = int(now)
    claims = {
        "sub": creds.client_id,
        "iss": creds.team_id,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + lifetime_s,
    }
    headers = {"kid": creds.key_id}
    return jwt.encode(claims, creds.private_key_pem, algorithm="ES256", headers=headers)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Apple's wait: ``Retry-After`` seconds, else ``RateLimit-Reset`` (a delta), else None."""
    return header_seconds(headers, "retry-after", "ratelimit-reset")


def _refresh_margin(lifetime_s: float) -> float:
    """Renew this long before expiry: a minute, or a tenth of short lifetimes."""
    return min(60.0, lifetime_s / 10)


def _renew_ahead(lifetime_s: float) -> float:
    """A token kept fresh is renewed in the background this long before it expires: five
    minutes, or a quarter of short lifetimes. Earlier than ``_refresh_margin``, so requests
    go on using the current token while the renewal runs, and a renewal that fails has
    minutes of retries before any request needs the endpoint itself."""
    return min(300.0, lifetime_s / 4)


#: Waits between background renewals that failed transiently: doubled from 1 s up to this.
RENEW_RETRY_MAX_S = 30.0
#: The shortest token lifetime background renewals are scheduled for: a token sent with
#: less (or an ``expires_in`` of zero or below) is renewed 45 s on, not again at once.
MIN_SCHEDULED_LIFETIME_S = 60.0
#: The shortest wait between two renewals of one user's token.
MIN_RENEW_WAIT_S = 1.0


@dataclass(slots=True)
class _Cached:
    value: str
    expires_at: float
    margin: float
    renew_at: float = 0.0

    def fresh(self, now: float) -> bool:
        return now < self.expires_at - self.margin


class AppleTokenSource:
    """Access tokens for Apple Ads API users, cached and shared per ``client_id``."""

    def __init__(
        self,
        http: Upstream,
        token_url: str,
        *,
        clock: Callable[[], float] = time.time,
        secret_lifetime_s: int = SECRET_LIFETIME_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._clock = clock
        self._sleep = sleep
        self._secret_lifetime_s = secret_lifetime_s
        self._secrets: dict[tuple[str, str, str], _Cached] = {}
        self._tokens: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        #: The background renewal of each API user's token (``keep_fresh``).
        self._keepers: dict[str, asyncio.Task[None]] = {}
        #: API users whose renewal stopped on an unexpected error, for a request to restart.
        self._lapsed: set[str] = set()
        #: How many token requests were sent (useful to observe sharing).
        self.fetches = 0

    async def keep_fresh(self, accounts: Iterable[AccountRef]) -> None:
        """Keep a token for each API user of ``accounts``: fetched now (concurrently), then
        renewed in the background ahead of its expiry until ``aclose``. Returns once each
        user's first fetch is over; the renewals go on even if the caller stops waiting.

        Never raises: an API user whose token cannot be had is left to the requests, which
        report why; one refused for good (bad credentials) is not retried in the background.
        """
        firsts: list[asyncio.Future[None]] = []
        for account in accounts:
            try:
                creds = AppleCredentials.from_account(account)
            except UpstreamAuthError:
                continue  # the requests say which credential is missing
            if creds.client_id in self._keepers:
                continue
            firsts.append(self._start_keeper(creds, account.external_id))
        if firsts:
            await asyncio.wait(firsts)

    def _start_keeper(self, creds: AppleCredentials, account_id: str) -> asyncio.Future[None]:
        """Start the user's background renewal; the future is set after its first attempt.

        It runs outside any request: started by one (``token``), its token fetches are not
        that request's to count or trace."""
        self._lapsed.discard(creds.client_id)
        first = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(
            self._keep_renewed(creds, account_id, first), context=outside_request()
        )
        self._keepers[creds.client_id] = task
        return first

    async def _keep_renewed(
        self, creds: AppleCredentials, account_id: str, first: asyncio.Future[None]
    ) -> None:
        """Renew the user's token whenever it is due, retrying transient failures (waits
        doubling up to ``RENEW_RETRY_MAX_S``); ``first`` is set after the first attempt."""
        failures = 0
        try:
            while True:
                cached = self._tokens.get(creds.client_id)
                now = self._clock()
                if cached is not None and now < cached.renew_at:
                    if not first.done():
                        first.set_result(None)
                    await self._sleep(max(MIN_RENEW_WAIT_S, cached.renew_at - now))
                    continue
                try:
                    await self._renew(creds, account_id)
                except Exception as exc:
                    if not isinstance(exc, UpstreamError):
                        # a defect, not the endpoint: stop, and leave a request to restart
                        log.exception("apple token renewal for account %s stopped", account_id)
                        if self._keepers.get(creds.client_id) is asyncio.current_task():
                            del self._keepers[creds.client_id]
                            self._lapsed.add(creds.client_id)
                        return
                    log.warning("apple token for account %s not renewed: %s", account_id, exc.code)
                    if not first.done():
                        first.set_result(None)
                    if not exc.retryable:
                        return  # refused: the requests report it
                    failures += 1
                    await self._sleep(min(RENEW_RETRY_MAX_S, 2.0 ** (failures - 1)))
                else:
                    failures = 0
        finally:
            if not first.done():
                first.cancel()

    async def _renew(self, creds: AppleCredentials, account_id: str) -> None:
        """Replace the API user's token unless someone did while we waited for the lock."""
        async with self._locks.setdefault(creds.client_id, asyncio.Lock()):
            cached = self._tokens.get(creds.client_id)
            if cached is not None and self._clock() < cached.renew_at:
                return
            self._tokens[creds.client_id] = await self._fetch(creds, account_id)

    async def aclose(self) -> None:
        """Stop the background renewals."""
        keepers, self._keepers = list(self._keepers.values()), {}
        for task in keepers:
            task.cancel()
        for task in keepers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def token(self, account: AccountRef) -> str:
        """A valid access token for the account's API user."""
        creds = AppleCredentials.from_account(account)
        cached = self._tokens.get(creds.client_id)
        if cached is not None and cached.fresh(self._clock()):
            return cached.value
        lock = self._locks.setdefault(creds.client_id, asyncio.Lock())
        async with lock:
            # Another caller may have fetched while we waited for the lock.
            cached = self._tokens.get(creds.client_id)
            if cached is not None and cached.fresh(self._clock()):
                return cached.value
            fetched = await self._fetch(creds, account.external_id)
            self._tokens[creds.client_id] = fetched
            if creds.client_id in self._lapsed:
                self._start_keeper(creds, account.external_id)
            return fetched.value

    def invalidate(self, account: AccountRef, token: str) -> None:
        """Forget ``token`` (rejected by the API) unless a newer one already replaced it."""
        client_id = account.credentials.get("client_id", "")
        cached = self._tokens.get(client_id)
        if cached is not None and cached.value == token:
            del self._tokens[client_id]

    def _client_secret(self, creds: AppleCredentials, account_id: str) -> str:
        key = (creds.client_id, creds.team_id, creds.key_id)
        now = self._clock()
        cached = self._secrets.get(key)
        if cached is not None and cached.fresh(now):
            return cached.value
        import jwt  # imported by the first signature (sign_client_secret)

        try:
            secret = sign_client_secret(creds, now=now, lifetime_s=self._secret_lifetime_s)
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            # Never echo the key material: only say that it cannot sign.
            raise UpstreamAuthError(
                "Apple Ads private key cannot sign a client secret (not an EC P-256 PEM?)",
                platform=PLATFORM,
                account_id=account_id,
            ) from exc
        lifetime = float(self._secret_lifetime_s)
        self._secrets[key] = _Cached(secret, now + lifetime, _refresh_margin(lifetime))
        return secret

    async def _fetch(self, creds: AppleCredentials, account_id: str) -> _Cached:
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": self._client_secret(creds, account_id),
            "scope": SCOPE,
        }
        self.fetches += 1
        response, payload = await fetch_json(
            self._http,
            "POST",
            self._token_url,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            content=urlencode(form).encode(),
            platform=PLATFORM,
            account_id=account_id,
        )
        if response.status_code != 200:
            raise _token_error(response, payload, account_id)
        try:
            body = as_object(payload, "token response")
            access_token = req_str(body, "access_token")
            expires_in = opt_int(body, "expires_in") or 3600
        except PayloadError as exc:
            raise MalformedResponseError(
                f"Apple token endpoint sent an unexpected body: {exc}",
                platform=PLATFORM,
                account_id=account_id,
            ) from exc
        now = self._clock()
        lifetime = float(expires_in)
        scheduled = max(lifetime, MIN_SCHEDULED_LIFETIME_S)
        return _Cached(
            access_token,
            now + expires_in,
            _refresh_margin(lifetime),
            renew_at=now + scheduled - _renew_ahead(scheduled),
        )


def _token_error(response: Reply, payload: object, account_id: str) -> UpstreamError:
    """The gateway error for a failed token request (never quoting the secret)."""
    status = response.status_code
    code: str | None = None
    description: str | None = None
    if isinstance(payload, Mapping):
        try:
            code = opt_str(payload, "error")
            description = opt_str(payload, "error_description")
        except PayloadError:
            code = None
    detail = f"{code}: {description}" if description else (code or f"HTTP {status}")
    where: dict[str, Any] = {"platform": PLATFORM, "account_id": account_id}
    if status == 401 or code in _AUTH_ERRORS:
        return UpstreamAuthError(
            f"Apple token endpoint refused the credentials ({detail})",
            upstream_code=code,
            **where,
        )
    if status == 429:
        return RateLimitedError(
            "Apple token endpoint throttled us",
            platform=PLATFORM,
            account_id=account_id,
            upstream_code=code,
            retry_after=retry_after_seconds(response.headers),
        )
    if status >= 500:
        return UpstreamUnavailableError(
            f"Apple token endpoint answered HTTP {status}", upstream_code=code, **where
        )
    return UpstreamBadRequestError(
        f"Apple token endpoint rejected the request ({detail})", upstream_code=code, **where
    )
