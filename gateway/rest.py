"""The documented REST path: ``GET /v1/projects/{projectId}/ads/adsets``.

Parameters are validated here (400 with ``{"error": {"code", "message", "param"}}``), then the
listing service does the work, exactly as for GraphQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from gateway.auth import Authenticator
from gateway.errors import QUOTED_PREFIX, InvalidInputError, quote_input
from gateway.ids import IdKind, check_id
from gateway.listing.service import ListingService
from gateway.listing.types import ListFilters, PageSize
from gateway.platforms.base import AdSetStatus, Platform
from gateway.responses import json_response
from gateway.wire import WrittenItems

KNOWN_PARAMS = frozenset(
    {"campaignId", "platforms", "adAccountId", "status", "cursor", "limit", "allowPartial"}
)
E = TypeVar("E", Platform, AdSetStatus)


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


def parse_filters(request: Request) -> tuple[ListFilters, PageSize, str | None]:
    """Validate the query string: filters, limit and cursor."""
    params = request.query_params
    for name in params:
        if name not in KNOWN_PARAMS:
            raise InvalidInputError(
                f"unknown query parameter {quote_input(name)}; known: "
                f"{', '.join(sorted(KNOWN_PARAMS))}",
                param=name[:QUOTED_PREFIX],
                code="unknown_parameter",
            )
    limit = PageSize.parse(_single(params.getlist("limit"), "limit"), param="limit")
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
                    f"{name} must be one or more of: {allowed} (got {quote_input(part.strip())})",
                    param=name,
                    code=f"invalid_{'platform' if name == 'platforms' else name}",
                ) from None
    return frozenset(parsed)


class AdSetsEndpoint:
    """Handler of ``GET /v1/projects/{projectId}/ads/adsets``. Errors are raised and rendered
    by the app's exception handler (``responses``)."""

    def __init__(self, service: ListingService, authenticator: Authenticator) -> None:
        self._service = service
        self._auth = authenticator
        self._written = WrittenItems()

    async def handle(self, request: Request) -> Response:
        principal = await self._auth.authenticate(request.headers.get("authorization"))
        project = self._service.project_for(principal, request.path_params["project_id"])
        filters, limit, cursor = parse_filters(request)
        allow_partial = parse_allow_partial(request)
        if request.method == "HEAD":
            # Checked like a GET (401, 403, 404, 400 alike), but no listing is run: a HEAD
            # must not spend the platforms' quota on a body nobody receives.
            return Response(status_code=200, media_type="application/json")
        page = await self._service.list_adsets(
            project, filters, limit=limit, cursor=cursor, allow_partial=allow_partial
        )
        body: dict[str, Any] = {
            "items": self._written.items(page.items),
            "nextCursor": page.next_cursor,
        }
        if allow_partial:
            body["sources"] = [s.as_json() for s in page.sources]
        return json_response(body)
