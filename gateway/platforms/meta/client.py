"""Async client for the Meta Marketing API (Graph API): ad sets, campaigns, ad accounts."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, overload

import orjson

from gateway.errors import MalformedResponseError, UpstreamAuthError, UpstreamNotFoundError
from gateway.platforms.base import (
    AccountRef,
    AdAccountInfo,
    AdSetPage,
    AdSetQuery,
    AdSetRecord,
    CampaignRecord,
    LazyTokens,
    Platform,
)
from gateway.platforms.cache import CampaignCache, FetchCache
from gateway.platforms.http import DecodedBodies, fetch_json
from gateway.platforms.memo import RowMemo
from gateway.platforms.meta import mapping
from gateway.platforms.meta.errors import PLATFORM, translate, usage_pct
from gateway.platforms.meta.paging import Position, decode_token
from gateway.platforms.meta.statuses import effective_status_filter, effective_status_rule
from gateway.platforms.payload import (
    JsonObject,
    PayloadError,
    as_object,
    as_objects,
    malformed_payload,
    opt_int,
    opt_str,
)
from gateway.platforms.repeated import RepeatedRows
from gateway.platforms.tasks import side_by_side
from gateway.platforms.upstream import Upstream

ACCOUNT_TTL_SECONDS = 15 * 60
#: Largest ``limit`` we ask for (Meta documents none for this edge; the sandbox allows 500).
MAX_LIMIT = 500
CAMPAIGN_BATCH = 50  # ids per ``GET /?ids=`` call
# A walk that crosses this many empty upstream pages in one call is not making progress.
_MAX_PAGES_PER_CALL = 100


@dataclass(frozen=True, slots=True)
class _Page:
    """One decoded edge page: rows, the ``after`` cursor, whether ``paging.next`` exists."""

    data: list[JsonObject]
    after: str | None
    has_next: bool
    total: int | None


@dataclass(frozen=True, slots=True)
class _Taken:
    """Rows a walk took from one upstream page of ``size`` rows that starts at Meta cursor
    ``after``: from row ``skip`` on. ``end`` is the position after the page's last row."""

    after: str | None
    skip: int
    size: int
    end: Position | None


class _Points(Sequence[Position | None]):
    """The position where a walk started, then the one after each of its rows, each made when
    read (a listing reads one or two of a page's hundred): after row ``skip + k`` of an
    upstream page, the same cursor with ``skip + k + 1`` rows to skip, or the page's end."""

    __slots__ = ("_first", "_len", "_starts", "_taken")

    def __init__(self, first: Position | None, taken: list[tuple[int, _Taken]], rows: int):
        self._first = first
        self._starts = [start for start, _ in taken]  # index of each run's first row
        self._taken = [t for _, t in taken]
        self._len = rows + 1

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> Position | None: ...

    @overload
    def __getitem__(self, index: slice) -> list[Position | None]: ...

    def __getitem__(self, index: int | slice) -> Position | list[Position | None] | None:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        if index == 0:
            return self._first
        row = index - 1
        at = bisect.bisect_right(self._starts, row) - 1
        taken = self._taken[at]
        offset = taken.skip + row - self._starts[at] + 1
        return Position(taken.after, offset) if offset < taken.size else taken.end


@dataclass(frozen=True, slots=True)
class _Walk:
    rows: list[JsonObject]
    #: ``len(rows) + 1`` positions: where the walk started, then after each row.
    points: _Points
    total: int | None


class MetaClient:
    """The AdPlatform client for Meta Ads. ``AccountRef.external_id`` is ``act_<digits>``;
    ``credentials["access_token"]`` is sent as a Bearer header, never in a URL."""

    platform = Platform.META_ADS

    def __init__(
        self,
        http: Upstream,
        *,
        base_url: str,
        api_version: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._root = f"{base_url.rstrip('/')}/{api_version.strip('/')}"
        self._accounts: FetchCache[str, AdAccountInfo] = FetchCache(
            ttl=ACCOUNT_TTL_SECONDS, timer=clock
        )
        self._mapped: RowMemo[AdSetRecord] = RowMemo()
        self._repeated: RepeatedRows[AdSetRecord] = RepeatedRows()
        #: A repeated page's answers, decoded once: the row memo then knows its rows at once.
        self._bodies = DecodedBodies()
        self._usage: dict[str, float] = {}
        self._campaigns = CampaignCache(timer=clock)

    async def aclose(self) -> None:
        """Nothing to release: the upstream is injected and owned by the caller."""

    def last_usage_pct(self, account_external_id: str) -> float | None:
        """The highest quota percentage (app, account or business use case) in the latest
        response for this account that reported usage, or None before any."""
        return self._usage.get(account_external_id)

    # -- accounts -------------------------------------------------------------------------

    def cached_account(self, account: AccountRef) -> AdAccountInfo | None:
        """What ``get_account`` has cached for the account, if anything (no call)."""
        return self._accounts.fresh(account.external_id)

    async def get_account(self, account: AccountRef) -> AdAccountInfo:
        """Name, currency and timezone of the ad account, cached for 15 minutes."""

        async def fetch() -> AdAccountInfo:
            payload = await self._get(
                account, f"/{_node(account)}", {"fields": ",".join(mapping.ACCOUNT_FIELDS)}
            )
            with _malformed(account):
                return mapping.map_account(payload, account_id=account.external_id)

        return await self._accounts.get(account.external_id, fetch)

    # -- ad sets --------------------------------------------------------------------------

    async def list_adsets(
        self,
        account: AccountRef,
        query: AdSetQuery,
        *,
        start: str | None,
        count: int,
    ) -> AdSetPage:
        """Up to ``count`` ad sets from ``start``. Status and campaign filters are pushed
        down exactly, so this is one upstream call on a warm client (two pages only when
        a resumed page needs more than ``MAX_LIMIT`` rows)."""
        position = decode_token(start)
        if count < 1:
            return AdSetPage(rows=[], resume_points=[position.encode()], total=None)
        if query.statuses is not None and not query.statuses:
            return AdSetPage(rows=[], resume_points=[None], total=0)
        params = _adset_params(query)
        info = self._accounts.fresh(account.external_id)
        if info is None:
            # The currency is needed for budgets: fetch it alongside the first page.
            async with side_by_side() as group:
                reading = group.create_task(self.get_account(account))
                walk = await self._walk(account, params, position, count)
            info = reading.result()
        else:
            walk = await self._walk(account, params, position, count)
        account_id, currency = account.external_id, info.currency

        def map_row(raw: JsonObject) -> AdSetRecord:
            return mapping.map_adset(raw, account_id=account_id, currency=currency)

        with _malformed(account):
            rows = self._repeated.mapped(
                account_id, walk.rows, (account_id, currency), self._mapped, map_row
            )
        return AdSetPage(
            rows=rows,
            resume_points=LazyTokens(walk.points, Position.encode),
            total=walk.total,
        )

    async def _walk(
        self, account: AccountRef, params: Mapping[str, str], position: Position, count: int
    ) -> _Walk:
        """``count`` raw rows from ``position``, with the position after each row."""
        rows: list[JsonObject] = []
        taken_runs: list[tuple[int, _Taken]] = []
        total: int | None = None
        first: Position | None = position
        pos = position
        for _ in range(_MAX_PAGES_PER_CALL):
            need = count - len(rows)
            page = await self._adset_page(
                account, params, pos.after, min(MAX_LIMIT, pos.skip + need)
            )
            if total is None:
                total = page.total
            taken = page.data[pos.skip : pos.skip + need]
            if taken:
                end = Position(page.after, 0) if page.has_next else None
                taken_runs.append((len(rows), _Taken(pos.after, pos.skip, len(page.data), end)))
                rows += taken
            if len(rows) >= count:
                break
            if not page.has_next:
                if not rows:
                    first = None  # nothing at or after the start position
                break
            pos = Position(page.after, max(0, pos.skip - len(page.data)))
        else:
            raise MalformedResponseError(
                "Meta kept sending pages without rows",
                platform=PLATFORM,
                account_id=account.external_id,
            )
        return _Walk(rows=rows, points=_Points(first, taken_runs, len(rows)), total=total)

    async def _adset_page(
        self, account: AccountRef, params: Mapping[str, str], after: str | None, limit: int
    ) -> _Page:
        request = {**params, "limit": str(limit)}
        if after is not None:
            request["after"] = after
        payload = await self._get(account, f"/{_node(account)}/adsets", request)
        with _malformed(account):
            return _parse_page(payload)

    # -- campaigns ------------------------------------------------------------------------

    async def get_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        """The named campaigns of this account: from the one-minute cache, else via
        ``GET /?ids=`` (50 ids a call, calls made concurrently; concurrent callers missing the
        same campaigns share them). Unknown ids and other accounts' campaigns are absent."""
        return await self._campaigns.get(
            account.external_id, campaign_ids, lambda ids: self._read_campaigns(account, ids)
        )

    def campaigns_warm(self, account: AccountRef) -> bool:
        """Whether ``warm_campaigns`` read the account's campaigns within the last minute."""
        return self._campaigns.is_warm(account.external_id)

    async def warm_campaigns(self, account: AccountRef) -> None:
        """Read the account's campaigns into ``get_campaigns``' cache, unless read within the
        last minute: one call of up to ``MAX_LIMIT`` campaigns, made alongside a listing before
        its rows name their campaigns. An account with more campaigns than that has the others
        read by ID when asked for."""

        async def read() -> list[CampaignRecord]:
            async with side_by_side() as group:
                reading = group.create_task(self.get_account(account))
                page = await self._campaign_page(account, None)
            return self._map_campaigns(account, page.data, reading.result())

        await self._campaigns.warm(account.external_id, read)

    def cached_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        """Those of the named campaigns read within the last minute (no call)."""
        return self._campaigns.cached(account.external_id, campaign_ids)

    def _map_campaigns(
        self, account: AccountRef, rows: Sequence[JsonObject], info: AdAccountInfo
    ) -> list[CampaignRecord]:
        with _malformed(account):
            return [
                mapping.map_campaign(r, account_id=account.external_id, currency=info.currency)
                for r in rows
            ]

    async def _read_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        """``GET /?ids=`` for the named campaigns, 50 ids a call, calls made concurrently."""
        wanted = list(dict.fromkeys(campaign_ids))
        if not wanted:
            return {}
        batches = [wanted[i : i + CAMPAIGN_BATCH] for i in range(0, len(wanted), CAMPAIGN_BATCH)]
        fields = ",".join(mapping.CAMPAIGN_FIELDS)
        async with side_by_side() as group:
            reading = group.create_task(self.get_account(account))
            calls = [
                group.create_task(self._get(account, "/", {"ids": ",".join(b), "fields": fields}))
                for b in batches
            ]
        info = reading.result()
        found: dict[str, CampaignRecord] = {}
        digits = _digits(account)
        with _malformed(account):
            for call in calls:
                for key, value in as_object(call.result(), "response").items():
                    node = as_object(value, f"response[{key}]")
                    if opt_str(node, "account_id") not in (None, digits):
                        continue
                    record = mapping.map_campaign(
                        node, account_id=account.external_id, currency=info.currency
                    )
                    found[record.external_id] = record
        return {cid: found[cid] for cid in wanted if cid in found}

    async def list_campaigns(self, account: AccountRef) -> list[CampaignRecord]:
        """Every campaign of the account, ARCHIVED and DELETED included (and kept in
        ``get_campaigns``' cache)."""
        async with side_by_side() as group:
            reading = group.create_task(self.get_account(account))
            raw = await self._campaign_rows(account)
        records = self._map_campaigns(account, raw, reading.result())
        self._campaigns.keep(account.external_id, records)
        return records

    async def _campaign_rows(self, account: AccountRef) -> list[JsonObject]:
        raw: list[JsonObject] = []
        after: str | None = None
        while True:
            page = await self._campaign_page(account, after)
            raw.extend(page.data)
            if not page.has_next:
                return raw
            after = page.after

    async def _campaign_page(self, account: AccountRef, after: str | None) -> _Page:
        params = {
            "fields": ",".join(mapping.CAMPAIGN_FIELDS),
            "effective_status": _json(effective_status_filter(None)),
            "limit": str(MAX_LIMIT),
        }
        if after is not None:
            params["after"] = after
        payload = await self._get(account, f"/{_node(account)}/campaigns", params)
        with _malformed(account):
            return _parse_page(payload)

    # -- transport ------------------------------------------------------------------------

    async def _get(self, account: AccountRef, path: str, params: Mapping[str, str]) -> Any:
        """GET ``path`` with the account's token; Graph errors become gateway errors."""
        token = account.credentials.get("access_token")
        if not token:
            raise UpstreamAuthError(
                "no Meta access_token configured for this account",
                platform=PLATFORM,
                account_id=account.external_id,
            )
        response, payload = await fetch_json(
            self._http,
            "GET",
            self._root + path,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            platform=PLATFORM,
            account_id=account.external_id,
            bodies=self._bodies,
        )
        pct = usage_pct(response.headers, _digits(account))
        if pct is not None:
            self._usage[account.external_id] = pct
        error = translate(response, payload, account_id=account.external_id, secret=token)
        if error is not None:
            raise error
        return payload


def _digits(account: AccountRef) -> str:
    return account.external_id.removeprefix("act_")


def _node(account: AccountRef) -> str:
    """``act_<digits>``; an id that is not one cannot name a Meta ad account."""
    digits = _digits(account)
    if not digits.isdigit():
        raise UpstreamNotFoundError(
            "not a Meta ad account id (expected act_<digits>)",
            platform=PLATFORM,
            account_id=account.external_id,
        )
    return f"act_{digits}"


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _adset_params(query: AdSetQuery) -> dict[str, str]:
    # The status rule is always explicit: without it Meta hides ARCHIVED and DELETED ad sets.
    rules: list[dict[str, object]] = [effective_status_rule(query.statuses)]
    if query.campaign_external_id is not None:
        rules.append(
            {"field": "campaign.id", "operator": "EQUAL", "value": query.campaign_external_id}
        )
    return {
        "fields": ",".join(mapping.ADSET_FIELDS),
        "summary": "total_count",
        "filtering": _json(rules),
    }


def _parse_page(payload: Any) -> _Page:
    body = as_object(payload, "response")
    data = as_objects(body.get("data"), "data", "data[]")
    paging = body.get("paging")
    after: str | None = None
    has_next = False
    if paging is not None:
        paging = as_object(paging, "paging")
        has_next = bool(opt_str(paging, "next"))
        cursors = paging.get("cursors")
        if cursors is not None:
            after = opt_str(as_object(cursors, "paging.cursors"), "after")
    if has_next and not after:
        raise PayloadError("paging: next without cursors.after")
    summary = body.get("summary")
    total = None if summary is None else opt_int(as_object(summary, "summary"), "total_count")
    return _Page(data=data, after=after, has_next=has_next, total=total)


def _malformed(account: AccountRef) -> AbstractContextManager[None]:
    return malformed_payload(PLATFORM, account.external_id, "Meta")
