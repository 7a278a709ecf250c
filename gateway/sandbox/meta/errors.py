"""Graph's error envelope, the sandbox's errors in it, and Meta's own fault forms."""

from __future__ import annotations

import base64
import itertools
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.types import Scope

from gateway.sandbox.control import CannedResponse, FaultForms, SandboxControl
from gateway.sandbox.meta.seed import MetaSeed
from gateway.sandbox.meta.usage import buc_header

_trace_ids = itertools.count(1)


def _trace_id() -> str:
    return base64.b64encode(f"sbx-{next(_trace_ids):08d}".encode()).decode().rstrip("=")


def error_body(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    kind: str = "OAuthException",
    transient: bool = False,
) -> bytes:
    """Graph's error envelope."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    error["fbtrace_id"] = _trace_id()
    return orjson.dumps({"error": error})


class GraphError(Exception):
    """An error answered with Graph's envelope."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        kind: str = "OAuthException",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(code, message, subcode=subcode, kind=kind)
        self.headers = headers or {}


def bad_param(message: str) -> GraphError:
    return GraphError(400, 100, f"(#100) {message}")


def not_found(node_id: str) -> GraphError:
    """A node that does not exist: an alias (a name, not an id) is Graph's #803."""
    if not node_id.isdigit() and not node_id.startswith("act_"):
        return GraphError(
            404, 803, f"(#803) Some of the aliases you requested do not exist: {node_id}"
        )
    return GraphError(
        400,
        100,
        f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation.",
        subcode=33,
        kind="GraphMethodException",
    )


def unknown_path(path: str, method: str) -> GraphError:
    """Graph's answer to a path or method it does not serve."""
    if method not in ("GET", "HEAD"):
        return GraphError(
            400,
            100,
            f"Unsupported {method.lower()} request.",
            subcode=33,
            kind="GraphMethodException",
        )
    return GraphError(
        400, 100, f"(#100) Unknown path components: {path}", kind="GraphMethodException"
    )


_THROTTLE_MESSAGE = (
    "(#80004) There have been too many calls to this ad-account. Wait a bit and try again. "
    "For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting#ads-management."
)


def throttled(account_id: str | None, regain_minutes: int) -> GraphError:
    """An ads_management throttle (80004) of one ad account: its usage header names that
    account alone (a real 80004 concerns the account called, never its siblings)."""
    accounts = [] if account_id is None else [account_id]
    return GraphError(
        400,
        80004,
        _THROTTLE_MESSAGE,
        subcode=2446079,
        headers={"x-business-use-case-usage": buc_header(accounts, 100, regain_minutes)},
    )


def called_account(scope: Scope, seed: MetaSeed) -> str | None:
    """The ad account (digits) a request concerns: the ``act_`` node of its path, else the
    account whose token it carries."""
    for part in str(scope.get("path", "")).split("/"):
        if part.startswith("act_"):
            return part.removeprefix("act_")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    token = query.get("access_token", [""])[0]
    if not token:
        for name, value in scope.get("headers", ()):
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                token = value[7:].decode("latin-1").strip()
    owner = next((a for a in seed.data if a.token == token), None)
    return None if owner is None else owner.account_id


def fault_forms(seed: MetaSeed, control: SandboxControl) -> FaultForms:
    """Meta's own forms of an unknown error, an ads_management throttle and an expired token.

    The throttle names the called ad account and its regain time is
    ``control.throttle_regain_minutes``, read when the fault is injected."""

    def server_error(_scope: Scope) -> CannedResponse:
        return CannedResponse(
            500, error_body(1, "An unknown error occurred", subcode=99, transient=True)
        )

    def throttle(scope: Scope) -> CannedResponse:
        error = throttled(called_account(scope, seed), control.throttle_regain_minutes)
        headers = (
            ("content-type", "application/json"),
            *error.headers.items(),
            ("x-app-usage", '{"call_count":12,"total_cputime":4,"total_time":6}'),
        )
        return CannedResponse(error.status, error.body, headers)

    def auth(_scope: Scope) -> CannedResponse:
        body = error_body(
            190,
            "Error validating access token: Session has expired on Monday, 23-Nov-26 "
            "10:00:00 PST. The current time is Monday, 23-Nov-26 11:02:13 PST.",
            subcode=463,
        )
        return CannedResponse(400, body)

    return FaultForms(server_error=server_error, throttle=throttle, auth=auth)
