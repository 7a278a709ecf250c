"""Async client for the TikTok API for Business v1.3 (ad groups, campaigns, advertisers)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.errors import MalformedResponseError, UpstreamAuthError, UpstreamNotFoundError
from gateway.platforms.base import (
    AccountRef,
    AdAccountInfo,
    AdSetPage,
    AdSetQuery,
    AdSetRecord,
    AdSetStatus,
    CampaignRecord,
    LazyTokens,
    Platform,
)
from gateway.platforms.cache import CampaignCache, FetchCache
from gateway.platforms.http import DecodedBodies, fetch_json
from gateway.platforms.memo import RowMemo
from gateway.platforms.payload import (
    JsonObject,
    PayloadError,
    as_list,
    as_object,
    as_objects,
    malformed_payload,
    opt_int,
)
from gateway.platforms.repeated import RepeatedRows
from gateway.platforms.tasks import side_by_side
from gateway.platforms.tiktok import mapping
from gateway.platforms.tiktok.errors import PLATFORM, envelope_data
from gateway.platforms.tiktok.paging import (
    MAX_PAGE_SIZE,
    decode_token,
    encode_token,
    plan_window,
)
from gateway.platforms.tiktok.statuses import primary_status_filter, status_of
from gateway.platforms.upstream import Upstream

API_PREFIX = "/open_api/v1.3"
ACCOUNT_TTL_SECONDS = 15 * 60
CAMPAIGN_BATCH = 100  # filtering.campaign_ids takes at most 100 ids
# When rows are filtered locally, scan upstream in windows at least this large.
_SCAN_MIN = 200


@dataclass(frozen=True, slots=True)
class _Scan:
    """Raw rows picked by a scan, the upstream offset after each, and whether the scan
    reached the end of the account."""

    rows: list[JsonObject]
    after: list[int]
    total: int
    at_end: bool


@dataclass(frozen=True, slots=True)
class _Page:
    """One decoded ``*/get/`` page."""

    rows: list[JsonObject]
    total_number: int
    last: bool


class TikTokClient:
    """The AdPlatform client for TikTok Ads; ``AccountRef.external_id`` is the advertiser_id
    and ``credentials["access_token"]`` goes in the ``Access-Token`` header."""

    platform = Platform.TIKTOK_ADS

    def __init__(
        self,
        http: Upstream,
        *,
        base_url: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._api = base_url.rstrip("/") + API_PREFIX
        self._accounts: FetchCache[str, AdAccountInfo] = FetchCache(
            ttl=ACCOUNT_TTL_SECONDS, timer=clock
        )
        self._mapped: RowMemo[AdSetRecord] = RowMemo(id_field="adgroup_id")
        self._repeated: RepeatedRows[AdSetRecord] = RepeatedRows()
        #: A repeated page's answers, decoded once: the row memo then knows its rows at once.
        self._bodies = DecodedBodies(volatile="request_id")
        self._campaigns = CampaignCache(timer=clock)

    async def aclose(self) -> None:
        """Nothing to release: the upstream is injected and owned by the caller."""

    # -- accounts -------------------------------------------------------------------------

    def cached_account(self, account: AccountRef) -> AdAccountInfo | None:
        """What ``get_account`` has cached for the account, if anything (no call)."""
        return self._accounts.fresh(account.external_id)

    async def get_account(self, account: AccountRef) -> AdAccountInfo:
        """Name, currency and timezone of the advertiser, cached for 15 minutes."""
        return await self._accounts.get(account.external_id, lambda: self._read_account(account))

    async def _read_account(self, account: AccountRef) -> AdAccountInfo:
        data = await self._get(
            account,
            "/advertiser/info/",
            {
                "advertiser_ids": _json([account.external_id]),
                "fields": _json(mapping.ADVERTISER_FIELDS),
            },
        )
        with _malformed(account):
            entries = [as_object(e, "advertiser") for e in as_list(data.get("list"), "list")]
            match = [mapping.map_advertiser(e) for e in entries]
            info = next((i for i in match if i.external_id == account.external_id), None)
        if info is None:
            raise UpstreamNotFoundError(
                "TikTok does not know this advertiser",
                platform=PLATFORM,
                account_id=account.external_id,
            )
        return info

    # -- ad groups ------------------------------------------------------------------------

    async def list_adsets(
        self,
        account: AccountRef,
        query: AdSetQuery,
        *,
        start: str | None,
        count: int,
    ) -> AdSetPage:
        """Up to ``count`` ad groups from ``start``; one upstream call on a warm client when
        the status filter maps onto one ``primary_status`` value (see statuses.py)."""
        offset = decode_token(start)
        if count < 1:
            return AdSetPage(rows=[], resume_points=[encode_token(offset)], total=None)
        if query.statuses is not None and not query.statuses:
            return AdSetPage(rows=[], resume_points=[None], total=0)
        primary = primary_status_filter(query.statuses)
        local = primary is None
        filtering: dict[str, Any] = {"primary_status": primary or "STATUS_ALL"}
        if query.campaign_external_id is not None:
            filtering["campaign_ids"] = [query.campaign_external_id]

        wanted = query.statuses if local else None
        info = self._accounts.fresh(account.external_id)
        if info is None:
            # Fetch the currency alongside the first page rather than before it.
            async with side_by_side() as group:
                reading = group.create_task(self.get_account(account))
                scan = await self._scan(account, filtering, offset, count, wanted)
            info = reading.result()
        else:
            scan = await self._scan(account, filtering, offset, count, wanted)
        account_id, currency = account.external_id, info.currency

        def map_row(raw: JsonObject) -> AdSetRecord:
            return mapping.map_adgroup(raw, account_id=account_id, currency=currency)

        with _malformed(account):
            rows = self._repeated.mapped(
                account_id, scan.rows, (account_id, currency), self._mapped, map_row
            )
        points: list[int | None] = list(scan.after)
        if scan.at_end:
            # Nothing (matching) follows the last row: say so rather than hand out a token
            # that would only cost an empty call.
            if points:
                points[-1] = None
            first = None if not rows else offset
        else:
            first = offset
        return AdSetPage(
            rows=rows,
            resume_points=LazyTokens([first, *points], encode_token),
            total=None if local else scan.total,
        )

    async def _scan(
        self,
        account: AccountRef,
        filtering: Mapping[str, Any],
        offset: int,
        count: int,
        wanted: frozenset[AdSetStatus] | None,
    ) -> _Scan:
        """Raw rows from ``offset`` on, with the upstream offset after each.

        With ``wanted`` None every row counts and exactly ``count`` are fetched (one call
        when a single window covers them). Otherwise rows are filtered on their status here,
        before mapping, and scanning goes on until ``count`` match or the account ends.
        """
        picked: list[JsonObject] = []
        after: list[int] = []
        total = 0
        position = offset
        while True:
            scanned_from = position
            need = count - len(picked)
            window = plan_window(position, need if wanted is None else max(need, _SCAN_MIN))
            page = await self._adgroup_page(account, filtering, window.page, window.page_size)
            total = page.total_number
            page_end = window.first_offset + len(page.rows)
            with _malformed(account):
                for raw in page.rows[window.skip :]:
                    position += 1
                    if wanted is not None and status_of(raw)[0] not in wanted:
                        continue
                    picked.append(raw)
                    after.append(position)
                    if len(picked) == count:
                        break
            at_end = page.last and position >= page_end
            if at_end or len(picked) == count:
                return _Scan(picked, after, total, at_end)
            if position == scanned_from:
                raise MalformedResponseError(
                    "TikTok returned an empty page before the last one",
                    platform=PLATFORM,
                    account_id=account.external_id,
                )

    async def _adgroup_page(
        self, account: AccountRef, filtering: Mapping[str, Any], page: int, page_size: int
    ) -> _Page:
        data = await self._get(
            account,
            "/adgroup/get/",
            {
                "advertiser_id": account.external_id,
                "fields": _json(mapping.ADGROUP_FIELDS),
                "filtering": _json(filtering),
                "page": str(page),
                "page_size": str(page_size),
            },
        )
        return _read_page(data, account, page, page_size)

    # -- campaigns ------------------------------------------------------------------------

    async def get_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        """The named campaigns (deleted ones included): from the one-minute cache, else 100
        ids per call, calls concurrent (concurrent callers missing the same campaigns share
        them)."""
        return await self._campaigns.get(
            account.external_id, campaign_ids, lambda ids: self._read_campaigns(account, ids)
        )

    def campaigns_warm(self, account: AccountRef) -> bool:
        """Whether ``warm_campaigns`` read the advertiser's campaigns within the last minute."""
        return self._campaigns.is_warm(account.external_id)

    async def warm_campaigns(self, account: AccountRef) -> None:
        """Read the advertiser's campaigns into ``get_campaigns``' cache, unless read within
        the last minute: one call of up to ``MAX_PAGE_SIZE`` campaigns, made alongside a
        listing before its rows name their campaigns. An advertiser with more campaigns than
        that has the others read by ID when asked for."""

        async def read() -> list[CampaignRecord]:
            async with side_by_side() as group:
                reading = group.create_task(self.get_account(account))
                page = await self._campaign_page(
                    account, {"primary_status": "STATUS_ALL"}, 1, MAX_PAGE_SIZE
                )
            return self._map_campaigns(account, page.rows, reading.result())

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
                mapping.map_campaign(raw, account_id=account.external_id, currency=info.currency)
                for raw in rows
            ]

    async def _read_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        """The named campaigns (deleted ones included), 100 ids per call, calls concurrent."""
        ids = list(dict.fromkeys(campaign_ids))
        if not ids:
            return {}
        batches = [ids[i : i + CAMPAIGN_BATCH] for i in range(0, len(ids), CAMPAIGN_BATCH)]
        async with side_by_side() as group:
            calls = [
                group.create_task(
                    self._campaign_page(
                        account,
                        {"campaign_ids": batch, "primary_status": "STATUS_ALL"},
                        1,
                        len(batch),
                    )
                )
                for batch in batches
            ]
        info = await self.get_account(account)  # usually warm: listing came first
        out: dict[str, CampaignRecord] = {}
        with _malformed(account):
            for call in calls:
                for raw in call.result().rows:
                    record = mapping.map_campaign(
                        raw, account_id=account.external_id, currency=info.currency
                    )
                    out[record.external_id] = record
        return {i: out[i] for i in ids if i in out}

    async def list_campaigns(self, account: AccountRef) -> list[CampaignRecord]:
        """Every campaign of the advertiser, deleted ones included, in TikTok's order (and
        kept in ``get_campaigns``' cache)."""
        info = await self.get_account(account)
        records: list[CampaignRecord] = []
        page_number = 1
        while True:
            page = await self._campaign_page(
                account, {"primary_status": "STATUS_ALL"}, page_number, MAX_PAGE_SIZE
            )
            records.extend(self._map_campaigns(account, page.rows, info))
            if page.last:
                self._campaigns.keep(account.external_id, records)
                return records
            page_number += 1

    async def _campaign_page(
        self, account: AccountRef, filtering: Mapping[str, Any], page: int, page_size: int
    ) -> _Page:
        data = await self._get(
            account,
            "/campaign/get/",
            {
                "advertiser_id": account.external_id,
                "fields": _json(mapping.CAMPAIGN_FIELDS),
                "filtering": _json(filtering),
                "page": str(page),
                "page_size": str(page_size),
            },
        )
        return _read_page(data, account, page, page_size)

    # -- transport ------------------------------------------------------------------------

    async def _get(self, account: AccountRef, path: str, params: Mapping[str, str]) -> JsonObject:
        token = account.credentials.get("access_token", "")
        if not token:
            raise UpstreamAuthError(
                "no TikTok access_token configured for this advertiser",
                platform=PLATFORM,
                account_id=account.external_id,
            )
        response, payload = await fetch_json(
            self._http,
            "GET",
            self._api + path,
            params=params,
            headers={"Access-Token": token},
            platform=PLATFORM,
            account_id=account.external_id,
            bodies=self._bodies,
        )
        with _malformed(account):
            return envelope_data(response, payload, account_id=account.external_id, secret=token)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _read_page(data: JsonObject, account: AccountRef, page: int, page_size: int) -> _Page:
    """Rows and paging of one page, checked against ``page_info``."""
    with _malformed(account):
        rows = as_objects(data.get("list"), "list", "list item")
        info = as_object(data.get("page_info"), "page_info")
        total_number = opt_int(info, "total_number")
        total_page = opt_int(info, "total_page")
        if total_number is None or total_page is None or total_number < 0:
            raise PayloadError("page_info lacks total_number/total_page")
        if len(rows) > page_size:
            raise PayloadError("page holds more rows than page_size")
        last = page >= total_page
        expected = min(page_size, max(0, total_number - (page - 1) * page_size))
        if len(rows) != expected:
            raise PayloadError(f"page {page} holds {len(rows)} rows; page_info implies {expected}")
    return _Page(rows=rows, total_number=total_number, last=last)


def _malformed(account: AccountRef) -> AbstractContextManager[None]:
    return malformed_payload(PLATFORM, account.external_id, "TikTok")
