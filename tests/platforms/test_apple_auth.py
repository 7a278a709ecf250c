"""Apple OAuth: ES256 client secrets, token caching, sharing and failures (over the sandbox)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import httpx
import jwt
import pytest

from gateway.errors import UpstreamAuthError, UpstreamUnavailableError
from gateway.observability import context
from gateway.observability.metrics import Metrics
from gateway.observability.tracing import Tracing
from gateway.platforms.apple.auth import AUDIENCE, AppleTokenSource
from gateway.platforms.base import AccountRef
from gateway.platforms.inprocess import TransportUpstream
from gateway.sandbox.apple import build_seed, create_app
from gateway.sandbox.apple.keys import private_pem, public_key
from gateway.sandbox.apple.seed import AppleSeed
from gateway.sandbox.control import SandboxControl
from gateway.sandbox.transport import SandboxTransport
from tests.gated import until

TOKEN_URL = "http://sandbox.test/auth/oauth2/token"
SEED = build_seed(large_adsets=20)


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now


class Recording(httpx.AsyncBaseTransport):
    """Keeps every request on its way to ``inner``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@dataclass
class Env:
    seed: AppleSeed
    control: SandboxControl
    http: TransportUpstream
    clock: Clock
    requests: list[httpx.Request]

    def source(self) -> AppleTokenSource:
        return AppleTokenSource(self.http, TOKEN_URL, clock=self.clock)


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    control = SandboxControl()
    clock = Clock()
    app = create_app(SEED, control, token_ttl_s=600, clock=clock)
    recording = Recording(SandboxTransport(app))
    async with TransportUpstream(recording) as http:
        yield Env(SEED, control, http, clock, recording.requests)


def with_credentials(account: AccountRef, **changes: str) -> AccountRef:
    return replace(account, credentials={**account.credentials, **changes})


async def test_client_secret_is_an_es256_jwt_apple_accepts(env: Env) -> None:
    # Given the token source and a recorded token request
    account = env.seed.large_account
    seen = env.requests

    # When a token is requested
    token = await env.source().token(account)

    # Then the form carries a client secret signed by the account's key with Apple's claims
    assert token
    form = dict(httpx.QueryParams(seen[0].content.decode()))
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "searchadsorg"
    assert form["client_id"] == account.credentials["client_id"]
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
    secret = form["client_secret"]
    assert jwt.get_unverified_header(secret) == {
        "alg": "ES256",
        "kid": account.credentials["key_id"],
        "typ": "JWT",
    }
    claims = jwt.decode(
        secret,
        public_key(0),
        algorithms=["ES256"],
        audience=AUDIENCE,
        options={"verify_exp": False},  # the test clock is not the wall clock
    )
    assert claims["sub"] == account.credentials["client_id"]
    assert claims["iss"] == account.credentials["team_id"]
    assert claims["iat"] == int(env.clock.now)
    assert claims["exp"] > claims["iat"]


async def test_token_is_cached_until_shortly_before_expiry(env: Env) -> None:
    source = env.source()
    account = env.seed.large_account

    first = await source.token(account)
    env.clock.now += 500  # of a 600 s token: still fresh
    assert await source.token(account) == first
    assert env.control.log.count("/oauth2/token") == 1

    env.clock.now += 60  # within the refresh margin
    second = await source.token(account)

    assert second != first
    assert env.control.log.count("/oauth2/token") == 2


async def test_accounts_of_one_api_user_share_its_token(env: Env) -> None:
    source = env.source()
    large, small = env.seed.accounts[0], env.seed.accounts[1]

    assert await source.token(large) == await source.token(small)
    assert env.control.log.count("/oauth2/token") == 1


async def test_concurrent_callers_share_one_token_request(env: Env) -> None:
    source = env.source()
    env.control.latency_ms = 20

    tokens = await asyncio.gather(*(source.token(env.seed.large_account) for _ in range(8)))

    assert len(set(tokens)) == 1
    assert env.control.log.count("/oauth2/token") == 1
    assert source.fetches == 1


async def test_invalidate_forces_a_new_token(env: Env) -> None:
    source = env.source()
    account = env.seed.large_account
    first = await source.token(account)

    source.invalidate(account, "some-older-token")
    assert await source.token(account) == first
    source.invalidate(account, first)

    assert await source.token(account) != first


async def test_wrong_key_is_invalid_client(env: Env) -> None:
    account = with_credentials(env.seed.large_account, private_key_pem=private_pem(2))

    with pytest.raises(UpstreamAuthError) as caught:
        await env.source().token(account)

    assert caught.value.upstream_code == "invalid_client"
    assert caught.value.account_id == account.external_id
    assert "BEGIN" not in caught.value.message


async def test_unknown_client_is_invalid_client(env: Env) -> None:
    account = with_credentials(env.seed.large_account, client_id="SEARCHADS.nobody")

    with pytest.raises(UpstreamAuthError):
        await env.source().token(account)


async def test_unusable_private_key_never_reaches_the_network(env: Env) -> None:
    account = with_credentials(env.seed.large_account, private_key_pem="not a key")

    with pytest.raises(UpstreamAuthError) as caught:
        await env.source().token(account)

    assert "not a key" not in caught.value.message
    assert env.control.log.count() == 0


async def test_missing_credentials_are_named(env: Env) -> None:
    account = AccountRef(
        platform=env.seed.large_account.platform, external_id="1", credentials={"client_id": "x"}
    )

    with pytest.raises(UpstreamAuthError, match="team_id, key_id, private_key_pem"):
        await env.source().token(account)


async def test_token_endpoint_outage_is_unavailable(env: Env) -> None:
    env.control.fail_next(1, "500")

    with pytest.raises(UpstreamUnavailableError):
        await env.source().token(env.seed.large_account)


async def test_client_secret_is_reused_across_token_refreshes(env: Env) -> None:
    source = env.source()
    account = env.seed.large_account
    await source.token(account)
    env.clock.now += 3600
    await source.token(account)
    secrets = [
        dict(httpx.QueryParams(request.content.decode()))["client_secret"]
        for request in env.requests
    ]

    assert len(secrets) == 2
    assert secrets[0] == secrets[1]


class Sleeps:
    """An injected sleep: records each wait and returns only when the test wakes the
    sleepers (after moving the clock itself)."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._gates: list[asyncio.Event] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        gate = asyncio.Event()
        self._gates.append(gate)
        await gate.wait()

    def wake(self) -> None:
        gates, self._gates = self._gates, []
        for gate in gates:
            gate.set()


async def test_start_up_fetches_each_users_token_and_renews_it_before_requests_need_to(
    env: Env,
) -> None:
    sleeps = Sleeps()
    source = AppleTokenSource(env.http, TOKEN_URL, clock=env.clock, sleep=sleeps)
    large = env.seed.large_account
    # given start-up kept the tokens of every configured account fresh (two API users)
    await source.keep_fresh(env.seed.accounts)
    assert env.control.log.count("/oauth2/token") == 2
    first = await source.token(large)
    assert env.control.log.count("/oauth2/token") == 2
    # each user's renewal waits until a quarter of its 600 s token is left
    await until(lambda: len(sleeps.asked) == 2)
    assert sleeps.asked == [450.0, 450.0]
    # when that time comes, with the token endpoint failing once
    env.control.fail_next(1, "500")
    env.clock.now += 450
    sleeps.wake()
    await until(lambda: len(sleeps.asked) == 4)
    # one user renewed (and waits for its new token's time), the failed one tries again in 1 s
    assert sorted(sleeps.asked[2:]) == [1.0, 450.0]
    env.clock.now += 1
    sleeps.wake()
    await until(lambda: env.control.log.count("/oauth2/token") == 5)
    # then a request at a time the first token would be past its use finds the new one
    # there: it does not wait on the token endpoint
    env.clock.now += 100
    second = await source.token(large)
    assert second != first
    assert env.control.log.count("/oauth2/token") == 5
    await source.aclose()


async def test_start_up_leaves_refused_credentials_to_the_requests(env: Env) -> None:
    sleeps = Sleeps()
    source = AppleTokenSource(env.http, TOKEN_URL, clock=env.clock, sleep=sleeps)
    refused = with_credentials(env.seed.large_account, client_id="SEARCHADS.unknown")
    # start-up does not fail for an API user the token endpoint refuses
    await source.keep_fresh([refused])
    await asyncio.sleep(0.01)
    # and keeps no background renewal for it: the requests report the refusal
    assert env.control.log.count("/oauth2/token") == 1
    assert sleeps.asked == []
    with pytest.raises(UpstreamAuthError):
        await source.token(refused)
    await source.aclose()


class Breaking(httpx.AsyncBaseTransport):
    """Passes requests on to ``inner`` after a turn of the event loop, as a network would;
    while ``broken``, raises an unexpected error instead."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.broken = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        if self.broken:
            raise RuntimeError("unexpected")
        return await self.inner.handle_async_request(request)


async def test_a_token_with_no_lifetime_left_is_renewed_after_a_wait_not_in_a_loop() -> None:
    control, clock, sleeps = SandboxControl(), Clock(), Sleeps()
    app = create_app(SEED, control, token_ttl_s=-5, clock=clock)
    async with TransportUpstream(Breaking(SandboxTransport(app))) as http:
        source = AppleTokenSource(http, TOKEN_URL, clock=clock, sleep=sleeps)
        # given a token endpoint whose tokens expire as they are issued
        starting = asyncio.ensure_future(source.keep_fresh([SEED.large_account]))
        await asyncio.sleep(0.05)
        # then the renewal fetched once and waits, rather than asking again at once
        assert control.log.count("/oauth2/token") == 1
        assert sleeps.asked == [45.0]
        await starting
        await source.aclose()


async def test_a_renewal_that_fails_unexpectedly_is_logged_and_restarted_by_a_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    control, clock, sleeps = SandboxControl(), Clock(), Sleeps()
    breaking = Breaking(SandboxTransport(create_app(SEED, control, token_ttl_s=600, clock=clock)))
    large = SEED.large_account
    async with TransportUpstream(breaking) as http:
        source = AppleTokenSource(http, TOKEN_URL, clock=clock, sleep=sleeps)
        await source.keep_fresh([large])
        await until(lambda: sleeps.asked == [450.0])
        # when the renewal meets an error that is no upstream error
        breaking.broken = True
        clock.now += 450
        with caplog.at_level(logging.ERROR, logger="gateway.platforms.apple"):
            sleeps.wake()
            await until(lambda: "renewal" in caplog.text)
        assert large.external_id in caplog.text
        # then a request that has to fetch the token itself starts the renewals again
        breaking.broken = False
        clock.now += 200
        await source.token(large)
        await until(lambda: sleeps.asked == [450.0, 450.0])
        await source.aclose()


async def test_a_renewal_restarted_by_a_request_counts_for_no_request() -> None:
    control, clock, sleeps = SandboxControl(), Clock(), Sleeps()
    breaking = Breaking(SandboxTransport(create_app(SEED, control, token_ttl_s=600, clock=clock)))
    large = SEED.large_account
    async with TransportUpstream(breaking) as http:
        source = AppleTokenSource(http, TOKEN_URL, clock=clock, sleep=sleeps)
        await source.keep_fresh([large])
        await until(lambda: sleeps.asked == [450.0])
        breaking.broken = True
        clock.now += 450
        sleeps.wake()
        await until(lambda: len(sleeps.asked) == 1 and not source._keepers)
        breaking.broken = False
        clock.now += 200
        # when a request fetches the token itself, restarting the renewals
        scope = context.RequestScope("request", Metrics(), Tracing())
        entered = context.enter(scope)
        try:
            await source.token(large)
            await until(lambda: sleeps.asked == [450.0, 450.0])
            # and the renewal it restarted fetches the next token
            clock.now += 450
            sleeps.wake()
            await until(lambda: control.log.count("/oauth2/token") == 3)
        finally:
            context.leave(entered)
        # then the request counts its own token fetch only
        assert scope.upstream_calls == 1
        await source.aclose()
