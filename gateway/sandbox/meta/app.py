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

import base64
import binascii
import bisect
import itertools
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gateway.platforms.meta.statuses import EFFECTIVE_STATUSES, HIDDEN_BY_DEFAULT
from gateway.sandbox.control import CannedResponse, ControlledApp, FaultForms, SandboxControl
from gateway.sandbox.meta.seed import AccountData, MetaSeed, Node

MAX_LIMIT = 500
DEFAULT_LIMIT = 25
MAX_IDS = 50
# Calls a minute that read as 100% usage when no quota is set (the headers still move).
NOMINAL_CALLS_PER_MINUTE = 1000
NOMINAL_APP_CALLS_PER_MINUTE = 5000
WINDOW_SECONDS = 60.0

_VERSION = re.compile(r"v\d+\.0")
_STATUS_VALUES = frozenset(EFFECTIVE_STATUSES)
_NODE_FIELDS = {
    "AdSet": frozenset(
        {
            "id", "name", "campaign_id", "account_id", "status", "configured_status",
            "effective_status", "daily_budget", "lifetime_budget", "budget_remaining",
            "bid_amount", "bid_strategy", "billing_event", "optimization_goal",
            "destination_type", "start_time", "end_time", "created_time", "updated_time",
            "targeting", "promoted_object", "learning_stage_info", "issues_info",
        }
    ),
    "Campaign": frozenset(
        {
            "id", "name", "account_id", "objective", "status", "configured_status",
            "effective_status", "daily_budget", "lifetime_budget", "bid_strategy",
            "buying_type", "special_ad_categories", "start_time", "stop_time",
            "created_time", "updated_time",
        }
    ),
    "AdAccount": frozenset(
        {
            "id", "account_id", "name", "currency", "timezone_name",
            "timezone_offset_hours_utc", "timezone_id", "account_status", "amount_spent",
            "spend_cap",
        }
    ),
}  # fmt: skip
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


def _bad_param(message: str) -> GraphError:
    return GraphError(400, 100, f"(#100) {message}")


def _not_found(node_id: str) -> GraphError:
    return GraphError(
        400,
        100,
        f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation.",
        subcode=33,
        kind="GraphMethodException",
    )


def _buc_header(account_ids: Iterable[str], pct: int, regain_minutes: int) -> str:
    entry = {
        "type": "ads_management",
        "call_count": pct,
        "total_cputime": pct // 2,
        "total_time": pct // 2,
        "estimated_time_to_regain_access": regain_minutes,
        "ads_api_access_tier": "standard_access",
    }
    return orjson.dumps({a: [entry] for a in account_ids}).decode()


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
            ("x-business-use-case-usage", _buc_header(digits, 100, 5)),
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


# -- query parameters -----------------------------------------------------------------------

FieldSpec = dict[str, "FieldSpec | None"]


def parse_fields(text: str) -> FieldSpec:
    """``"id,name,targeting{age_min,geo_locations}"`` -> ``{"id": None, ..., "targeting":
    {"age_min": None, "geo_locations": None}}``."""
    spec, rest = _parse_field_list(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")):
        raise _bad_param("Syntax error in fields")
    return spec


def _parse_field_list(text: str, i: int) -> tuple[FieldSpec, int]:
    spec: FieldSpec = {}
    while i < len(text) and text[i] != "}":
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, i)
        if match is None:
            raise _bad_param("Syntax error in fields")
        name, i = match.group(), match.end()
        sub: FieldSpec | None = None
        if i < len(text) and text[i] == "{":
            sub, i = _parse_field_list(text, i + 1)
            if i >= len(text) or text[i] != "}":
                raise _bad_param("Syntax error in fields")
            i += 1
        spec[name] = sub
        if i < len(text) and text[i] == ",":
            i += 1
    return spec, i


def _fields(request: Request, node_type: str) -> FieldSpec:
    raw = request.query_params.get("fields")
    spec = parse_fields(raw) if raw else {}
    known = _NODE_FIELDS[node_type]
    for name in spec:
        if name not in known:
            raise _bad_param(
                f"Tried accessing nonexisting field ({name}) on node type ({node_type})"
            )
    return spec


def project(node: Node, spec: FieldSpec) -> Node:
    """The requested fields of ``node`` (``id`` always); absent values are left out."""
    out: Node = {"id": node["id"]}
    for name, sub in spec.items():
        if name not in node:
            continue
        value = node[name]
        if sub is not None and isinstance(value, dict):
            value = {k: value[k] for k in sub if k in value}
        out[name] = value
    return out


def _json_param(request: Request, name: str) -> Any:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        if name == "effective_status" and not raw.startswith("["):
            return raw.split(",")  # the comma form Graph also accepts
        raise _bad_param(f"Param {name} must be a JSON array") from None


def _status_list(value: Any, name: str) -> set[str]:
    values = value if isinstance(value, list) else [value]
    for i, item in enumerate(values):
        if item not in _STATUS_VALUES:
            allowed = ", ".join(EFFECTIVE_STATUSES)
            raise _bad_param(f"Param {name}[{i}] must be one of {{{allowed}}}")
    return set(values)


@dataclass(frozen=True, slots=True)
class _Filters:
    """Effective statuses to show (None = Meta's default) and campaign ids (None = any)."""

    statuses: frozenset[str] | None
    campaigns: frozenset[str] | None


def _filters(request: Request, status_fields: tuple[str, ...]) -> _Filters:
    statuses: set[str] | None = None
    named = _json_param(request, "effective_status")
    if named is not None:
        statuses = _status_list(named, "effective_status")
    campaigns: set[str] | None = None
    filtering = _json_param(request, "filtering")
    if filtering is not None:
        if not isinstance(filtering, list):
            raise _bad_param("Param filtering must be an array of filter objects")
        for rule in filtering:
            if not isinstance(rule, dict) or not {"field", "operator", "value"} <= rule.keys():
                raise _bad_param("Each filter needs field, operator and value")
            field, operator, value = rule["field"], rule["operator"], rule["value"]
            if operator not in ("IN", "EQUAL"):
                raise _bad_param(f"Filtering operator {operator} is not supported")
            values = value if isinstance(value, list) else [value]
            if field in status_fields:
                found = _status_list(values, "filtering.value")
                statuses = found if statuses is None else statuses & found
            elif field == "campaign.id":
                ids = {str(v) for v in values}
                campaigns = ids if campaigns is None else campaigns & ids
            else:
                raise _bad_param(f"Filtering field {field} is invalid")
    return _Filters(
        statuses=None if statuses is None else frozenset(statuses),
        campaigns=None if campaigns is None else frozenset(campaigns),
    )


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise _bad_param(f"Param limit must be an integer between 1 and {MAX_LIMIT}")
    return int(raw)


def _summary(request: Request) -> bool:
    raw = request.query_params.get("summary")
    if raw is None or raw in ("false", "0"):
        return False
    if raw in ("true", "1") or "total_count" in raw.split(","):
        return True
    raise _bad_param(f"Param summary: unknown summary field ({raw})")


def encode_cursor(node_id: str) -> str:
    return base64.urlsafe_b64encode(f"sbx:{node_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    if not text.startswith("sbx:"):
        raise _bad_param("The after cursor is invalid")
    return text.removeprefix("sbx:")


# -- data -----------------------------------------------------------------------------------


class _Edge:
    """One account's ad sets or campaigns in list order, indexed for cheap filtered pages."""

    def __init__(self, rows: list[Node], campaign_key: str) -> None:
        self.rows = rows
        self.position = {row["id"]: i for i, row in enumerate(rows)}
        self._by_status: dict[str, list[int]] = {}
        self._by_campaign: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            self._by_status.setdefault(row["effective_status"], []).append(i)
            self._by_campaign.setdefault(row[campaign_key], []).append(i)
        self._cache: dict[tuple[frozenset[str], frozenset[str] | None], Sequence[int]] = {}

    def select(self, statuses: frozenset[str], campaigns: frozenset[str] | None) -> Sequence[int]:
        """Positions of matching rows, ascending (memoized per filter)."""
        key = (statuses, campaigns)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if campaigns is None and statuses >= self._by_status.keys():
            picked: Sequence[int] = range(len(self.rows))
        elif campaigns is None:
            picked = sorted(i for s in statuses for i in self._by_status.get(s, ()))
        else:
            picked = sorted(
                i
                for c in campaigns
                for i in self._by_campaign.get(c, ())
                if self.rows[i]["effective_status"] in statuses
            )
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[key] = picked
        return picked


@dataclass
class _Window:
    started: float
    calls: int = 0


class _Meter:
    """Calls per account in fixed one-minute windows, and an optional hard quota."""

    def __init__(self, quota: int | None, clock: Callable[[], float]) -> None:
        self.quota = quota
        self.clock = clock
        self._windows: dict[str, _Window] = {}

    def _window(self, key: str) -> _Window:
        now = self.clock()
        window = self._windows.get(key)
        if window is None or now - window.started >= WINDOW_SECONDS:
            window = self._windows[key] = _Window(now)
        return window

    def seconds_left(self, key: str) -> float:
        return max(0.0, WINDOW_SECONDS - (self.clock() - self._window(key).started))

    def admit(self, key: str) -> bool:
        """Count a call; False (and not counted) when the quota is used up."""
        window = self._window(key)
        if self.quota is not None and window.calls >= self.quota:
            return False
        window.calls += 1
        return True

    def pct(self, key: str, nominal: int) -> int:
        calls = self._window(key).calls
        return min(100, math.ceil(calls * 100 / (self.quota or nominal)))


# -- the app --------------------------------------------------------------------------------


class MetaSandbox:
    """Request handling over one seed; ``app`` is the bare Starlette app."""

    def __init__(
        self, seed: MetaSeed, *, quota_per_minute: int | None, clock: Callable[[], float]
    ) -> None:
        self.seed = seed
        self.by_token = {a.token: a for a in seed.data}
        self.by_digits = {a.account_id: a for a in seed.data}
        self.adsets = {a.account_id: _Edge(a.adsets, "campaign_id") for a in seed.data}
        self.campaigns = {a.account_id: _Edge(a.campaigns, "id") for a in seed.data}
        self.nodes: dict[str, tuple[str, Node, AccountData]] = {}
        for account in seed.data:
            for node in account.campaigns:
                self.nodes[node["id"]] = ("Campaign", node, account)
            for node in account.adsets:
                self.nodes[node["id"]] = ("AdSet", node, account)
        self.meter = _Meter(quota_per_minute, clock)
        self.app_meter = _Meter(None, clock)
        self.app = Starlette(
            routes=[
                Route("/{version}/", self.batch),
                Route("/{version}/{node}", self.node),
                Route("/{version}/{node}/{edge}", self.edge),
            ]
        )

    # -- plumbing ---------------------------------------------------------------------------

    async def _serve(self, request: Request, handler: Callable[[AccountData], Any]) -> Response:
        account: AccountData | None = None
        try:
            if not _VERSION.fullmatch(request.path_params["version"]):
                raise _bad_param(f"Unknown path components: /{request.path_params['version']}")
            account = self._authenticate(request)
            self.app_meter.admit("app")
            if not self.meter.admit(account.account_id):
                raise self._throttled(account)
            body = orjson.dumps(handler(account))
            return Response(body, media_type="application/json", headers=self._usage(account))
        except GraphError as exc:
            headers = {**self._usage(account), **exc.headers}
            return Response(
                exc.body, status_code=exc.status, media_type="application/json", headers=headers
            )

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
        minutes = max(1, math.ceil(left / 60))
        return GraphError(
            400,
            80004,
            "(#80004) There have been too many calls to this ad-account. Wait a bit and try again.",
            subcode=2446079,
            headers={"x-business-use-case-usage": _buc_header([account.account_id], 100, minutes)},
        )

    def _usage(self, account: AccountData | None) -> dict[str, str]:
        app_pct = self.app_meter.pct("app", NOMINAL_APP_CALLS_PER_MINUTE)
        headers = {
            "x-app-usage": orjson.dumps(
                {"call_count": app_pct, "total_cputime": app_pct // 2, "total_time": app_pct // 2}
            ).decode()
        }
        if account is not None:
            key = account.account_id
            pct = self.meter.pct(key, NOMINAL_CALLS_PER_MINUTE)
            left = math.ceil(self.meter.seconds_left(key))
            headers["x-business-use-case-usage"] = _buc_header([key], pct, 0)
            headers["x-ad-account-usage"] = orjson.dumps(
                {
                    "acc_id_util_pct": pct,
                    "reset_time_duration": left if pct >= 100 else 0,
                    "ads_api_access_tier": "standard_access",
                }
            ).decode()
        return headers

    def _ad_account(self, node_id: str, caller: AccountData) -> AccountData:
        account = self.by_digits.get(node_id.removeprefix("act_"))
        if account is None:
            raise _not_found(node_id)
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
                raise _bad_param("Must specify ids")
            if len(ids) > MAX_IDS:
                raise _bad_param(f"Param ids must be at most {MAX_IDS} ids")
            out: dict[str, Any] = {}
            for node_id in dict.fromkeys(ids):
                found = self.nodes.get(node_id)
                if found is None or found[2] is not caller:
                    continue
                kind, node, _ = found
                out[node_id] = project(node, _fields(request, kind))
            return out

        return await self._serve(request, handle)

    async def node(self, request: Request) -> Response:
        """``GET /{ver}/{id}``: an ad account, campaign or ad set (deleted ones too)."""
        node_id: str = request.path_params["node"]

        def handle(caller: AccountData) -> Any:
            if node_id.startswith("act_"):
                account = self._ad_account(node_id, caller)
                return project(account.node(), _fields(request, "AdAccount"))
            found = self.nodes.get(node_id)
            if found is None or found[2] is not caller:
                raise _not_found(node_id)
            return project(found[1], _fields(request, found[0]))

        return await self._serve(request, handle)

    async def edge(self, request: Request) -> Response:
        """``/act_{id}/adsets``, ``/act_{id}/campaigns`` and ``/{campaign_id}/adsets``."""
        node_id: str = request.path_params["node"]
        edge: str = request.path_params["edge"]

        def handle(caller: AccountData) -> Any:
            campaign: str | None = None
            if node_id.startswith("act_"):
                account = self._ad_account(node_id, caller)
                node_type = "AdAccount"
            else:
                found = self.nodes.get(node_id)
                if found is None or found[2] is not caller:
                    raise _not_found(node_id)
                account, node_type, campaign = found[2], found[0], node_id
            if edge == "adsets" and node_type in ("AdAccount", "Campaign"):
                return self._list(
                    request, self.adsets[account.account_id], "AdSet", campaign,
                    ("effective_status", "adset.effective_status"),
                )  # fmt: skip
            if edge == "campaigns" and node_type == "AdAccount":
                return self._list(
                    request, self.campaigns[account.account_id], "Campaign", None,
                    ("effective_status", "campaign.effective_status"),
                )  # fmt: skip
            raise _bad_param(
                f"Tried accessing nonexisting field ({edge}) on node type ({node_type})"
            )

        return await self._serve(request, handle)

    def _list(
        self,
        request: Request,
        rows: _Edge,
        node_type: str,
        campaign: str | None,
        status_fields: tuple[str, ...],
    ) -> Any:
        spec = _fields(request, node_type)
        limit = _limit(request)
        summary = _summary(request)
        if "before" in request.query_params:
            raise _bad_param("Paging backwards (before) is not supported by this sandbox")
        filters = _filters(request, status_fields)
        statuses = filters.statuses
        if statuses is None:
            statuses = _STATUS_VALUES - HIDDEN_BY_DEFAULT
        campaigns = filters.campaigns
        if campaign is not None:
            campaigns = frozenset({campaign}) if campaigns is None else campaigns & {campaign}
        picked = rows.select(frozenset(statuses), campaigns)
        start = 0
        after = request.query_params.get("after")
        if after:
            position = rows.position.get(decode_cursor(after))
            if position is None:
                raise _bad_param("The after cursor is invalid or refers to a deleted object")
            start = bisect.bisect_right(picked, position)
        chunk = picked[start : start + limit]
        body: dict[str, Any] = {"data": [project(rows.rows[i], spec) for i in chunk]}
        if chunk:
            last = encode_cursor(rows.rows[chunk[-1]]["id"])
            paging: dict[str, Any] = {
                "cursors": {"before": encode_cursor(rows.rows[chunk[0]]["id"]), "after": last}
            }
            if start + limit < len(picked):
                paging["next"] = str(request.url.include_query_params(after=last))
            body["paging"] = paging
        if summary:
            body["summary"] = {"total_count": len(picked)}
        return body


def create_app(
    seed: MetaSeed,
    control: SandboxControl,
    *,
    quota_per_minute: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ASGIApp:
    """The Meta sandbox wrapped in ``ControlledApp`` with Meta's fault forms.

    ``quota_per_minute`` really throttles each ad account (code 80004) past that many calls
    in a minute; without it the usage headers still report a rising call count."""
    sandbox = MetaSandbox(seed, quota_per_minute=quota_per_minute, clock=clock)
    return ControlledApp(sandbox.app, control, fault_forms(seed))
