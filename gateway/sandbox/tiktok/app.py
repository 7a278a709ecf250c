"""A Starlette app speaking TikTok's Business API v1.3 for ad groups, campaigns and
advertisers, over a TikTokSeed.

Like TikTok it answers every request with HTTP 200 and the ``{code, message, request_id,
data}`` envelope, reads JSON-encoded ``fields``/``filtering`` from the query string, pages with
``page``/``page_size`` (1-1000) sorted by id descending, and hides deleted rows unless
``primary_status`` asks for them. Faults injected by ``ControlledApp`` use TikTok's own forms
(HTTP 200 with code 50000, 40100 or 40105).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gateway.sandbox.control import ControlledApp, SandboxControl
from gateway.sandbox.tiktok.extra import ANY_METHOD, ExtraEndpoints
from gateway.sandbox.tiktok.seed import AdvertiserData, Row, TikTokSeed
from gateway.sandbox.tiktok.statuses import (
    ADGROUP_PRIMARY,
    ADGROUP_PRIMARY_FILTERS,
    ADGROUP_PSEUDO_SECONDARY,
    CAMPAIGN_PRIMARY,
    CAMPAIGN_PRIMARY_FILTERS,
    CAMPAIGN_PSEUDO_SECONDARY,
    DEFAULT_PRIMARY_STATUS,
)
from gateway.sandbox.tiktok.wire import (
    FAULT_FORMS,
    ApiError,
    answer,
    fields_param,
    id_list,
    int_param,
    json_param,
    page_of,
    project,
)

PREFIX = "/open_api/v1.3"
MAX_PAGE_SIZE = 1000

ADGROUP_FIELDS = frozenset(
    {
        "adgroup_id", "adgroup_name", "campaign_id", "campaign_name", "advertiser_id",
        "operation_status", "secondary_status", "budget_mode", "budget", "scheduled_budget",
        "schedule_type", "schedule_start_time", "schedule_end_time", "dayparting",
        "optimization_goal", "billing_event", "bid_type", "bid_price", "pacing",
        "placement_type", "placements", "location_ids", "age_groups", "gender", "languages",
        "audience_ids", "excluded_audience_ids", "promotion_type", "create_time", "modify_time",
    }
)  # fmt: skip
CAMPAIGN_FIELDS = frozenset(
    {
        "campaign_id", "campaign_name", "advertiser_id", "objective_type", "operation_status",
        "secondary_status", "budget_mode", "budget", "budget_optimize_on", "campaign_type",
        "is_new_structure", "campaign_automation_type", "create_time", "modify_time",
    }
)  # fmt: skip
ADVERTISER_FIELDS = frozenset(
    {"advertiser_id", "name", "currency", "timezone", "display_timezone", "status", "balance",
     "create_time"}
)  # fmt: skip


class _Quota:
    """A one-second sliding window of request times, when a quota is set."""

    def __init__(self, per_second: int | None) -> None:
        self.per_second = per_second
        self._times: deque[float] = deque()

    def exceeded(self) -> bool:
        if self.per_second is None:
            return False
        now = time.monotonic()
        while self._times and now - self._times[0] >= 1.0:
            self._times.popleft()
        if len(self._times) >= self.per_second:
            return True
        self._times.append(now)
        return False


class _Api:
    """The endpoint handlers over one seed."""

    def __init__(self, seed: TikTokSeed, quota: _Quota) -> None:
        self.seed = seed
        self.quota = quota

    def authorize(self, request: Request) -> frozenset[str]:
        if self.quota.exceeded():
            raise ApiError(40100, "Requests made too frequently.")
        token = request.headers.get("access-token")
        if token is None:
            raise ApiError(40105, "The access token is invalid or has been revoked.")
        if not token.strip():
            raise ApiError(40104, "Access token is null, please check your access token.")
        allowed = self.seed.tokens.get(token)
        if allowed is None:
            raise ApiError(40105, "The access token is invalid or has been revoked.")
        return allowed

    def advertiser(self, request: Request, allowed: frozenset[str]) -> AdvertiserData:
        advertiser_id = request.query_params.get("advertiser_id")
        if not advertiser_id:
            raise ApiError(40002, "advertiser_id: Missing data for required field.")
        data = self.seed.advertisers.get(advertiser_id)
        if advertiser_id not in allowed or data is None:
            raise ApiError(40001, f"No permission to operate advertiser: {advertiser_id}")
        return data

    async def adgroup_get(self, request: Request) -> Response:
        return answer(request, self._adgroups)

    async def campaign_get(self, request: Request) -> Response:
        return answer(request, self._campaigns)

    async def advertiser_info(self, request: Request) -> Response:
        return answer(request, self._advertisers)

    def _adgroups(self, request: Request) -> Any:
        allowed = self.authorize(request)
        data = self.advertiser(request, allowed)
        fields = fields_param(request, ADGROUP_FIELDS)
        filtering = json_param(request, "filtering", {})
        if not isinstance(filtering, dict):
            raise ApiError(40002, "filtering: Not a valid mapping type.")
        page = int_param(request, "page", 1, 1, 99_999_999)
        page_size = int_param(request, "page_size", 10, 1, MAX_PAGE_SIZE)
        primary, wanted = _status_filter(
            filtering, ADGROUP_PRIMARY, ADGROUP_PRIMARY_FILTERS, ADGROUP_PSEUDO_SECONDARY
        )
        rows: Sequence[Row]
        if primary is not None:
            rows = data.by_primary[primary]  # the common case, served from an index
        else:
            rows = [r for r in data.adgroups if r["secondary_status"] in wanted]
        if "campaign_ids" in filtering:
            picked = [
                r
                for cid in dict.fromkeys(id_list(filtering["campaign_ids"], "campaign_ids"))
                for r in data.by_campaign.get(cid, ())
                if r["secondary_status"] in wanted
            ]
            rows = sorted(picked, key=lambda r: int(r["adgroup_id"]), reverse=True)
        if "adgroup_ids" in filtering:
            ids = set(id_list(filtering["adgroup_ids"], "adgroup_ids"))
            rows = [r for r in rows if r["adgroup_id"] in ids]
        return page_of(rows, page, page_size, fields)

    def _campaigns(self, request: Request) -> Any:
        allowed = self.authorize(request)
        data = self.advertiser(request, allowed)
        fields = fields_param(request, CAMPAIGN_FIELDS)
        filtering = json_param(request, "filtering", {})
        if not isinstance(filtering, dict):
            raise ApiError(40002, "filtering: Not a valid mapping type.")
        page = int_param(request, "page", 1, 1, 99_999_999)
        page_size = int_param(request, "page_size", 10, 1, MAX_PAGE_SIZE)
        _, wanted = _status_filter(
            filtering, CAMPAIGN_PRIMARY, CAMPAIGN_PRIMARY_FILTERS, CAMPAIGN_PSEUDO_SECONDARY
        )
        rows: Sequence[Row] = [r for r in data.campaigns if r["secondary_status"] in wanted]
        if "campaign_ids" in filtering:
            ids = set(id_list(filtering["campaign_ids"], "campaign_ids"))
            rows = [r for r in rows if r["campaign_id"] in ids]
        return page_of(rows, page, page_size, fields)

    def _advertisers(self, request: Request) -> Any:
        allowed = self.authorize(request)
        ids = json_param(request, "advertiser_ids", None)
        if ids is None:
            raise ApiError(40002, "advertiser_ids: Missing data for required field.")
        fields = fields_param(request, ADVERTISER_FIELDS)
        out = []
        for advertiser_id in id_list(ids, "advertiser_ids"):
            data = self.seed.advertisers.get(advertiser_id)
            if advertiser_id not in allowed or data is None:
                raise ApiError(40001, f"No permission to operate advertiser: {advertiser_id}")
            out.append(data.info)
        return {"list": project(out, fields)}


def _status_filter(
    filtering: dict[str, Any],
    table: Mapping[str, str],
    primary_filters: Mapping[str, frozenset[str]],
    pseudo: Mapping[str, str],
) -> tuple[str | None, frozenset[str]]:
    """The secondary statuses ``filtering`` selects, and the one primary status that selects
    exactly them when there is one (for the index).

    ``primary_status`` defaults to STATUS_NOT_DELETE only when no status is named at all: a
    ``secondary_status`` such as ..._DELETE returns those rows (TikTok's docs give it as a way
    to list deleted ones), and the older ..._STATUS_ALL / ..._NOT_DELETE forms stand for the
    primary status of the same meaning."""
    primary = filtering.get("primary_status")
    secondary = filtering.get("secondary_status")
    if primary is not None and primary not in primary_filters:
        raise ApiError(40002, f"filtering.primary_status: Invalid value: {primary}")
    if secondary is None:
        chosen = primary or DEFAULT_PRIMARY_STATUS
        return chosen, primary_filters[chosen]
    if secondary in pseudo:
        wanted = primary_filters[pseudo[secondary]]
    elif secondary in table:
        wanted = frozenset({secondary})
    else:
        raise ApiError(40002, f"filtering.secondary_status: Invalid value: {secondary}")
    if primary is not None:
        wanted &= primary_filters[primary]
    return None, wanted


def create_app(
    seed: TikTokSeed, control: SandboxControl, *, quota_per_second: int | None = None
) -> ASGIApp:
    """The sandbox app, wrapped in ControlledApp with TikTok's fault forms.

    ``quota_per_second`` really throttles (code 40100) beyond that many requests a second.
    """
    api = _Api(seed, _Quota(quota_per_second))
    extra = ExtraEndpoints(api)
    app = Starlette(
        routes=[
            Route(f"{PREFIX}/adgroup/get/", api.adgroup_get, methods=["GET"]),
            Route(f"{PREFIX}/campaign/get/", api.campaign_get, methods=["GET"]),
            Route(f"{PREFIX}/advertiser/info/", api.advertiser_info, methods=["GET"]),
            Route(f"{PREFIX}/user/info/", extra.user_info, methods=["GET"]),
            Route(f"{PREFIX}/ad/get/", extra.ad_get, methods=["GET"]),
            Route(f"{PREFIX}/report/integrated/get/", extra.report_get, methods=["GET"]),
            Route("/{path:path}", extra.unknown, methods=ANY_METHOD),
        ]
    )
    return ControlledApp(app, control, FAULT_FORMS)
