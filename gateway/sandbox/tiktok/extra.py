"""TikTok endpoints third-party clients call before they list anything: the token check
(``user/info/``), ads (``ad/get/``) and reports (``report/integrated/get/``), and TikTok's
envelope for every other path.

The seed holds no ads and no delivery, so ads and reports answer valid empty pages after the
same authorization and parameter checks as the listing endpoints.
"""

from __future__ import annotations

from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from gateway.sandbox.tiktok.seed import AdvertiserData
from gateway.sandbox.tiktok.wire import ApiError, answer, envelope, int_param, json_param, reply

ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
MAX_PAGE_SIZE = 1000
#: ``report_type`` values of "Create a synchronous report".
REPORT_TYPES = frozenset({"BASIC", "AUDIENCE", "PLAYABLE_MATERIAL", "CATALOG", "BC", "TT_SHOP"})
DATA_LEVELS = frozenset({"AUCTION_ADVERTISER", "AUCTION_CAMPAIGN", "AUCTION_ADGROUP", "AUCTION_AD"})
#: TikTok's answer to a path it does not serve (HTTP 200 like every TikTok error).
UNKNOWN_PATH_CODE = 40400


class Gate(Protocol):
    """What the listing endpoints check first: the token, then the advertiser."""

    def authorize(self, request: Request) -> frozenset[str]: ...

    def advertiser(self, request: Request, allowed: frozenset[str]) -> AdvertiserData: ...


def _empty_page(request: Request) -> dict[str, Any]:
    page = int_param(request, "page", 1, 1, 99_999_999)
    page_size = int_param(request, "page_size", 10, 1, MAX_PAGE_SIZE)
    return {
        "list": [],
        "page_info": {"page": page, "page_size": page_size, "total_number": 0, "total_page": 0},
    }


class ExtraEndpoints:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate

    async def user_info(self, request: Request) -> Response:
        """``GET user/info/``: who the token belongs to (no advertiser needed)."""

        def data(req: Request) -> Any:
            allowed = self.gate.authorize(req)
            first = min(allowed)
            return {
                "core_user_id": f"68{first[-10:]}",
                "display_name": "Acme Ads Admin",
                "email": f"ads-admin+{first[-6:]}@example.com",
                "avatar_url": "",
                "create_time": 1_700_000_000,
            }

        return answer(request, data)

    async def ad_get(self, request: Request) -> Response:
        """``GET ad/get/``: no ads are seeded, so every page is empty."""

        def data(req: Request) -> Any:
            self.gate.advertiser(req, self.gate.authorize(req))
            filtering = json_param(req, "filtering", {})
            if not isinstance(filtering, dict):
                raise ApiError(40002, "filtering: Not a valid mapping type.")
            return _empty_page(req)

        return answer(request, data)

    async def report_get(self, request: Request) -> Response:
        """``GET report/integrated/get/``: the required parameters are checked, and the
        report is empty (the seed has no delivery)."""

        def data(req: Request) -> Any:
            self.gate.advertiser(req, self.gate.authorize(req))
            report_type = req.query_params.get("report_type")
            if report_type not in REPORT_TYPES:
                raise ApiError(40002, f"report_type: Invalid value: {report_type}")
            level = req.query_params.get("data_level")
            if report_type == "BASIC" and level not in DATA_LEVELS:
                raise ApiError(40002, f"data_level: Invalid value: {level}")
            dimensions = json_param(req, "dimensions", None)
            if not isinstance(dimensions, list) or not dimensions:
                raise ApiError(40002, "dimensions: Missing data for required field.")
            lifetime = json_param(req, "query_lifetime", False) is True
            if not lifetime and not (
                req.query_params.get("start_date") and req.query_params.get("end_date")
            ):
                raise ApiError(40002, "start_date and end_date are required.")
            return _empty_page(req)

        return answer(request, data)

    async def unknown(self, request: Request) -> Response:
        """Any other path or method, in TikTok's envelope rather than a plain-text 404."""
        message = f"The requested path does not exist: {request.method} {request.url.path}"
        return reply(envelope(UNKNOWN_PATH_CODE, message))
