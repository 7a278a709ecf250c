"""A Starlette app speaking TikTok's Business API v1.3 for ad groups, campaigns and
advertisers, over a TikTokSeed.

Like TikTok it answers every request with HTTP 200 and the ``{code, message, request_id,
data}`` envelope, reads JSON-encoded ``fields``/``filtering`` from the query string, pages with
``page``/``page_size`` (1-1000) sorted by id descending, and hides deleted rows unless
``primary_status`` asks for them. Faults injected by ``ControlledApp`` use TikTok's own forms
(HTTP 200 with code 50000, 40100 or 40105).
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gateway.platforms.tiktok.statuses import (
    DEFAULT_PRIMARY_STATUS,
    PRIMARY_STATUS_FILTERS,
    SECONDARY_STATUSES,
)
from gateway.sandbox.control import CannedResponse, ControlledApp, FaultForms, SandboxControl
from gateway.sandbox.tiktok.seed import AdvertiserData, Row, TikTokSeed

PREFIX = "/open_api/v1.3"
MAX_PAGE_SIZE = 1000
MAX_FILTER_IDS = 100

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

# Campaign secondary status -> the primary status TikTok files it under.
_CAMPAIGN_PRIMARY = {
    "CAMPAIGN_STATUS_ENABLE": "STATUS_DELIVERY_OK",
    "CAMPAIGN_STATUS_DISABLE": "STATUS_DISABLE",
    "CAMPAIGN_STATUS_DELETE": "STATUS_DELETE",
}
_CAMPAIGN_PRIMARY_FILTERS = frozenset(
    {"STATUS_ALL", "STATUS_NOT_DELETE", "STATUS_DELETE", "STATUS_DISABLE",
     "STATUS_DELIVERY_OK", "STATUS_NOT_DELIVERY"}
)  # fmt: skip
_LEGACY_SECONDARY = {"ADGROUP_STATUS_ALL": "STATUS_ALL", "ADGROUP_STATUS_NOT_DELETE": None}

_request_ids = itertools.count(1)


def _request_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d%H%M%S}{next(_request_ids):012X}"


def envelope(code: int, message: str, data: Any = None) -> bytes:
    """A TikTok response body."""
    return orjson.dumps(
        {
            "code": code,
            "message": message,
            "request_id": _request_id(),
            "data": {} if data is None else data,
        }
    )


def _canned(code: int, message: str) -> Callable[[], CannedResponse]:
    return lambda: CannedResponse(200, envelope(code, message))


#: TikTok's own forms: a system error, a throttle and a rejected token, all HTTP 200.
FAULT_FORMS = FaultForms(
    server_error=_canned(50000, "System error."),
    throttle=_canned(40100, "Requests made too frequently."),
    auth=_canned(40105, "The access token is invalid or has been revoked."),
)


class ApiError(Exception):
    """A business error answered in the envelope."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _reply(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _json_param(request: Request, name: str, default: Any) -> Any:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(40002, f"{name}: Not a valid JSON.") from exc


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(40002, f"{name}: Not a valid integer.") from exc
    if not low <= value <= high:
        raise ApiError(40002, f"{name}: Must be greater than or equal to {low} and less than "
                       f"or equal to {high}.")  # fmt: skip
    return value


def _id_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(40002, f"{name}: Not a valid list of strings.")
    if len(value) > MAX_FILTER_IDS:
        raise ApiError(40002, f"{name}: Length must be between 1 and {MAX_FILTER_IDS}.")
    return value


def _fields(request: Request, known: frozenset[str]) -> Sequence[str] | None:
    fields = _json_param(request, "fields", None)
    if fields is None:
        return None
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ApiError(40002, "fields: Not a valid list of strings.")
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise ApiError(40002, f"fields: Invalid field: {unknown[0]}")
    return fields


def _project(rows: Sequence[Row], fields: Sequence[str] | None) -> list[Row]:
    if fields is None:
        return list(rows)
    return [{f: r[f] for f in fields if f in r} for r in rows]


def _page(rows: Sequence[Row], page: int, page_size: int, fields: Sequence[str] | None) -> Any:
    total = len(rows)
    chunk = rows[(page - 1) * page_size : page * page_size]
    return {
        "list": _project(chunk, fields),
        "page_info": {
            "page": page,
            "page_size": page_size,
            "total_number": total,
            "total_page": math.ceil(total / page_size),
        },
    }


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

    def _authorize(self, request: Request) -> frozenset[str]:
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

    def _advertiser(self, request: Request, allowed: frozenset[str]) -> AdvertiserData:
        advertiser_id = request.query_params.get("advertiser_id")
        if not advertiser_id:
            raise ApiError(40002, "advertiser_id: Missing data for required field.")
        data = self.seed.advertisers.get(advertiser_id)
        if advertiser_id not in allowed or data is None:
            raise ApiError(40001, f"No permission to operate advertiser: {advertiser_id}")
        return data

    async def handle(self, request: Request, endpoint: Callable[[Request], Any]) -> Response:
        try:
            data = endpoint(request)
        except ApiError as exc:
            return _reply(envelope(exc.code, exc.message))
        return _reply(envelope(0, "OK", data))

    async def adgroup_get(self, request: Request) -> Response:
        return await self.handle(request, self._adgroups)

    async def campaign_get(self, request: Request) -> Response:
        return await self.handle(request, self._campaigns)

    async def advertiser_info(self, request: Request) -> Response:
        return await self.handle(request, self._advertisers)

    def _adgroups(self, request: Request) -> Any:
        allowed = self._authorize(request)
        data = self._advertiser(request, allowed)
        fields = _fields(request, ADGROUP_FIELDS)
        filtering = _json_param(request, "filtering", {})
        if not isinstance(filtering, dict):
            raise ApiError(40002, "filtering: Not a valid mapping type.")
        primary = filtering.get("primary_status", DEFAULT_PRIMARY_STATUS)
        secondary = filtering.get("secondary_status")
        if secondary in _LEGACY_SECONDARY:  # older "include deleted" form
            primary = _LEGACY_SECONDARY[secondary] or DEFAULT_PRIMARY_STATUS
            secondary = None
        if primary not in PRIMARY_STATUS_FILTERS:
            raise ApiError(40002, f"filtering.primary_status: Invalid value: {primary}")
        if secondary is not None and secondary not in SECONDARY_STATUSES:
            raise ApiError(40002, f"filtering.secondary_status: Invalid value: {secondary}")
        page = _int_param(request, "page", 1, 1, 99_999_999)
        page_size = _int_param(request, "page_size", 10, 1, MAX_PAGE_SIZE)

        rows: Sequence[Row] = data.by_primary[primary]
        if "campaign_ids" in filtering:
            wanted = PRIMARY_STATUS_FILTERS[primary]
            picked = [
                r
                for cid in dict.fromkeys(_id_list(filtering["campaign_ids"], "campaign_ids"))
                for r in data.by_campaign.get(cid, ())
                if r["secondary_status"] in wanted
            ]
            rows = sorted(picked, key=lambda r: int(r["adgroup_id"]), reverse=True)
        if "adgroup_ids" in filtering:
            ids = set(_id_list(filtering["adgroup_ids"], "adgroup_ids"))
            rows = [r for r in rows if r["adgroup_id"] in ids]
        if secondary is not None:
            rows = [r for r in rows if r["secondary_status"] == secondary]
        return _page(rows, page, page_size, fields)

    def _campaigns(self, request: Request) -> Any:
        allowed = self._authorize(request)
        data = self._advertiser(request, allowed)
        fields = _fields(request, CAMPAIGN_FIELDS)
        filtering = _json_param(request, "filtering", {})
        if not isinstance(filtering, dict):
            raise ApiError(40002, "filtering: Not a valid mapping type.")
        primary = filtering.get("primary_status", DEFAULT_PRIMARY_STATUS)
        if primary not in _CAMPAIGN_PRIMARY_FILTERS:
            raise ApiError(40002, f"filtering.primary_status: Invalid value: {primary}")
        page = _int_param(request, "page", 1, 1, 99_999_999)
        page_size = _int_param(request, "page_size", 10, 1, MAX_PAGE_SIZE)
        rows: Sequence[Row] = [r for r in data.campaigns if _campaign_matches(r, primary)]
        if "campaign_ids" in filtering:
            ids = set(_id_list(filtering["campaign_ids"], "campaign_ids"))
            rows = [r for r in rows if r["campaign_id"] in ids]
        return _page(rows, page, page_size, fields)

    def _advertisers(self, request: Request) -> Any:
        allowed = self._authorize(request)
        ids = _json_param(request, "advertiser_ids", None)
        if ids is None:
            raise ApiError(40002, "advertiser_ids: Missing data for required field.")
        fields = _fields(request, ADVERTISER_FIELDS)
        out = []
        for advertiser_id in _id_list(ids, "advertiser_ids"):
            data = self.seed.advertisers.get(advertiser_id)
            if advertiser_id not in allowed or data is None:
                raise ApiError(40001, f"No permission to operate advertiser: {advertiser_id}")
            out.append(data.info)
        return {"list": _project(out, fields)}


def _campaign_matches(row: Row, primary: str) -> bool:
    own = _CAMPAIGN_PRIMARY.get(row["secondary_status"], "STATUS_NOT_DELIVERY")
    if primary == "STATUS_ALL":
        return True
    if primary == "STATUS_NOT_DELETE":
        return own != "STATUS_DELETE"
    return own == primary


def create_app(
    seed: TikTokSeed, control: SandboxControl, *, quota_per_second: int | None = None
) -> ASGIApp:
    """The sandbox app, wrapped in ControlledApp with TikTok's fault forms.

    ``quota_per_second`` really throttles (code 40100) beyond that many requests a second.
    """
    api = _Api(seed, _Quota(quota_per_second))
    app = Starlette(
        routes=[
            Route(f"{PREFIX}/adgroup/get/", api.adgroup_get, methods=["GET"]),
            Route(f"{PREFIX}/campaign/get/", api.campaign_get, methods=["GET"]),
            Route(f"{PREFIX}/advertiser/info/", api.advertiser_info, methods=["GET"]),
        ]
    )
    return ControlledApp(app, control, FAULT_FORMS)
