"""Graph's error envelope, the sandbox's errors in it, and Meta's own fault forms."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import orjson

from gateway.sandbox.control import CannedResponse, FaultForms
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
    return GraphError(
        400,
        100,
        f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation.",
        subcode=33,
        kind="GraphMethodException",
    )


def fault_forms(seed: MetaSeed) -> FaultForms:
    """Meta's own forms of an unknown error, an ads_management throttle and an expired token.

    A canned throttle cannot know the request's account, so its usage header names every
    seeded account."""
    digits = [a.account_id for a in seed.data]

    def server_error() -> CannedResponse:
        return CannedResponse(
            500, error_body(1, "An unknown error occurred", subcode=99, transient=True)
        )

    def throttle() -> CannedResponse:
        body = error_body(
            80004,
            "(#80004) There have been too many calls to this ad-account. Wait a bit and try "
            "again. For more info, please refer to "
            "https://developers.facebook.com/docs/graph-api/overview/rate-limiting#ads-management.",
            subcode=2446079,
        )
        headers = (
            ("content-type", "application/json"),
            ("x-business-use-case-usage", buc_header(digits, 100, 5)),
            ("x-app-usage", '{"call_count":12,"total_cputime":4,"total_time":6}'),
        )
        return CannedResponse(400, body, headers)

    def auth() -> CannedResponse:
        body = error_body(
            190,
            "Error validating access token: Session has expired on Monday, 23-Nov-26 "
            "10:00:00 PST. The current time is Monday, 23-Nov-26 11:02:13 PST.",
            subcode=463,
        )
        return CannedResponse(400, body)

    return FaultForms(server_error=server_error, throttle=throttle, auth=auth)
