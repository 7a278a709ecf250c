"""A Starlette app speaking the Apple Ads Platform API v1 and Apple's OAuth token endpoint.

Routes (relative to wherever the app is mounted):
- ``POST /auth/oauth2/token``: client-credentials grant; the client secret must be an ES256
  JWT signed by the key registered for ``client_id`` (alg, kid, sub, iss, aud, exp checked).
- ``POST /v1/adgroups/query``, ``POST /v1/campaigns/query``: v1 query bodies (filters,
  sorting, pagination) validated per field and operator as Apple documents them.
- ``GET /v1/ad-accounts/{id}``: the AdAccount (name, currency, timezone).
- ``GET /v1/acls`` and ``GET /v1/me``: the caller's ad accounts and identity (bearer token
  only: clients call them to learn the ``adAccountId`` for ``X-AP-Context``).
- Anything else: 404 in Apple's error envelope, never a plain-text page.

``X-AP-Context`` is read as ``;``-separated ``key=value`` pairs (``adAccountId=1;`` as Apple's
own library writes it).

Every API response carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and
``RateLimit-Reset``; with ``quota_per_minute`` set, calls beyond the quota get a 429.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gateway.sandbox.apple.model import ApiUser, AppleSeed, Row
from gateway.sandbox.apple.oauth import TokenEndpoint
from gateway.sandbox.apple.query import QueryError, run_query
from gateway.sandbox.apple.state import AppleSandboxState, RateWindow
from gateway.sandbox.control import CannedResponse, ControlledApp, FaultForms, SandboxControl

#: The window Apple's RateLimit-* headers describe; the nominal quota shown when unlimited.
WINDOW_S = 60
NOMINAL_QUOTA = 600
THROTTLE_RETRY_S = 7
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def v1_error(code: str, message: str, details: list[dict[str, Any]] | None = None) -> bytes:
    """A v1 error body."""
    return orjson.dumps({"error": {"code": code, "message": message, "details": details or []}})


def fault_forms() -> FaultForms:
    """Apple's own forms of a 500, a throttle and a rejected token."""
    json_type = ("content-type", "application/json")
    return FaultForms(
        server_error=lambda _scope: CannedResponse(
            500,
            v1_error("INTERNAL_SERVER_ERROR", "An unexpected server-side error occurred."),
            (json_type,),
        ),
        throttle=lambda _scope: CannedResponse(
            429,
            v1_error("RATE_LIMIT_EXCEEDED", "Too many requests."),
            (
                json_type,
                ("retry-after", str(THROTTLE_RETRY_S)),
                ("ratelimit-limit", str(NOMINAL_QUOTA)),
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", str(THROTTLE_RETRY_S)),
            ),
        ),
        auth=lambda _scope: CannedResponse(
            401, v1_error("UNAUTHORIZED", "Invalid or expired access token."), (json_type,)
        ),
    )


class _Handlers:
    def __init__(self, state: AppleSandboxState) -> None:
        self.state = state

    # -- API ---------------------------------------------------------------------------------

    async def adgroups_query(self, request: Request) -> Response:
        return await self._api(
            request,
            lambda account, body: run_query("adgroups", self.state.seed.data[account], body),
        )

    async def campaigns_query(self, request: Request) -> Response:
        return await self._api(
            request,
            lambda account, body: run_query("campaigns", self.state.seed.data[account], body),
        )

    async def get_account(self, request: Request) -> Response:
        path_id = request.path_params["account_id"]

        def answer(account: str, _body: Any) -> tuple[int, Any]:
            if path_id != account:
                return 403, orjson.loads(
                    v1_error("FORBIDDEN", "The ad account in the path does not match X-AP-Context.")
                )
            return 200, {"result": self.state.seed.data[account].account}

        return await self._api(request, answer, has_body=False)

    async def _api(
        self,
        request: Request,
        answer: Callable[[str, Any], tuple[int, Any]],
        *,
        has_body: bool = True,
    ) -> Response:
        """Auth, context, rate limit and body parsing around one API handler."""
        admitted = self._admit(request)
        if isinstance(admitted, Response):
            return admitted
        client_id, limit_headers = admitted
        account = context_account(request.headers.get("x-ap-context", ""))
        if account is None:
            return _raw(
                400,
                v1_error(
                    "INVALID_ARGUMENT",
                    "Missing or malformed X-AP-Context header.",
                    [
                        {
                            "code": "MISSING_HEADER",
                            "message": "Send X-AP-Context: adAccountId=<id>.",
                            "info": {"field": "X-AP-Context"},
                        }
                    ],
                ),
                limit_headers,
            )
        user = self.state.seed.users[client_id]
        if account not in user.account_ids or account not in self.state.seed.data:
            return _raw(
                403,
                v1_error("FORBIDDEN", "The API user has no access to this ad account."),
                limit_headers,
            )
        body: Any = {}
        if has_body:
            raw = await request.body()
            if raw.strip():
                try:
                    body = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return _raw(
                        400,
                        v1_error("INVALID_ARGUMENT", "The body is not valid JSON."),
                        limit_headers,
                    )
        try:
            status, payload = answer(account, body)
        except QueryError as exc:
            return _raw(
                400, v1_error("INVALID_ARGUMENT", "Invalid query.", exc.details), limit_headers
            )
        return _json(status, payload, limit_headers)

    async def acls(self, request: Request) -> Response:
        """``GET /v1/acls``: the ad accounts the API user may act on."""

        def answer(user: ApiUser) -> Any:
            data = self.state.seed.data
            return {
                "data": [acl_entry(data[a].account) for a in sorted(user.account_ids)],
                "pagination": None,
                "error": None,
            }

        return await self._caller(request, answer)

    async def me(self, request: Request) -> Response:
        """``GET /v1/me``: the API caller's identifiers."""

        def answer(user: ApiUser) -> Any:
            first = self.state.seed.data[min(user.account_ids)].account
            return {"data": {"userId": user.user_id, "parentOrgId": first["orgId"]}}

        return await self._caller(request, answer)

    async def _caller(self, request: Request, answer: Callable[[ApiUser], Any]) -> Response:
        """Auth and rate limit around a call about the caller (no ``X-AP-Context``)."""
        admitted = self._admit(request)
        if isinstance(admitted, Response):
            return admitted
        client_id, limit_headers = admitted
        return _json(200, answer(self.state.seed.users[client_id]), limit_headers)

    def _admit(self, request: Request) -> tuple[str, dict[str, str]] | Response:
        """The caller's client_id and this call's RateLimit-* headers, or the refusal: 429
        over the quota (counted per token, or once for all anonymous calls), else 401."""
        client_id = self._bearer(request)
        limit_headers, throttled = self._rate(client_id or "anonymous")
        if throttled:
            headers = {**limit_headers, "Retry-After": limit_headers["RateLimit-Reset"]}
            return _raw(429, v1_error("RATE_LIMIT_EXCEEDED", "Too many requests."), headers)
        if client_id is None:
            return _raw(
                401, v1_error("UNAUTHORIZED", "Invalid or expired access token."), limit_headers
            )
        return client_id, limit_headers

    async def unknown(self, request: Request) -> Response:
        """Any other path or method: Apple's error envelope with a 404."""
        item = {
            "messageCode": "NOT_FOUND",
            "message": f"No resource at {request.method} {request.url.path}",
            "field": "",
        }
        return _json(404, {"error": {"errors": [item]}})

    def _bearer(self, request: Request) -> str | None:
        """The client_id of a valid bearer token, or None."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        issued = self.state.tokens.get(token.strip())
        if issued is None or issued[1] <= self.state.clock():
            return None
        return issued[0]

    def _rate(self, key: str) -> tuple[dict[str, str], bool]:
        """The RateLimit-* headers for this call, and whether it is over the quota."""
        now = self.state.clock()
        window = self.state.windows.get(key)
        if window is None or now - window.started >= WINDOW_S:
            window = self.state.windows[key] = RateWindow(started=now)
        window.used += 1
        quota = self.state.quota_per_minute
        limit = quota if quota is not None else NOMINAL_QUOTA
        reset = max(1, int(window.started + WINDOW_S - now + 0.999))
        headers = {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(0, limit - window.used)),
            "RateLimit-Reset": str(reset),
        }
        return headers, quota is not None and window.used > quota


def context_account(header: str) -> str | None:
    """The ``adAccountId`` of an ``X-AP-Context`` header: ``;``-separated ``key=value``
    pairs, blanks and a trailing ``;`` allowed; None unless it is a decimal id."""
    for pair in header.split(";"):
        key, sep, value = pair.partition("=")
        if sep and key.strip() == "adAccountId":
            value = value.strip()
            return value if value.isdigit() else None
    return None


def acl_entry(account: Row) -> Row:
    """An account as ``/acls`` lists it (the UserAcl fields, plus ``adAccountId``)."""
    return {
        "adAccountId": account["id"],
        "orgId": account["orgId"],
        "orgName": account["name"],
        "displayName": account["name"],
        "currency": account["currency"],
        "timeZone": account["timezone"],
        "paymentModel": account["paymentModel"],
        "roleNames": ["API Account Read Only"],
        "parentOrgId": account["orgId"],
    }


def _raw(status: int, body: bytes, headers: dict[str, str]) -> Response:
    return Response(body, status, headers, media_type="application/json")


def create_app(
    seed: AppleSeed,
    control: SandboxControl,
    *,
    token_ttl_s: int = 3600,
    quota_per_minute: int | None = None,
    clock: Callable[[], float] = time.time,
) -> ASGIApp:
    """The Apple sandbox, wrapped in ``ControlledApp`` with Apple's fault forms.

    ``token_ttl_s`` shortens issued tokens for expiry tests; ``quota_per_minute`` makes the
    API really throttle; ``clock`` lets tests move time. The state (issued tokens) is
    reachable through ``sandbox_state(app)``.
    """
    state = AppleSandboxState(
        seed=seed, token_ttl_s=token_ttl_s, quota_per_minute=quota_per_minute, clock=clock
    )
    handlers = _Handlers(state)
    app = Starlette(
        routes=[
            Route("/auth/oauth2/token", TokenEndpoint(state).token, methods=["POST"]),
            Route("/v1/adgroups/query", handlers.adgroups_query, methods=["POST"]),
            Route("/v1/campaigns/query", handlers.campaigns_query, methods=["POST"]),
            Route("/v1/ad-accounts/{account_id}", handlers.get_account, methods=["GET"]),
            Route("/v1/acls", handlers.acls, methods=["GET"]),
            Route("/v1/me", handlers.me, methods=["GET"]),
            Route("/{path:path}", handlers.unknown, methods=_ANY_METHOD),
        ]
    )
    app.state.apple = state
    return ControlledApp(app, control, fault_forms())


def sandbox_state(app: ASGIApp) -> AppleSandboxState:
    """The state of an app built by ``create_app``."""
    if isinstance(app, ControlledApp) and isinstance(app.app, Starlette):
        state = app.app.state.apple
        if isinstance(state, AppleSandboxState):
            return state
    raise TypeError("not an Apple sandbox app")
