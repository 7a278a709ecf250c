"""Per-request dataloaders: campaigns and ad accounts, batched per ad account; and what a
listed page's nested fields show, read alongside its listing.

Built inside the running event loop for each request, their dataloaders on first use
(aiodataloader captures the loop), and dropped with it. A key whose load failed is cleared at
once, so a transient upstream failure is never served from the cache; but a campaign whose
account's read with the page failed fails alike for the rest of the request
(``_batch_campaigns``), as its rows' campaigns did.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader

from gateway.listing.types import AdSetItem
from gateway.platforms.base import (
    AccountRef,
    AdAccountInfo,
    AdPlatform,
    CampaignRecord,
    Platform,
    caches_accounts,
    warms_campaigns,
)
from gateway.repeats import SameObjects

CampaignKey = tuple[Platform, str, str]  # platform, account external id, campaign external id
AccountKey = tuple[Platform, str]
#: What reading a campaign or an account gave: the record, None (the platform has no such
#: object), or the error the read failed with.
CampaignOutcome = CampaignRecord | None | BaseException
AccountOutcome = AdAccountInfo | None | BaseException
T = TypeVar("T")


class PageKeys:
    """The campaigns and accounts a page's rows name, each once, in the order the rows first
    name them: what its nested fields read (``PagePrefetch.finish``) and what its nested
    objects are built from (``schema.types.PageObjects``)."""

    __slots__ = ("accounts", "by_account", "campaigns")

    def __init__(self, items: Sequence[AdSetItem]) -> None:
        campaigns: dict[CampaignKey, None] = {}
        for item in items:
            r = item.record
            campaigns[(r.platform, r.account_external_id, r.campaign_external_id)] = None
        by_account: dict[AccountKey, list[str]] = {}
        for platform, account, campaign in campaigns:
            ids = by_account.get((platform, account))
            if ids is None:
                ids = by_account[(platform, account)] = []
            ids.append(campaign)
        self.campaigns: tuple[CampaignKey, ...] = tuple(campaigns)
        self.accounts: tuple[AccountKey, ...] = tuple(by_account)
        #: Each account's campaign IDs.
        self.by_account: Mapping[AccountKey, Sequence[str]] = by_account


class PageKeysMemo:
    """The ``PageKeys`` of the pages seen last, given again whole for the same items (a
    repeated page's items are the very same objects: ``listing.service.Items``)."""

    def __init__(self, pages: int = 64, items: int = 2048) -> None:
        self._kept: SameObjects[int, PageKeys] = SameObjects(pages, items)

    def of(self, items: Sequence[AdSetItem]) -> PageKeys:
        key = id(items[0]) if items else 0
        keys = self._kept.get(key, items)
        if keys is None:
            keys = PageKeys(items)
            self._kept.put(key, items, keys)
        return keys


class RequestLoaders:
    """The dataloaders of one request."""

    def __init__(
        self,
        clients: Mapping[Platform, AdPlatform],
        accounts: Sequence[AccountRef],
        page_keys: PageKeysMemo | None = None,
    ) -> None:
        """``page_keys`` is shared by the requests of an app (a fresh one without it)."""
        self._clients = clients
        self._accounts = {(a.platform, a.external_id): a for a in accounts}
        self._page_keys = page_keys or PageKeysMemo()
        # Made on first use: most requests load nothing through them (a listed page's
        # campaigns and accounts are read with it, into ``campaigns_read``/``accounts_read``).
        self._campaigns: DataLoader[CampaignKey, CampaignRecord | None] | None = None
        self._account_info: DataLoader[AccountKey, AdAccountInfo | None] | None = None
        #: What ``PagePrefetch.finish`` read for listed pages, failures included.
        self.campaigns_read: dict[CampaignKey, CampaignOutcome] = {}
        self.accounts_read: dict[AccountKey, AccountOutcome] = {}

    def account_ref(self, platform: Platform, external_id: str) -> AccountRef | None:
        """The configured account, if the request may see it."""
        return self._accounts.get((platform, external_id))

    def page_keys(self, items: Sequence[AdSetItem]) -> PageKeys:
        """The campaigns and accounts ``items`` name."""
        return self._page_keys.of(items)

    def prefetch(self, *, campaigns: bool, accounts: bool) -> PagePrefetch:
        """A reader of a page's ``campaigns`` and ``accounts`` (their details), or both."""
        return PagePrefetch(self, self._clients, campaigns=campaigns, accounts=accounts)

    async def campaign(self, key: CampaignKey) -> CampaignRecord | None:
        """One campaign, batched with every other campaign asked for in this tick."""
        if self._campaigns is None:
            self._campaigns = DataLoader(self._batch_campaigns)
        result: CampaignRecord | None = await _load(self._campaigns, key)
        return result

    async def account(self, key: AccountKey) -> AdAccountInfo | None:
        """What the platform says about one configured ad account."""
        if self._account_info is None:
            self._account_info = DataLoader(self._batch_accounts)
        result: AdAccountInfo | None = await _load(self._account_info, key)
        return result

    async def read_campaigns(
        self,
        wanted: Mapping[AccountKey, Sequence[str]],
        failed: Mapping[AccountKey, BaseException],
    ) -> None:
        """Read the named campaigns of each account (one ``get_campaigns`` per account, all at
        once) into ``campaigns_read``, where the campaign loader finds them too. The
        campaigns of an account in ``failed`` are not asked for again: its error is theirs.
        Accounts whose campaigns are all known without a call are taken first, as they are
        (no task of their own)."""
        read = self.campaigns_read
        groups: list[tuple[AccountKey, Sequence[str]]] = []
        for key, ids in wanted.items():
            cached = None if key in failed else self._cached_campaigns(key, ids)
            if cached is None:
                groups.append((key, ids))
            else:
                _note_campaigns(read, key, ids, cached)
        if not groups:
            return

        async def of(key: AccountKey, ids: Sequence[str]) -> dict[str, CampaignRecord]:
            error = failed.get(key)
            if error is not None:
                raise error
            return await self._campaigns_of(key, ids)

        results = await asyncio.gather(*(of(k, ids) for k, ids in groups), return_exceptions=True)
        for (key, ids), result in zip(groups, results, strict=True):
            _note_campaigns(read, key, ids, result)

    async def _batch_campaigns(self, keys: Sequence[CampaignKey]) -> list[Any]:
        # What this request read with its page, failures included (an account whose read
        # failed is not asked again by ID), then the rest from the platforms. Looked up here
        # rather than primed into the loader: a future a campaign for the rare resolver that
        # asks was most of a warm nested page's loader cost.
        read = self.campaigns_read
        by_account: dict[AccountKey, list[str]] = defaultdict(list)
        for key in keys:
            platform, account_id, campaign_id = key
            if key not in read and campaign_id not in by_account[(platform, account_id)]:
                by_account[(platform, account_id)].append(campaign_id)
        groups = list(by_account.items())
        results = await asyncio.gather(
            *(self._campaigns_of(key, ids) for key, ids in groups), return_exceptions=True
        )
        found: dict[AccountKey, dict[str, CampaignRecord] | BaseException] = {
            key: result for (key, _), result in zip(groups, results, strict=True)
        }
        out: list[Any] = []
        for key in keys:
            if key in read:
                out.append(_loaded(read[key]))
                continue
            platform, account_id, campaign_id = key
            group = found[(platform, account_id)]
            out.append(group if isinstance(group, BaseException) else group.get(campaign_id))
        return out

    async def _campaigns_of(self, key: AccountKey, ids: Sequence[str]) -> dict[str, CampaignRecord]:
        cached = self._cached_campaigns(key, ids)
        if cached is not None:
            return cached
        account = self._accounts[key]
        return await self._clients[account.platform].get_campaigns(account, ids)

    def _cached_campaigns(
        self, key: AccountKey, ids: Sequence[str]
    ) -> dict[str, CampaignRecord] | None:
        """The campaigns ``ids`` of an account when known without a call: none for an account
        the request may not see, all of them from the client's cache; else None."""
        account = self._accounts.get(key)
        if account is None:
            return {}
        client = self._clients[account.platform]
        if warms_campaigns(client):
            # Served from the client's cache when all are there: no resilient call to make.
            cached = client.cached_campaigns(account, ids)
            if len(cached) == len(ids):
                return cached
        return None

    async def _batch_accounts(self, keys: Sequence[AccountKey]) -> list[Any]:
        async def one(key: AccountKey) -> AdAccountInfo | None:
            account = self._accounts.get(key)
            if account is None:
                return None
            return await self._clients[account.platform].get_account(account)

        results = await asyncio.gather(*(one(k) for k in keys), return_exceptions=True)
        return list(results)


class PagePrefetch:
    """Reads what a listed page's nested fields show (its rows' campaigns, their accounts'
    details) at the same time as the listing, rather than after it.

    ``start(account)`` is the listing's ``alongside``: as the walk asks an account for rows,
    it starts reading the account's campaigns into its client's cache (clients that
    ``WarmsCampaigns``; Apple's listing reads its rows' campaigns itself) and the account's
    details. ``finish(items)`` then reads the page's campaigns and accounts through the
    request's loaders, which find them read already: a campaign the early read did not bring
    (an account with more campaigns than one call returns, or created since) is read by ID, as
    it would have been without it. When the early read fails, its error stands for the
    account's campaigns, as a failed read by ID did. Campaign reads of accounts that hold no
    row of the page go on in the background (their answer fills the client's cache for the
    next pages; ``stop_leftover_reads`` ends those still running at shutdown); ``cancel`` stops
    the early reads still attached to the page (a failed listing).
    """

    def __init__(
        self,
        loaders: RequestLoaders,
        clients: Mapping[Platform, AdPlatform],
        *,
        campaigns: bool,
        accounts: bool,
    ) -> None:
        self._loaders = loaders
        self._clients = clients
        self._campaigns = campaigns
        self._accounts = accounts
        self._started: set[AccountKey] = set()
        self._warming: dict[AccountKey, asyncio.Future[None]] = {}
        self._details: dict[AccountKey, asyncio.Future[AdAccountInfo | None]] = {}
        self._known: dict[AccountKey, AdAccountInfo] = {}

    def start(self, account: AccountRef) -> None:
        key = (account.platform, account.external_id)
        if key in self._started:
            return
        self._started.add(key)
        client = self._clients[account.platform]
        if self._campaigns and warms_campaigns(client) and not client.campaigns_warm(account):
            self._warming[key] = _background(client.warm_campaigns(account))
        if self._accounts:
            cached = client.cached_account(account) if caches_accounts(client) else None
            if cached is not None:
                self._known[key] = cached  # no read to make, nor a task to run
            else:
                self._details[key] = _background(self._loaders.account(key))

    async def finish(self, items: Sequence[AdSetItem]) -> None:
        """Read the campaigns and account details of ``items`` (into the loaders'
        ``campaigns_read`` and ``accounts_read``), once the early reads are in."""
        wanted = self._loaders.page_keys(items).by_account
        for key in [k for k in self._warming if k not in wanted]:
            # Its call is made, and its campaigns fill the client's cache for the pages after
            # this one: finished in the background, not thrown away.
            _leave_running(self._clients[key[0]], self._warming.pop(key))
        for key, task in self._details.items():
            if key not in wanted:
                task.cancel()  # the loader's shared read goes on; only this wait stops
        reads = []
        if self._campaigns:
            warming = {key: task for key, task in self._warming.items() if key in wanted}
            if warming:
                await asyncio.wait(warming.values())
            # An account whose campaigns could not be read ahead (after the retries of that
            # call) is not asked again by ID: that would double the failing calls, and the
            # breaker would open on the account's listings too. Its error is its campaigns'.
            failed = {
                key: error
                for key, task in warming.items()
                if not task.cancelled() and (error := task.exception()) is not None
            }
            reads.append(self._loaders.read_campaigns(wanted, failed))
        if self._accounts:
            reading = self._take_known_accounts(wanted)
            if reading:
                reads.append(self._read_accounts(reading))
        if len(reads) == 1:
            await reads[0]  # alone: awaited as it is, without a task of its own
        elif reads:
            await asyncio.gather(*reads)

    def _take_known_accounts(self, keys: Iterable[AccountKey]) -> list[AccountKey]:
        """Put the details of ``keys`` known without a read into ``accounts_read``; returns
        the keys left to read."""
        read = self._loaders.accounts_read
        reading = []
        for key in keys:
            known = self._known.get(key)
            if known is not None:
                read[key] = known
            else:
                reading.append(key)
        return reading

    async def _read_accounts(self, keys: Sequence[AccountKey]) -> None:
        async def one(key: AccountKey) -> AdAccountInfo | None:
            early = self._details.get(key)
            return await (early if early is not None else self._loaders.account(key))

        results = await asyncio.gather(*(one(k) for k in keys), return_exceptions=True)
        self._loaders.accounts_read.update(zip(keys, results, strict=True))

    def cancel(self) -> None:
        """Stop the early reads still running."""
        for _, task in self._early():
            task.cancel()

    def _early(self) -> list[tuple[AccountKey, asyncio.Future[Any]]]:
        return [*self._warming.items(), *self._details.items()]


def _note_campaigns(
    read: dict[CampaignKey, CampaignOutcome],
    account: AccountKey,
    ids: Sequence[str],
    found: dict[str, CampaignRecord] | BaseException,
) -> None:
    """Put what reading the campaigns ``ids`` of ``account`` gave into ``read``: each one's
    record (None when missing), or the read's failure."""
    platform, account_id = account
    for campaign_id in ids:
        key = (platform, account_id, campaign_id)
        read[key] = found if isinstance(found, BaseException) else found.get(campaign_id)


def _loaded(outcome: Any) -> Any:
    """A read's outcome as a loader value: a failure (an ``Exception`` to aiodataloader, which
    takes anything else for a value) without the frames of the raises it has been through, as
    each key's future raises it again."""
    if isinstance(outcome, BaseException):
        error = outcome if isinstance(outcome, Exception) else RuntimeError(repr(outcome))
        return error.with_traceback(None)
    return outcome


async def _load(loader: DataLoader[Any, Any], key: Any) -> Any:
    """``loader.load(key)``, shielded: the future is the loader's, shared by every load of the
    key in the request, so a caller that is cancelled (an early read no row needed) must not
    cancel it for the others. A load that failed, cancelled included, is cleared."""
    future = loader.load(key)
    try:
        return await asyncio.shield(future)
    except BaseException:
        if future.done() and (future.cancelled() or future.exception() is not None):
            loader.clear(key)
        raise


#: Campaign reads a page no longer waits for, left to finish, with the client each fills.
_LEFTOVER: dict[asyncio.Future[None], AdPlatform] = {}


def _leave_running(client: AdPlatform, task: asyncio.Future[None]) -> None:
    if not task.done():
        _LEFTOVER[task] = client
        task.add_done_callback(_forget)


def _forget(task: asyncio.Future[Any]) -> None:
    _LEFTOVER.pop(task, None)


async def stop_leftover_reads(clients: Iterable[AdPlatform]) -> None:
    """Cancel the campaign reads pages left running for ``clients`` and wait for them (their
    errors are read by ``_retrieve``): nothing of theirs outlives the clients, at shutdown."""
    owned = list(clients)
    tasks = [t for t, c in _LEFTOVER.items() if any(c is o for o in owned)]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _background(read: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
    task = asyncio.ensure_future(read)
    task.add_done_callback(_retrieve)
    return task


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a read's failure as seen: ``finish`` meets it again, or it no longer matters."""
    if not task.cancelled():
        task.exception()
