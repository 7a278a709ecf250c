"""Apple Ads Platform API v1 client: ad groups, campaigns and the ad account.

A listing walks ``POST /v1/adgroups/query`` in phases (live ad groups, then deleted ones);
``phases`` explains why and what its resume tokens carry.

Rows take their geo and placements from their campaigns, which the client reads itself: the
account's campaign catalog (every campaign, deleted ones included, sorted by id, one page of
up to 1,000) is read *alongside* the ad groups when the client has none, since an ad-group
query needs nothing from it and the rows are joined to their campaigns afterwards. A catalog
older than a minute still maps rows while a new one is read in the background
(stale-while-revalidate), so an idle account does not wait for it again; past a day it is
read alongside the ad groups as on a cold start. A background read that fails is logged and
tried again at most every 30 s; after a failure the old catalog maps rows for ten minutes
from its read, then pages wait for a new one (and see its error) as on a cold start.
Campaigns missing from the catalog (created since, or past its first 1,000) are read by id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.observability.context import outside_request
from gateway.platforms.apple.auth import AppleTokenSource
from gateway.platforms.apple.errors import PLATFORM, api_error
from gateway.platforms.apple.mapping import campaign_ids, map_account, map_adgroup, map_campaign
from gateway.platforms.apple.phases import Filter, make_token, parse_token, plan_phases
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
from gateway.platforms.cache import FetchCache
from gateway.platforms.http import DecodedBodies, fetch_json
from gateway.platforms.memo import RowMemo
from gateway.platforms.payload import (
    JsonObject,
    PayloadError,
    as_object,
    as_objects,
    malformed_payload,
    opt_int,
)
from gateway.platforms.repeated import RepeatedRows
from gateway.platforms.tasks import side_by_side
from gateway.platforms.upstream import Upstream

#: Apple caps the campaign query's pageSize at 1000 and documents no other cap; we use the
#: same ceiling for ad groups.
MAX_PAGE_SIZE = 1000
#: Campaign ids per ``id IN [...]`` query.
CAMPAIGN_BATCH = 200
ACCOUNT_TTL_S = 15 * 60
#: Campaign countries and placements (the ad groups' geo and placements) rarely change; a
#: one-minute cache keeps a warm walk at one upstream call per page, while an edit made in
#: Apple's UI shows on the pages after the next background read, a minute or so later.
CAMPAIGN_TTL_S = 60
#: How old a campaign catalog may be and still map rows while a new one is read (a day: an
#: idle night does not make the morning's first page wait for it).
CAMPAIGN_STALE_S = 24 * 3600
#: After a catalog read failed: how long until the next background read is tried (not on
#: every page of a busy account), and how old the catalog may be and still map rows (the
#: failure may be lasting, and a day of stale campaigns would go unseen).
CATALOG_RETRY_S = 30
CAMPAIGN_STALE_AFTER_FAILURE_S = 10 * 60
log = logging.getLogger("gateway.platforms.apple")
_ID_ASC = [{"field": "id", "order": "ASC"}]
_ALL_CAMPAIGNS = {"field": "deleted", "operator": "IN", "value": [True, False]}

#: An Apple API user (client_id) and an ad account it reaches.
AccountKey = tuple[str, str]
#: The same, and a campaign id of that account.
CampaignKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True, eq=False)
class _Catalog:
    """An account's campaigns by id as read at ``read_at``. (Equal only to itself: rows
    mapped with it are known again by it, ``RepeatedRows``.)"""

    by_id: Mapping[str, CampaignRecord]
    read_at: float


class AppleClient:
    """An ``AdPlatform`` over the Apple Ads Platform API v1."""

    platform = Platform.APPLE_ADS

    def __init__(
        self,
        http: Upstream,
        *,
        base_url: str,
        token_url: str,
        clock: Callable[[], float] = time.time,
        max_page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._max_page_size = max_page_size
        self.tokens = AppleTokenSource(http, token_url, clock=clock)
        self._accounts: FetchCache[AccountKey, AdAccountInfo] = FetchCache(
            ttl=ACCOUNT_TTL_S, timer=clock
        )
        self._mapped: RowMemo[AdSetRecord] = RowMemo()
        self._repeated: RepeatedRows[AdSetRecord] = RepeatedRows()
        #: A repeated page's answers, decoded once: the row memo then knows its rows at once.
        self._bodies = DecodedBodies()
        self._campaigns: FetchCache[CampaignKey, CampaignRecord] = FetchCache(
            ttl=CAMPAIGN_TTL_S, timer=clock, maxsize=65_536
        )
        self._clock = clock
        self._catalogs: dict[AccountKey, _Catalog] = {}
        self._catalog_reads: dict[AccountKey, asyncio.Task[_Catalog]] = {}
        self._catalog_failed: dict[AccountKey, float] = {}  # when the last read failed

    async def warm_up(self, accounts: Sequence[AccountRef]) -> None:
        """Start-up: the API users' access tokens, kept fresh from now on."""
        await self.tokens.keep_fresh(accounts)

    async def aclose(self) -> None:
        """Stop the background work (token renewals, catalog reads); the upstream is
        injected and owned by the caller."""
        await self.tokens.aclose()
        reads, self._catalog_reads = list(self._catalog_reads.values()), {}
        for task in reads:
            task.cancel()
        await asyncio.gather(*reads, return_exceptions=True)

    # -- ad groups ---------------------------------------------------------------------------

    async def list_adsets(
        self,
        account: AccountRef,
        query: AdSetQuery,
        *,
        start: str | None,
        count: int,
    ) -> AdSetPage:
        """Up to ``count`` ad groups from ``start``, in the walk order ``phases`` describes."""
        phases = plan_phases(query)
        phase, offset, totals = parse_token(start, len(phases))
        if phase >= len(phases):
            return AdSetPage(rows=(), resume_points=(None,), total=0 if not phases else None)
        catalog = self._usable_catalog(account)  # or its read, alongside the ad groups
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
        if isinstance(catalog, asyncio.Task):
            # Shielded: the read is shared with concurrent pages, whatever becomes of this one.
            catalog = await asyncio.shield(catalog)
        records = await self._map_rows(account, raw_rows, catalog)

        def encode(point: tuple[int, int]) -> str:
            return make_token(point[0], point[1], totals)

        known = [t for t in totals if t is not None]
        return AdSetPage(
            rows=records,
            resume_points=LazyTokens(positions, encode),
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
        async with side_by_side() as group:
            calls = [
                group.create_task(self._query_page(account, "/v1/adgroups/query", f, 0, size))
                for f in phases
            ]
        return {index: call.result() for index, call in enumerate(calls)}

    async def _map_rows(
        self, account: AccountRef, raw_rows: list[Mapping[str, Any]], catalog: _Catalog
    ) -> list[AdSetRecord]:
        """Rows mapped with their campaigns' geo and placements, from the account's catalog;
        a campaign missing from it is read by id within the same listing call. A repeated
        page's rows mapped with the same catalog are the records they gave before
        (``RepeatedRows``; kept only when the catalog knew all their campaigns)."""
        key = self._key(account)
        repeated = self._repeated.records(key, raw_rows, catalog)
        if repeated is not None:
            return repeated
        with _malformed(account):
            ids = campaign_ids(raw_rows)
        known = catalog.by_id
        found = {cid: known[cid] for cid in ids if cid in known}
        complete = len(found) == len(ids)
        if not complete:
            found.update(await self.get_campaigns(account, [i for i in ids if i not in found]))
        # The memo's context and mapper of each campaign, made once for its rows (a
        # campaignId was read as an id by campaign_ids, so it is a key).
        by_campaign: dict[object, tuple[Hashable, Callable[[JsonObject], AdSetRecord]]] = {}
        mapped = self._mapped
        records: list[AdSetRecord] = []
        with _malformed(account):
            for row in raw_rows:
                campaign_id = row.get("campaignId")
                mapper = by_campaign.get(campaign_id)
                if mapper is None:
                    mapper = by_campaign[campaign_id] = self._row_mapper(
                        account.external_id, found.get(str(campaign_id))
                    )
                records.append(mapped.map(mapper[0], row, mapper[1]))
        if complete:
            self._repeated.keep(key, raw_rows, catalog, records)
        return records

    @staticmethod
    def _row_mapper(
        account_id: str, campaign: CampaignRecord | None
    ) -> tuple[Hashable, Callable[[JsonObject], AdSetRecord]]:
        """The row memo's context for the rows of ``campaign`` (what the mapping reads of the
        campaign: its geo and placements), and their mapper."""
        context = (account_id, campaign.countries, campaign.placements) if campaign else account_id

        def map_row(raw: JsonObject) -> AdSetRecord:
            return map_adgroup(raw, account_id, campaign)

        return context, map_row

    # -- campaigns ---------------------------------------------------------------------------

    def _usable_catalog(self, account: AccountRef) -> _Catalog | asyncio.Task[_Catalog]:
        """The account's campaign catalog if it may map rows now: a fresh one as it is, a
        stale one while a new one is read in the background; else (none, or too old) the
        read of a new one, for the caller to await once its ad groups are in."""
        key = self._key(account)
        catalog = self._catalogs.get(key)
        now = self._clock()
        if catalog is None or now - catalog.read_at >= CAMPAIGN_STALE_S:
            return self._catalog_read(account)
        age = now - catalog.read_at
        if age >= CAMPAIGN_TTL_S:
            failed = self._catalog_failed.get(key)
            if failed is not None:
                if age >= CAMPAIGN_STALE_AFTER_FAILURE_S:
                    return self._catalog_read(account)
                if now - failed < CATALOG_RETRY_S:
                    return catalog
            self._catalog_read(account, background=True)  # not awaited: the next pages get it
        return catalog

    def _catalog_read(
        self, account: AccountRef, *, background: bool = False
    ) -> asyncio.Task[_Catalog]:
        """The read of the account's catalog in flight, started if there is none. One started
        in the ``background`` runs outside the request that started it, so its upstream call
        is not counted or traced as that request's."""
        key = self._key(account)
        task = self._catalog_reads.get(key)
        if task is None:
            context = outside_request() if background else None
            task = asyncio.get_running_loop().create_task(
                self._read_catalog(account), context=context
            )
            self._catalog_reads[key] = task
            task.add_done_callback(lambda done: self._catalog_read_over(key, done))
        return task

    def _catalog_read_over(self, key: AccountKey, done: asyncio.Task[_Catalog]) -> None:
        if self._catalog_reads.get(key) is done:
            del self._catalog_reads[key]
        if done.cancelled():
            return
        # Retrieved here, for a background read nobody awaits: the next pages back off
        # (``_usable_catalog``), and past that meet the failure themselves.
        exc = done.exception()
        if exc is None:
            self._catalog_failed.pop(key, None)
            return
        self._catalog_failed[key] = self._clock()
        reason = getattr(exc, "code", type(exc).__name__)
        log.warning("apple campaigns of account %s not read: %s", key[1], reason)

    async def _read_catalog(self, account: AccountRef) -> _Catalog:
        """One page of the account's campaigns (deleted ones included), by id."""
        result, _ = await self._query_page(
            account, "/v1/campaigns/query", [_ALL_CAMPAIGNS], 0, self._max_page_size
        )
        with _malformed(account):
            records = [map_campaign(row, account.external_id) for row in result]
        client_id, account_id = key = self._key(account)
        catalog = _Catalog({r.external_id: r for r in records}, self._clock())
        self._catalogs[key] = catalog
        self._remember(client_id, account_id, records)
        return catalog

    def _remember(self, client_id: str, account_id: str, records: Iterable[CampaignRecord]) -> None:
        for record in records:
            self._campaigns.put((client_id, account_id, record.external_id), record)

    async def get_campaigns(
        self, account: AccountRef, campaign_ids: Sequence[str]
    ) -> dict[str, CampaignRecord]:
        """The named campaigns (deleted included), from a one-minute cache or ``id IN``
        queries; concurrent callers missing the same campaigns share one query."""
        client_id, account_id = self._key(account)

        async def fetch(missing: list[CampaignKey]) -> dict[CampaignKey, CampaignRecord]:
            ids = [int(cid) for _, _, cid in missing if cid.isdigit()]
            records: list[CampaignRecord] = []
            for i in range(0, len(ids), CAMPAIGN_BATCH):
                chunk = ids[i : i + CAMPAIGN_BATCH]
                filters = [{"field": "id", "operator": "IN", "value": chunk}, _ALL_CAMPAIGNS]
                records += await self._walk_campaigns(account, filters)
            return {(client_id, account_id, r.external_id): r for r in records}

        keys = [(client_id, account_id, cid) for cid in campaign_ids]
        found = await self._campaigns.get_many(keys, fetch)
        return {
            cid: found[key] for key, cid in zip(keys, campaign_ids, strict=True) if key in found
        }

    async def list_campaigns(self, account: AccountRef) -> list[CampaignRecord]:
        """Every campaign of the account, deleted ones included, by id."""
        records = await self._walk_campaigns(account, [_ALL_CAMPAIGNS])
        client_id, account_id = self._key(account)
        self._remember(client_id, account_id, records)
        return records

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
                return records
            if total is None and len(result) < self._max_page_size:
                return records

    # -- ad account --------------------------------------------------------------------------

    def cached_account(self, account: AccountRef) -> AdAccountInfo | None:
        """What ``get_account`` has cached for the account, if anything (no call)."""
        return self._accounts.fresh(self._key(account))

    async def get_account(self, account: AccountRef) -> AdAccountInfo:
        """``GET /v1/ad-accounts/{id}``: name, currency, timezone (cached 15 minutes)."""

        async def fetch() -> AdAccountInfo:
            payload = await self._call(account, "GET", f"/v1/ad-accounts/{account.external_id}")
            with _malformed(account):
                result = as_object(payload, "response").get("result")
                return map_account(result, account.external_id)

        return await self._accounts.get(self._key(account), fetch)

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
            rows = as_objects(obj.get("result") or [], "result", "result[]")
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
            response, payload = await fetch_json(
                self._http,
                method,
                f"{self._base_url}{path}",
                headers=headers,
                content=content,
                platform=PLATFORM,
                account_id=account.external_id,
                bodies=self._bodies,
            )
            if response.status_code == 401 and attempt == 1:
                self.tokens.invalidate(account, token)
                continue
            if response.is_success:
                return payload
            raise api_error(response, payload, account.external_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _key(self, account: AccountRef) -> AccountKey:
        return account.credentials.get("client_id", ""), account.external_id


def _malformed(account: AccountRef) -> AbstractContextManager[None]:
    return malformed_payload(PLATFORM, account.external_id, "Apple Ads")
