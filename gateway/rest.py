"""The documented REST path: ``GET /v1/projects/{projectId}/ads/adsets``.

Parameters are validated here (400 with ``{"error": {"code", "message", "param"}}``), then the
listing service does the work, exactly as for GraphQL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from gateway.auth import Authenticator
from gateway.errors import (
    AuthenticationError,
    GatewayError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    StoreUnavailableError,
    UpstreamError,
)
from gateway.ids import IdKind, check_id
from gateway.listing import DEFAULT_LIMIT, MAX_LIMIT, MIN_LIMIT, ListFilters, ListingService
from gateway.loaders import RequestLoaders
from gateway.platforms.base import AdPlatform, AdSetStatus, Platform
from gateway.walk import Source, SourcesFailedError
from gateway.wire import WrittenItems, dumps

KNOWN_PARAMS = frozenset(
    {"campaignId", "platforms", "adAccountId", "status", "cursor", "limit", "allowPartial"}
)
E = TypeVar("E", Platform, AdSetStatus)
_DIGITS = re.compile(r"[0-9]{1,4}")  # ASCII only: str.isdigit() accepts "²" and "١٠"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An orjson-encoded JSON response."""
    return Response(dumps(body), status_code=status, media_type="application/json", headers=headers)


def error_response(error: GatewayError) -> Response:
    """The documented error body and status for one of our errors."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    headers: dict[str, str] = {}
    if isinstance(error, InvalidInputError):
        status = 400
        body["param"] = error.param
    elif isinstance(error, AuthenticationError):
        status = 401
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(error, PermissionDeniedError):
        status = 403
    elif isinstance(error, NotFoundError):
        status = 404
    elif isinstance(error, StoreUnavailableError):
        status = 503
    elif isinstance(error, SourcesFailedError):
        status = 503 if error.code == "upstream_throttled" else 502
        body["sources"] = [source_json(s) for s in error.sources]
        if error.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    elif isinstance(error, RateLimitedError):
        status = 503
        if error.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    elif isinstance(error, UpstreamError):
        status = 502
        body["code"] = "upstream_unavailable"
        body["reason"] = error.code
    else:
        status = 500
    if isinstance(error, UpstreamError):
        body["platform"] = error.platform
    return json_response({"error": body}, status, headers or None)


def source_json(source: Source) -> dict[str, Any]:
    """One account's part in a page, as reported to clients."""
    return {
        "platform": source.platform.value,
        "adAccountId": source.ad_account_id,
        "status": source.status.value,
        "code": source.code,
        "retryAfter": source.retry_after,
    }


def parse_allow_partial(request: Request) -> bool:
    """``allowPartial=true`` opts in to pages that skip failing accounts."""
    raw = _single(request.query_params.getlist("allowPartial"), "allowPartial")
    if raw is None or raw == "false":
        return False
    if raw == "true":
        return True
    raise InvalidInputError(
        "allowPartial must be true or false", param="allowPartial", code="invalid_allow_partial"
    )


def parse_filters(request: Request) -> tuple[ListFilters, int, str | None]:
    """Validate the query string: filters, limit and cursor."""
    params = request.query_params
    for name in params:
        if name not in KNOWN_PARAMS:
            raise InvalidInputError(
                f"unknown query parameter {name!r}; known: {', '.join(sorted(KNOWN_PARAMS))}",
                param=name,
                code="unknown_parameter",
            )
    limit = _limit(params.getlist("limit"))
    campaign_id = _single(params.getlist("campaignId"), "campaignId")
    account_id = _single(params.getlist("adAccountId"), "adAccountId")
    cursor = _single(params.getlist("cursor"), "cursor")
    filters = ListFilters(
        campaign_id=None
        if campaign_id is None
        else check_id(campaign_id, IdKind.CAMPAIGN, param="campaignId"),
        ad_account_id=None
        if account_id is None
        else check_id(account_id, IdKind.AD_ACCOUNT, param="adAccountId"),
        platforms=_enum_list(params.getlist("platforms"), "platforms", Platform),
        statuses=_enum_list(params.getlist("status"), "status", AdSetStatus),
    )
    return filters, limit, cursor or None


def _limit(values: list[str]) -> int:
    raw = _single(values, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not _DIGITS.fullmatch(raw) or not MIN_LIMIT <= int(raw) <= MAX_LIMIT:
        raise InvalidInputError(
            f"limit must be a whole number from {MIN_LIMIT} to {MAX_LIMIT}",
            param="limit",
            code="invalid_limit",
        )
    return int(raw)


def _single(values: list[str], name: str) -> str | None:
    if not values:
        return None
    if len(values) > 1:
        raise InvalidInputError(f"{name} may be given once", param=name, code="duplicate_parameter")
    return values[0]


def _enum_list(values: list[str], name: str, kind: Callable[[str], E]) -> frozenset[E] | None:
    """Repeated params and comma-separated values alike: ``status=a,b&status=c``."""
    if not values:
        return None
    parsed: set[E] = set()
    for value in values:
        for part in value.split(","):
            try:
                parsed.add(kind(part.strip()))
            except ValueError:
                allowed = ", ".join(m.value for m in kind)  # type: ignore[attr-defined]
                raise InvalidInputError(
                    f"{name} must be one or more of: {allowed} (got {part.strip()!r})",
                    param=name,
                    code=f"invalid_{'platform' if name == 'platforms' else name}",
                ) from None
    return frozenset(parsed)


class AdSetsEndpoint:
    """Handler of ``GET /v1/projects/{projectId}/ads/adsets``."""

    def __init__(
        self,
        service: ListingService,
        authenticator: Authenticator,
        clients: dict[Platform, AdPlatform],
    ) -> None:
        self._service = service
        self._auth = authenticator
        self._clients = clients
        self._written = WrittenItems()

    async def handle(self, request: Request) -> Response:
        try:
            principal = await self._auth.authenticate(request.headers.get("authorization"))
            project_id = request.path_params["project_id"]
            project = self._service.project_for(principal, project_id)
            filters, limit, cursor = parse_filters(request)
            allow_partial = parse_allow_partial(request)
            loaders = RequestLoaders(self._clients, project.ad_accounts)
            page = await self._service.list_adsets(
                principal,
                project_id,
                filters,
                limit=limit,
                cursor=cursor,
                loaders=loaders,
                allow_partial=allow_partial,
            )
        except GatewayError as error:
            return error_response(error)
        body: dict[str, Any] = {
            "items": [self._written.item(item) for item in page.items],
            "nextCursor": page.next_cursor,
        }
        if allow_partial:
            body["sources"] = [source_json(s) for s in page.sources]
        return json_response(body)
