"""Apple Ads Platform API v1 client: ad groups, campaigns and the ad account.

How a listing walks ``POST /v1/adgroups/query``
-----------------------------------------------
Apple v1 hides soft-deleted ad groups unless a filter asks for them, and the ad-group query
accepts ``deleted`` only with ``EQUALS`` (Apple Ads Platform API docs, "Query Ad Groups",
filterable-fields table; the campaign query documents ``EQUALS`` and ``IN``). Filters are
AND-ed ("QueryRequest": "The query combines multiple filters with logical AND"), so
``deleted EQUALS true`` and ``deleted EQUALS false`` together match nothing: no single
ad-group query returns live and deleted rows at once.

Our default listing includes deleted rows, so a walk is a sequence of *phases*, each one exact
upstream query sorted by ``id`` ascending: the live ad groups (``deleted EQUALS false``, plus
``status IN [...]`` when the status filter names only some live statuses), then the deleted
ones (``deleted EQUALS true``). The stable order is "live ad groups by id, then deleted ones by
id". Every status set is pushed down this way, so nothing is ever filtered locally.

Calls: a walk's first page asks the first page of every phase at once (concurrently), so its
``total`` is exact; later pages cost one upstream call, or two when a page crosses from the
live phase into the deleted one.

A resume token is ``"<phase>:<offset>[;<total0>,<total1>]"``: the phase index, the absolute
offset within that phase's result set, and the phase totals Apple reported earlier in the
walk, which let later pages report ``total`` too (refreshed whenever a call sees a newer
``totalCount``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import httpx
import orjson

from gateway.errors import (
    InvalidInputError,
    MalformedResponseError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamBadRequestError,
    UpstreamError,
    UpstreamForbiddenError,
    UpstreamNotFoundError,
    UpstreamUnavailableError,
)
from gateway.platforms.apple.auth import AppleTokenSource, retry_after_seconds
from gateway.platforms.apple.mapping import campaign_ids, map_account, map_adgroup, map_campaign
from gateway.platforms.apple.statuses import LIVE_STATUSES, apple_status_values
from gateway.platforms.base import (
    AccountRef,
    AdAccountInfo,
    AdSetPage,
    AdSetQuery,
    AdSetRecord,
    AdSetStatus,
    CampaignLookup,
    CampaignRecord,
    Platform,
)
from gateway.platforms.http import send_json
from gateway.platforms.payload import PayloadError, as_list, as_object, malformed_payload, opt_int

PLATFORM = Platform.APPLE_ADS.value
APPLE_API_BASE = "https://api.ads.apple.com"
APPLE_OAUTH_ENDPOINT = "https://appleid.apple.com/auth/oauth2/token"
#: Apple caps the campaign query's pageSize at 1000 and documents no other cap; we use the
#: same ceiling for ad groups.
MAX_PAGE_SIZE = 1000
#: Campaign ids per ``id IN [...]`` query.
CAMPAIGN_BATCH = 200
ACCOUNT_TTL_S = 15 * 60
#: Campaign countries and placements rarely change; a short cache keeps a warm listing at
#: one upstream call per page.
CAMPAIGN_TTL_S = 5 * 60
_ID_ASC = [{"field": "id", "order": "ASC"}]
_ALL_CAMPAIGNS = {"field": "deleted", "operator": "IN", "value": [True, False]}

Filter = dict[str, Any]


def plan_phases(query: AdSetQuery) -> list[list[Filter]]:
    """The filter list of each phase of a walk; [] when nothing can match."""
    base: list[Filter] = []
    if query.campaign_external_id is not None:
        try:
            campaign_id = int(query.campaign_external_id)
        except ValueError:
            return []  # Apple ids are integers: no ad group has this campaign
        base.append({"field": "campaignId", "operator": "EQUALS", "value": campaign_id})
    statuses = query.statuses
    live = LIVE_STATUSES if statuses is None else statuses & LIVE_STATUSES
    phases: list[list[Filter]] = []
    if live:
        live_filters = [*base, {"field": "deleted", "operator": "EQUALS", "value": False}]
        if live != LIVE_STATUSES:
            # With both live statuses we send no status filter, which also keeps ad groups
            # whose unknown (future) status maps to paused.
            values = apple_status_values(frozenset(live))
            live_filters.append({"field": "status", "operator": "IN", "value": values})
        phases.append(live_filters)
    if statuses is None or AdSetStatus.DELETED in statuses:
        phases.append([*base, {"field": "deleted", "operator": "EQUALS", "value": True}])
    return phases


Totals = list[int | None]


def make_token(phase: int, offset: int, totals: Totals) -> str:
    """The resume token of a position, carrying the phase totals seen so far."""
    token = f"{phase}:{offset}"
    if any(t is not None for t in totals):
        token += ";" + ",".join("" if t is None else str(t) for t in totals)
    return token


def parse_token(token: str | None, phases: int) -> tuple[int, int, Totals]:
    """(phase, offset, carried phase totals) of a resume token; None is the beginning."""
    unknown: Totals = [None] * phases
    if token is None:
        return 0, 0, unknown
    position, _, carried = token.partition(";")
    phase_text, sep, offset_text = position.partition(":")
    if not sep or not phase_text.isdigit() or not offset_text.isdigit():
        raise InvalidInputError("unreadable Apple Ads resume token", param="cursor")
    totals = [int(t) if t.isdigit() else None for t in carried.split(",")] if carried else []
    return int(phase_text), int(offset_text), totals if len(totals) == phases else unknown


class AppleClient:
    """An ``AdPlatform`` over the Apple Ads Platform API v1."""

    platform = Platform.APPLE_ADS

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str = APPLE_API_BASE,
        token_url: str = APPLE_OAUTH_ENDPOINT,
        clock: Callable[[], float] = time.time,
        max_page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._max_page_size = max_page_size
        self.tokens = AppleTokenSource(http, token_url, clock=clock)
        self._accounts: dict[tuple[str, str], tuple[AdAccountInfo, float]] = {}
        self._campaigns: dict[tuple[str, str], dict[str, tuple[CampaignRecord, float]]] = {}

    async def aclose(self) -> None:
        """Nothing to release: the httpx client is injected and owned by the caller."""

    # -- ad groups ---------------------------------------------------------------------------

    async def list_adsets(
        self,
        account: AccountRef,
        query: AdSetQuery,
        *,
        start: str | None,
        count: int,
        campaigns: CampaignLookup | None = None,
    ) -> AdSetPage:
        """Up to ``count`` ad groups from ``start``, in the walk order the module describes."""
        phases = plan_phases(query)
        phase, offset, totals = parse_token(start, len(phases))
        if phase >= len(phases):
            return AdSetPage(rows=(), resume_points=(None,), total=0 if not phases else None)
        prefetched = await self._first_pages(account, phases, count) if start is None else {}
        for index, (_, total) in prefetched.items():
            totals[index] = total
        raw_rows: list[Mapping[str, Any]] = []
        positions: list[tuple[int, int] | None] = [(phase, offset)]
        while len(raw_rows) < count and phase < len(phases):
            want = count - len(raw_rows)
            if offset == 0 and phase in prefetched:
                (result, total), asked = prefetched.pop(phase), min(count, self._max_page_size)
            else:
                asked = min(want, self._max_page_size)
                result, total = await self._query_page(
                    account, "/v1/adgroups/query", phases[phase], offset, asked
                )
            if total is not None:
                totals[phase] = total
            taken = result[:want]
            for row in taken:
                offset += 1
                raw_rows.append(row)
                positions.append((phase, offset))
            if total is not None:
                more = offset < total
            else:
                more = len(result) > len(taken) or len(result) >= asked
            if not taken or not more:
                phase, offset = phase + 1, 0
                # The position after the last row of a finished phase is the next phase's start.
                positions[-1] = (phase, 0) if phase < len(phases) else None
        records = await self._map_rows(account, raw_rows, campaigns)
        points = [None if p is None else make_token(p[0], p[1], totals) for p in positions]
        known = [t for t in totals if t is not None]
        return AdSetPage(
            rows=records,
            resume_points=points,
            total=sum(known) if len(known) == len(phases) else None,
        )

    async def _first_pages(
        self, account: AccountRef, phases: list[list[Filter]], count: int
    ) -> dict[int, tuple[list[Mapping[str, Any]], int | None]]:
        """The first page of every phase at once, when a walk starts with several phases.

        This costs one more (concurrent) call on the first page only, and gives the exact
        total of the whole walk, which later tokens carry.
        """
        if len(phases) < 2:
            return {}
        size = min(count, self._max_page_size)
        outcomes = await asyncio.gather(
            *(self._query_page(account, "/v1/adgroups/query", f, 0, size) for f in phases),
            return_exceptions=True,
        )
        pages: dict[int, tuple[list[Mapping[str, Any]], int | None]] = {}
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException):
                raise outcome
            pages[index] = outcome
        return pages

    async def _map_rows(
        self,
        account: AccountRef,
        raw_rows: list[Mapping[str, Any]],
        campaigns: CampaignLookup | None,
    ) -> list[AdSetRecord]:
        with _malformed(account):
            ids = campaign_ids(raw_rows)
        found: Mapping[str, CampaignRecord] = {}
        if ids:
            lookup = campaigns if campaigns is not None else self.get_campaigns
            found = await lookup(account, ids)
        with _malformed(account):
            return [
                map_adgroup(row, account.external_id, found.get(str(row.get("campaignId"))))
                for row in raw_rows
            ]

    # -- campaigns ---------------------------------------------------------------------------

    async def get_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        """The named campaigns (deleted included), from a short cache or ``id IN`` queries."""
        cache = self._campaigns.setdefault(self._key(account), {})
        now = self._clock()
        out: dict[str, CampaignRecord] = {}
        missing: list[int] = []
        for cid in dict.fromkeys(campaign_ids):
            hit = cache.get(cid)
            if hit is not None and now - hit[1] < CAMPAIGN_TTL_S:
                out[cid] = hit[0]
            elif cid.isdigit():
                missing.append(int(cid))
        for i in range(0, len(missing), CAMPAIGN_BATCH):
            chunk = missing[i : i + CAMPAIGN_BATCH]
            filters = [{"field": "id", "operator": "IN", "value": chunk}, _ALL_CAMPAIGNS]
            for record in await self._walk_campaigns(account, filters):
                out[record.external_id] = record
        return {cid: out[cid] for cid in campaign_ids if cid in out}

    async def list_campaigns(self, account: AccountRef) -> list[CampaignRecord]:
        """Every campaign of the account, deleted ones included, by id."""
        return await self._walk_campaigns(account, [_ALL_CAMPAIGNS])

    async def _walk_campaigns(
        self, account: AccountRef, filters: list[Filter]
    ) -> list[CampaignRecord]:
        records: list[CampaignRecord] = []
        offset = 0
        while True:
            result, total = await self._query_page(
                account, "/v1/campaigns/query", filters, offset, self._max_page_size
            )
            with _malformed(account):
                records.extend(map_campaign(row, account.external_id) for row in result)
            offset += len(result)
            if not result or (total is not None and offset >= total):
                break
            if total is None and len(result) < self._max_page_size:
                break
        cache = self._campaigns.setdefault(self._key(account), {})
        now = self._clock()
        for record in records:
            cache[record.external_id] = (record, now)
        return records

    # -- ad account --------------------------------------------------------------------------

    async def get_account(self, account: AccountRef) -> AdAccountInfo:
        """``GET /v1/ad-accounts/{id}``: name, currency, timezone (cached 15 minutes)."""
        key = self._key(account)
        hit = self._accounts.get(key)
        if hit is not None and self._clock() - hit[1] < ACCOUNT_TTL_S:
            return hit[0]
        payload = await self._call(account, "GET", f"/v1/ad-accounts/{account.external_id}")
        with _malformed(account):
            info = map_account(as_object(payload, "response").get("result"), account.external_id)
        self._accounts[key] = (info, self._clock())
        return info

    # -- transport ---------------------------------------------------------------------------

    async def _query_page(
        self,
        account: AccountRef,
        path: str,
        filters: list[Filter],
        offset: int,
        size: int,
    ) -> tuple[list[Mapping[str, Any]], int | None]:
        """One page of a ``/query`` endpoint: (result rows, totalCount or None)."""
        body = {
            "filters": filters,
            "sorting": _ID_ASC,
            "pagination": {"offset": offset, "pageSize": size, "fetchTotalCount": True},
        }
        payload = await self._call(account, "POST", path, body)
        with _malformed(account):
            obj = as_object(payload, "response")
            if "result" not in obj:
                raise PayloadError("result: missing")
            rows = [as_object(r, "result[]") for r in as_list(obj.get("result") or [], "result")]
            paging = obj.get("pagination")
            total = None
            if paging is not None:
                total = opt_int(as_object(paging, "pagination"), "totalCount")
        return rows, total

    async def _call(self, account: AccountRef, method: str, path: str, body: Any = None) -> Any:
        """Send one API call with a bearer token; on a 401 refresh the token and retry once."""
        for attempt in (1, 2):
            token = await self.tokens.token(account)
            headers = {
                "Authorization": f"Bearer {token}",
                "X-AP-Context": f"adAccountId={account.external_id}",
                "Accept": "application/json",
            }
            content = None
            if body is not None:
                headers["Content-Type"] = "application/json"
                content = orjson.dumps(body)
            request = self._http.build_request(
                method, f"{self._base_url}{path}", headers=headers, content=content
            )
            response, payload = await send_json(
                self._http, request, platform=PLATFORM, account_id=account.external_id
            )
            if response.status_code == 401 and attempt == 1:
                self.tokens.invalidate(account, token)
                continue
            if response.is_success:
                return payload
            raise api_error(response, payload, account.external_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _key(self, account: AccountRef) -> tuple[str, str]:
        return account.credentials.get("client_id", ""), account.external_id


def _malformed(account: AccountRef) -> AbstractContextManager[None]:
    return malformed_payload(PLATFORM, account.external_id, "Apple Ads")


def api_error(response: httpx.Response, payload: Any, account_id: str) -> UpstreamError:
    """The gateway error for a failed v1 call, from its status and ``{"error": {...}}`` body."""
    status = response.status_code
    code, message = _error_fields(payload)
    detail = f"{code}: {message}" if code and message else (code or message or "no detail")
    text = f"Apple Ads answered HTTP {status} ({detail})"
    where: dict[str, Any] = {"platform": PLATFORM, "account_id": account_id, "upstream_code": code}
    if status == 429:
        return RateLimitedError(text, retry_after=retry_after_seconds(response.headers), **where)
    if status == 401:
        return UpstreamAuthError(text, **where)
    if status == 403:
        return UpstreamForbiddenError(text, **where)
    if status == 404:
        return UpstreamNotFoundError(text, **where)
    if status >= 500:
        return UpstreamUnavailableError(text, **where)
    if 400 <= status < 500:
        return UpstreamBadRequestError(text, **where)
    return MalformedResponseError(f"Apple Ads answered unexpected HTTP {status}", **where)


def _error_fields(payload: Any) -> tuple[str | None, str | None]:
    """(code, message) of a v1 error body, tolerating any shape."""
    if not isinstance(payload, Mapping):
        return None, None
    error = payload.get("error")
    if not isinstance(error, Mapping):
        return None, None
    code = error.get("code")
    message = error.get("message")
    details = error.get("details")
    if isinstance(details, list) and details and isinstance(details[0], Mapping):
        first = details[0].get("message")
        if isinstance(first, str) and first and first != message:
            message = f"{message}; {first}" if isinstance(message, str) else first
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )
