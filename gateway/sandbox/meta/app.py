"""A Starlette app speaking Meta's Graph API (v<digits>.0) for ad sets, campaigns and ad
accounts, over a MetaSeed.

Like Graph it takes the token as ``access_token`` or ``Authorization: Bearer``, answers errors
with the ``{"error": {...}}`` envelope (HTTP 400/403/500), returns only the requested
``fields`` (``id`` always), pages with opaque ``after`` cursors and a ``paging.next`` URL built
from the request URL, hides ARCHIVED and DELETED rows unless a status filter names them, and
sends usage headers on every response. ``limit`` defaults to 25 and is at most ``MAX_LIMIT``
(Meta documents no maximum for these edges). Lists are in id-descending order.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gateway.sandbox.control import ControlledApp, SandboxControl
from gateway.sandbox.meta.errors import (
    GraphError,
    bad_param,
    fault_forms,
    not_found,
    throttled,
    unknown_path,
)
from gateway.sandbox.meta.fields import node_fields, project
from gateway.sandbox.meta.paging import Edge, page
from gateway.sandbox.meta.params import (
    MAX_LIMIT,
    EdgeRules,
    limit_param,
    read_filters,
    summary_param,
)
from gateway.sandbox.meta.seed import AccountData, MetaSeed, Node
from gateway.sandbox.meta.statuses import (
    ACCOUNT_ADSETS_PARAM,
    ANY_FILTER_STATUS,
    HIDDEN_BY_DEFAULT,
)
from gateway.sandbox.meta.usage import Meter, usage_headers

MAX_IDS = 50

_ACCOUNT_ADSETS = EdgeRules(ACCOUNT_ADSETS_PARAM, ANY_FILTER_STATUS, "adset")
_CAMPAIGN_ADSETS = EdgeRules(ANY_FILTER_STATUS, ANY_FILTER_STATUS, "adset")
_CAMPAIGNS = EdgeRules(ANY_FILTER_STATUS, ANY_FILTER_STATUS, "campaign")

_VERSION = re.compile(r"v\d+\.0")
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

__all__ = ["MAX_LIMIT", "MetaSandbox", "create_app"]


class MetaSandbox:
    """Request handling over one seed; ``app`` is the bare Starlette app."""

    def __init__(
        self,
        seed: MetaSeed,
        *,
        quota_per_minute: int | None,
        clock: Callable[[], float],
        control: SandboxControl | None = None,
    ) -> None:
        self.seed = seed
        self.control = control
        self.users = {a.token: a.user() for a in seed.data}
        self.by_token = {a.token: a for a in seed.data}
        self.by_digits = {a.account_id: a for a in seed.data}
        self.adsets = {a.account_id: Edge(a.adsets, "campaign_id") for a in seed.data}
        self.campaigns = {a.account_id: Edge(a.campaigns, "id") for a in seed.data}
        self.nodes: dict[str, tuple[str, Node, AccountData]] = {}
        for account in seed.data:
            for node in account.campaigns:
                self.nodes[node["id"]] = ("Campaign", node, account)
            for node in account.adsets:
                self.nodes[node["id"]] = ("AdSet", node, account)
        self.meter = Meter(quota_per_minute, clock)
        self.app_meter = Meter(None, clock)
        self.app = Starlette(
            routes=[
                Route("/{version}/", self.batch),
                Route("/{version}/{node}", self.node),
                Route("/{version}/{node}/{edge}", self.edge),
                Route("/{path:path}", self.unknown, methods=_ANY_METHOD),
            ]
        )

    # -- plumbing ---------------------------------------------------------------------------

    async def _serve(self, request: Request, handler: Callable[[AccountData], Any]) -> Response:
        account: AccountData | None = None
        try:
            if not _VERSION.fullmatch(request.path_params["version"]):
                raise bad_param(f"Unknown path components: /{request.path_params['version']}")
            account = self._authenticate(request)
            if self._metered():
                self.app_meter.admit("app")
                if not self.meter.admit(account.account_id):
                    raise self._throttled(account)
            body = orjson.dumps(handler(account))
            return Response(
                body,
                media_type="application/json",
                headers=self._usage_headers(account),
            )
        except GraphError as exc:
            headers = {**self._usage_headers(account), **exc.headers}
            return Response(
                exc.body, status_code=exc.status, media_type="application/json", headers=headers
            )

    def _metered(self) -> bool:
        return self.control is None or self.control.metered

    def _usage_headers(self, account: AccountData | None) -> dict[str, str]:
        return usage_headers(self.meter, self.app_meter, account, idle=not self._metered())

    def _authenticate(self, request: Request) -> AccountData:
        token = request.query_params.get("access_token")
        header = request.headers.get("authorization", "")
        if token is None and header.lower().startswith("bearer "):
            token = header[7:].strip()
        if not token:
            raise GraphError(400, 190, "An access token is required to request this resource.")
        account = self.by_token.get(token)
        if account is None:
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        return account

    def _throttled(self, account: AccountData) -> GraphError:
        left = self.meter.seconds_left(account.account_id)
        return throttled(account.account_id, max(1, math.ceil(left / 60)))

    def _ad_account(self, node_id: str, caller: AccountData) -> AccountData:
        account = self.by_digits.get(node_id.removeprefix("act_"))
        if account is None:
            raise not_found(node_id)
        if account is not caller:
            raise GraphError(
                403,
                200,
                "(#200) Ad account owner has NOT grant ads_management or ads_read permission",
            )
        return account

    # -- endpoints --------------------------------------------------------------------------

    async def batch(self, request: Request) -> Response:
        """``GET /{ver}/?ids=A,B&fields=...``: an object keyed by id; ids that do not exist
        or belong to another account are left out."""

        def handle(caller: AccountData) -> Any:
            raw = request.query_params.get("ids", "")
            ids = [i for i in raw.split(",") if i]
            if not ids:
                raise bad_param("Must specify ids")
            if len(ids) > MAX_IDS:
                raise bad_param(f"Param ids must be at most {MAX_IDS} ids")
            out: dict[str, Any] = {}
            for node_id in dict.fromkeys(ids):
                found = self.nodes.get(node_id)
                if found is None or found[2] is not caller:
                    continue
                kind, node, _ = found
                out[node_id] = project(node, node_fields(request, kind))
            return out

        return await self._serve(request, handle)

    async def node(self, request: Request) -> Response:
        """``GET /{ver}/{id}``: an ad account, campaign or ad set (deleted ones too)."""
        node_id: str = request.path_params["node"]

        def handle(caller: AccountData) -> Any:
            if node_id == "me":
                return project(caller.user(), node_fields(request, "User"))
            if node_id.startswith("act_"):
                account = self._ad_account(node_id, caller)
                return project(account.node(), node_fields(request, "AdAccount"))
            found = self.nodes.get(node_id)
            if found is None or found[2] is not caller:
                raise not_found(node_id)
            return project(found[1], node_fields(request, found[0]))

        return await self._serve(request, handle)

    async def edge(self, request: Request) -> Response:
        """``/act_{id}/adsets``, ``/act_{id}/campaigns`` and ``/{campaign_id}/adsets``."""
        node_id: str = request.path_params["node"]
        edge: str = request.path_params["edge"]

        def handle(caller: AccountData) -> Any:
            campaign: str | None = None
            if node_id == "me":
                return self._me_edge(request, caller, edge)
            if node_id.startswith("act_"):
                account = self._ad_account(node_id, caller)
                node_type = "AdAccount"
            else:
                found = self.nodes.get(node_id)
                if found is None or found[2] is not caller:
                    raise not_found(node_id)
                account, node_type, campaign = found[2], found[0], node_id
            if edge == "adsets" and node_type in ("AdAccount", "Campaign"):
                rules = _ACCOUNT_ADSETS if campaign is None else _CAMPAIGN_ADSETS
                adsets = self.adsets[account.account_id]
                return self._list(request, adsets, "AdSet", campaign, rules)
            if edge == "campaigns" and node_type == "AdAccount":
                return self._list(
                    request, self.campaigns[account.account_id], "Campaign", None, _CAMPAIGNS
                )
            raise bad_param(
                f"Tried accessing nonexisting field ({edge}) on node type ({node_type})"
            )

        return await self._serve(request, handle)

    def _list(
        self,
        request: Request,
        rows: Edge,
        node_type: str,
        campaign: str | None,
        rules: EdgeRules,
    ) -> Any:
        spec = node_fields(request, node_type)
        limit = limit_param(request)
        summary = summary_param(request)
        if "before" in request.query_params:
            raise bad_param("Paging backwards (before) is not supported by this sandbox")
        filters = read_filters(request, rules)
        statuses = filters.statuses
        if statuses is None:
            statuses = ANY_FILTER_STATUS - HIDDEN_BY_DEFAULT
        campaigns = filters.campaigns
        if campaign is not None:
            campaigns = frozenset({campaign}) if campaigns is None else campaigns & {campaign}
        picked = rows.select(frozenset(statuses), campaigns)
        if filters.tests:
            picked = [i for i in picked if all(test(rows.rows[i]) for test in filters.tests)]
        return page(request, rows, picked, spec, limit, summary)

    def _me_edge(self, request: Request, caller: AccountData, edge: str) -> Any:
        """``/me/business_users`` and ``/me/adaccounts`` of the token's user."""
        if edge == "business_users":
            user = caller.business_user()
            spec = node_fields(request, "BusinessUser")
            return {"data": [project(user, spec)]}
        if edge == "adaccounts":
            spec = node_fields(request, "AdAccount")
            return {"data": [project(caller.node(), spec)]}
        raise bad_param(f"Tried accessing nonexisting field ({edge}) on node type (User)")

    async def unknown(self, request: Request) -> Response:
        """Any other path or method: Graph's own error, never a plain-text 404."""
        error = unknown_path(request.url.path, request.method)
        return Response(error.body, status_code=error.status, media_type="application/json")


def create_app(
    seed: MetaSeed,
    control: SandboxControl,
    *,
    quota_per_minute: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ASGIApp:
    """The Meta sandbox wrapped in ``ControlledApp`` with Meta's fault forms.

    ``quota_per_minute`` really throttles each ad account (code 80004) past that many calls
    in a minute; without it the usage headers still report a rising call count. An injected
    throttle names the called ad account and tells it to wait ``control.throttle_regain_minutes``
    (five unless changed). With ``control.metered`` False, calls are not counted and the usage
    headers read 0 %."""
    sandbox = MetaSandbox(seed, quota_per_minute=quota_per_minute, clock=clock, control=control)
    return ControlledApp(sandbox.app, control, fault_forms(seed, control))
