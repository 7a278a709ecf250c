"""Apple's OAuth token endpoint: the client-credentials grant with an ES256 client-secret JWT
signed by the key registered for ``client_id`` (alg, kid, sub, iss, aud, exp and iat checked
against the sandbox's clock)."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qs

import jwt
import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.sandbox.apple.model import ApiUser
from gateway.sandbox.apple.state import AppleSandboxState

AUDIENCE = "https://appleid.apple.com"
LEEWAY_S = 5
MAX_SECRET_LIFETIME_S = 180 * 24 * 3600


class TokenEndpoint:
    """``POST /auth/oauth2/token``."""

    def __init__(self, state: AppleSandboxState) -> None:
        self.state = state

    async def token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("latin-1")).items()}
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("scope") != "searchadsorg":
            return _oauth_error("invalid_scope", "scope must be searchadsorg")
        user = self.state.seed.users.get(form.get("client_id", ""))
        if user is None:
            return _oauth_error("invalid_client", "unknown client_id")
        problem = self.check_secret(user, form.get("client_secret", ""))
        if problem is not None:
            return _oauth_error("invalid_client", problem)
        token = secrets.token_urlsafe(32)
        ttl = self.state.token_ttl_s
        self.state.tokens[token] = (user.client_id, self.state.clock() + ttl)
        return _json(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": ttl,
                "scope": "searchadsorg",
            },
        )

    def check_secret(self, user: ApiUser, secret: str) -> str | None:
        """Why the client secret is unacceptable, or None when it is good."""
        try:
            header = jwt.get_unverified_header(secret)
        except jwt.PyJWTError:
            return "client_secret is not a JWT"
        if header.get("alg") != "ES256":
            return "client_secret must be signed with ES256"
        if header.get("kid") != user.key_id:
            return "client_secret kid does not match the registered key"
        try:
            claims = jwt.decode(
                secret,
                user.public_key,
                algorithms=["ES256"],
                audience=AUDIENCE,
                issuer=user.team_id,
                # Time claims are checked below against the sandbox clock (tests move it).
                options={
                    "require": ["sub", "iss", "aud", "iat", "exp"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            return "client_secret signature does not verify"
        except jwt.PyJWTError as exc:
            return f"client_secret rejected: {exc}"
        now = self.state.clock()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or exp <= now - LEEWAY_S:
            return "client_secret has expired"
        if not isinstance(iat, int | float) or iat > now + LEEWAY_S:
            return "client_secret iat is in the future"
        if exp - iat > MAX_SECRET_LIFETIME_S:
            return "client_secret lifetime exceeds 180 days"
        if claims.get("sub") != user.client_id:
            return "client_secret sub does not match client_id"
        return None


def _oauth_error(code: str, description: str) -> Response:
    return _json(400, {"error": code, "error_description": description})


def _json(status: int, body: Any) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")
