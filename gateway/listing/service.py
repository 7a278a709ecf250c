"""The listing service: which accounts a query touches, its loaders, the walk, cursors.

Order of the merged list: the scope's ad accounts by public ID, and within an account the
platform's own stable order. Page assembly (fan-out, totals, partial pages) is in ``walk``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence

from gateway.auth import Principal, authorize
from gateway.config import ProjectConfig, Settings
from gateway.coordination import Coordinator
from gateway.cursors import decode_cursor, scope_fingerprint
from gateway.errors import SourcesFailedError, UpstreamError
from gateway.ids import IdKind, derive_id
from gateway.listing.hints import SizeHints
from gateway.listing.types import (
    AdSetItem,
    ListFilters,
    ListingPage,
    PageSize,
    ScopedAccount,
    Source,
    make_item,
)
from gateway.listing.walk import Items, PageWalk
from gateway.loaders import PageKeysMemo, RequestLoaders
from gateway.platforms.base import (
    AccountRef,
    AdPlatform,
    AdSetPage,
    AdSetQuery,
    Platform,
)
from gateway.platforms.delegating import Delegating
from gateway.platforms.readahead import ReadAhead
from gateway.platforms.tokens import is_resume_token
from gateway.repeats import SameObjects
from gateway.store import IdTarget, Store

#: How long a project's campaign index answers unknown campaign IDs without a new index.
_INDEX_FRESH = 15.0
_FIND_PAGES = 5
#: Pages whose items ``remember`` keeps, to know a repeated one (a few per project polled),
#: and at most this many items in all (each holds its record).
REMEMBERED_PAGES = 64
REMEMBERED_ITEMS = 2048


class ListingService:
    """Lists a project's ad sets across its ad accounts."""

    def __init__(
        self,
        settings: Settings,
        clients: Mapping[Platform, AdPlatform],
        store: Store,
        *,
        coordinator: Coordinator | None = None,
    ) -> None:
        """``coordinator`` shares account size hints with other instances (optional)."""
        self.settings = settings
        self._clients = clients
        self._store = store
        self._indexed_at: dict[str, float] = {}  # project -> when its campaigns were indexed
        self._sizes = SizeHints(coordinator=coordinator)
        self._items = Items()  # a repeated page's items, as made before
        # The items of the pages remembered last, by their first item: a repeated page's
        # IDs are known already (or queued), so it is not looked up again item by item.
        self._remembered: SameObjects[int, bool] = SameObjects(REMEMBERED_PAGES, REMEMBERED_ITEMS)
        self._page_keys = PageKeysMemo(REMEMBERED_PAGES, REMEMBERED_ITEMS)  # for nested fields
        self._account_ids = {
            (a.platform, a.external_id): derive_id(IdKind.AD_ACCOUNT, a.platform, a.external_id)
            for p in settings.projects
            for a in p.ad_accounts
        }

    def forget_sizes(self) -> None:
        """Forget the account sizes seen so far: the next first pages ask every account, as
        on a gateway that just started."""
        self._sizes.clear()

    def project_for(self, principal: Principal, project_id: str) -> ProjectConfig:
        """The project, if the principal may read it (else NotFound / PermissionDenied).

        The one authorization check of a request: what takes a ``ProjectConfig`` from here on
        trusts that it was made."""
        authorize(principal, project_id, (p.id for p in self.settings.projects))
        project = self.settings.project(project_id)
        assert project is not None  # authorize() checked it exists
        return project

    def loaders(self, project_id: str) -> RequestLoaders:
        """A request's dataloaders over the project's accounts (none for an unknown project).
        Build them inside the request's event loop and drop them with it."""
        project = self.settings.project(project_id)
        return RequestLoaders(
            self._clients, project.ad_accounts if project else (), self._page_keys
        )

    def account_id(self, account: AccountRef) -> str:
        """Public ID of a configured ad account."""
        return self._account_ids.get((account.platform, account.external_id)) or derive_id(
            IdKind.AD_ACCOUNT, account.platform, account.external_id
        )

    def scoped_accounts(self, project: ProjectConfig) -> list[ScopedAccount]:
        """The project's accounts in the merged list's order."""
        accounts = [ScopedAccount(self.account_id(a), a) for a in project.ad_accounts]
        accounts.sort(key=lambda a: a.public_id)
        return accounts

    async def resolve(self, public_id: str) -> IdTarget | None:
        """What a public ID names, if it was ever listed."""
        return await self._store.resolve(public_id)

    async def list_adsets(
        self,
        project: ProjectConfig,
        filters: ListFilters,
        *,
        limit: PageSize | None = None,
        cursor: str | None = None,
        allow_partial: bool = False,
        want_total: bool = False,
        alongside: Callable[[AccountRef], None] | None = None,
    ) -> ListingPage:
        """One page of the ad sets of ``project`` (as ``project_for`` gave it) matching
        ``filters``.

        A failing account raises ``SourcesFailedError`` unless ``allow_partial``: then the page
        holds the other accounts' rows, ``sources`` says what failed, and the cursor comes back
        for the skipped accounts. ``total_count`` is filled in only with ``want_total``: it may
        cost a call to accounts that hold no row of the page. ``alongside(account)`` is called
        as the walk asks an account for rows, before its answer: the caller starts there what
        it will need for those rows, at the same time (GraphQL's nested campaigns).
        """
        if limit is None:
            limit = PageSize(PageSize.DEFAULT)
        accounts, campaign_ext = await self._scope(project, filters)
        scope = scope_fingerprint(
            [project.id, *filters.fingerprint_parts(), *(a.public_id for a in accounts)]
        )
        position = (
            decode_cursor(
                self.settings.cursor_secrets,
                scope,
                cursor,
                accounts=len(accounts),
                token_ok=lambda index, token: is_resume_token(accounts[index].ref.platform, token),
            )
            if cursor
            else None
        )
        query = AdSetQuery(campaign_external_id=campaign_ext, statuses=filters.statuses)
        walk = PageWalk(
            self._clients if alongside is None else _announcing(self._clients, alongside),
            accounts,
            query,
            limit,
            position,
            allow_partial=allow_partial,
            want_total=want_total,
            hints=await self._sizes.shared_hints(accounts, query),
            made=self._items,
        )
        await walk.run()
        await self._sizes.learn_shared(accounts, query, walk.learned)
        self.remember(walk.items)
        return ListingPage(
            items=walk.items,
            total_count=walk.total_count() if want_total else None,
            has_previous=position is not None,
            sources=walk.sources,
            _positions=walk.positions,
            _end=walk.end,
            _secret=self.settings.cursor_secret,
            _scope=scope,
        )

    async def _scope(
        self, project: ProjectConfig, filters: ListFilters
    ) -> tuple[list[ScopedAccount], str | None]:
        """The accounts a query touches, narrowed before any upstream call."""
        accounts = self.scoped_accounts(project)
        if filters.platforms is not None:
            accounts = [a for a in accounts if a.ref.platform in filters.platforms]
        if filters.ad_account_id is not None:
            accounts = [a for a in accounts if a.public_id == filters.ad_account_id]
        if filters.campaign_id is None:
            return accounts, None
        target = await self._find_campaign(project, filters.campaign_id, accounts)
        if target is None:
            return [], None
        accounts = [
            a
            for a in accounts
            if a.ref.platform == target.platform and a.ref.external_id == target.account_external_id
        ]
        return accounts, target.external_id

    async def _find_campaign(
        self, project: ProjectConfig, campaign_id: str, accounts: list[ScopedAccount]
    ) -> IdTarget | None:
        """Resolve a campaign ID. IDs of listed rows are known already; on a miss the
        accounts' campaigns are indexed, at most once per project every ``_INDEX_FRESH``
        seconds, so random IDs cannot multiply upstream calls. An account that could not be
        read fails the request rather than making the page silently empty."""
        target = await self._store.resolve(campaign_id)
        if target is not None or not accounts:
            return target
        now = time.monotonic()
        indexed = self._indexed_at.get(project.id)
        if indexed is not None and now - indexed < _INDEX_FRESH:
            return None
        results = await asyncio.gather(
            *(self._clients[a.ref.platform].list_campaigns(a.ref) for a in accounts),
            return_exceptions=True,
        )
        sources: list[Source] = []
        for account, result in zip(accounts, results, strict=True):
            if isinstance(result, UpstreamError):
                sources.append(Source.failure(account, result))
                continue
            if isinstance(result, BaseException):
                raise result
            sources.append(Source.ok(account))
            self._store.remember_ids(
                (
                    derive_id(IdKind.CAMPAIGN, c.platform, c.external_id),
                    IdTarget(c.platform, account.ref.external_id, None, c.external_id),
                )
                for c in result
            )
        target = await self._store.resolve(campaign_id)
        if target is None and any(s.failed for s in sources):
            raise SourcesFailedError(sources)
        if not any(s.failed for s in sources):
            self._indexed_at[project.id] = now
        return target

    def remember(self, items: Sequence[AdSetItem]) -> None:
        """Record the public IDs of listed rows for later reverse lookups."""
        if not items or self._remembered.get(id(items[0]), items):
            return
        knows = self._store.knows
        entries: dict[str, IdTarget] = {}
        campaigns: set[str] = set()  # a page repeats a few campaigns: each is looked up once
        for item in items:
            r = item.record
            if not knows(item.adset_id):
                entries[item.adset_id] = IdTarget(
                    r.platform, r.account_external_id, r.campaign_external_id, r.external_id
                )
            campaign_id = item.campaign_id
            if campaign_id not in campaigns:
                campaigns.add(campaign_id)
                if not knows(campaign_id):
                    entries[campaign_id] = IdTarget(
                        r.platform, r.account_external_id, None, r.campaign_external_id
                    )
        if entries:
            self._store.remember_ids(entries.items())
        self._remembered.put(id(items[0]), items, True)

    async def find_adset(self, owner: ScopedAccount, target: IdTarget) -> AdSetItem | None:
        """One ad set by reverse-map target: a walk of its campaign (no by-ID read exists on
        every platform), stopping at the row; bounded to ``_FIND_PAGES`` upstream pages."""
        client = self._clients[owner.ref.platform]
        if isinstance(client, ReadAhead):
            # A lookup stops at its row: the page after it would be read for no one.
            client = client.inner
        query = AdSetQuery(campaign_external_id=target.campaign_external_id)
        start: str | None = None
        for _ in range(_FIND_PAGES):
            page = await client.list_adsets(owner.ref, query, start=start, count=PageSize.MAX)
            for record in page.rows:
                if record.external_id == target.external_id:
                    return make_item(record, owner.public_id)
            start = page.resume_after(len(page.rows))
            if start is None:
                return None
        return None


def _announcing(
    clients: Mapping[Platform, AdPlatform], announce: Callable[[AccountRef], None]
) -> dict[Platform, AdPlatform]:
    return {platform: _Announcing(client, announce) for platform, client in clients.items()}


class _Announcing(Delegating):
    """A client that calls ``announce(account)`` as each listing starts; all else passes."""

    def __init__(self, inner: AdPlatform, announce: Callable[[AccountRef], None]) -> None:
        super().__init__(inner)
        self._announce = announce

    async def list_adsets(
        self, account: AccountRef, query: AdSetQuery, *, start: str | None, count: int
    ) -> AdSetPage:
        self._announce(account)
        return await self.inner.list_adsets(account, query, start=start, count=count)

    async def aclose(self) -> None:
        """Nothing to release: the inner client is the service's."""
