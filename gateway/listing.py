"""The listing service: which accounts a query touches, concurrent fan-out, merge, cursors.

Order of the merged list: the scope's ad accounts by public ID, and within an account the
platform's own stable order. The first page asks every account in scope for a full page at
once (their totals give ``totalCount``); later pages use those totals, carried in the cursor, to
ask exactly the accounts and row counts the page needs. No account is fetched twice for a page.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.auth import Principal, authorize
from gateway.config import ProjectConfig, Settings
from gateway.cursors import Position, decode_cursor, encode_cursor, scope_fingerprint
from gateway.errors import InvalidInputError, UpstreamError
from gateway.ids import IdKind, derive_id
from gateway.loaders import RequestLoaders
from gateway.platforms.base import (
    AccountRef,
    AdPlatform,
    AdSetPage,
    AdSetQuery,
    AdSetRecord,
    AdSetStatus,
    Platform,
)
from gateway.store import IdTarget, Store

MIN_LIMIT, MAX_LIMIT, DEFAULT_LIMIT = 1, 200, 100
_UNKNOWN_CAMPAIGN_TTL = 60.0
_FIND_PAGES = 5


@dataclass(frozen=True, slots=True)
class ListFilters:
    """Validated filters; IDs are public IDs of the right kind."""

    campaign_id: str | None = None
    ad_account_id: str | None = None
    platforms: frozenset[Platform] | None = None
    statuses: frozenset[AdSetStatus] | None = None

    def fingerprint_parts(self) -> list[str]:
        return [
            self.campaign_id or "",
            self.ad_account_id or "",
            ",".join(sorted(self.platforms or ())),
            ",".join(sorted(self.statuses or ())),
        ]


@dataclass(frozen=True, slots=True)
class AdSetItem:
    """One row of the merged list, with its public IDs."""

    adset_id: str
    campaign_id: str
    ad_account_id: str
    record: AdSetRecord


def make_item(record: AdSetRecord, ad_account_id: str) -> AdSetItem:
    """A listed row with its public IDs."""
    return AdSetItem(
        adset_id=derive_id(IdKind.ADSET, record.platform, record.external_id),
        campaign_id=derive_id(IdKind.CAMPAIGN, record.platform, record.campaign_external_id),
        ad_account_id=ad_account_id,
        record=record,
    )


@dataclass(frozen=True, slots=True)
class ScopedAccount:
    """An account in a walk's scope, with its public ID."""

    public_id: str
    ref: AccountRef


@dataclass
class ListingPage:
    """A page of the merged list and the positions that continue it."""

    items: list[AdSetItem]
    total_count: int | None
    has_previous: bool
    _positions: list[Position | None]  # after item k; None = nothing follows
    _secret: bytes
    _scope: str

    @property
    def next_cursor(self) -> str | None:
        """Cursor of the next page; None at the end of the list."""
        return self.cursor_after(len(self.items) - 1) if self.items else None

    @property
    def has_next(self) -> bool:
        return bool(self.items) and self._positions[-1] is not None

    def cursor_after(self, index: int) -> str | None:
        """Cursor that resumes right after item ``index``."""
        position = self._positions[index]
        return None if position is None else encode_cursor(self._secret, self._scope, position)

    def edge_cursor(self, index: int) -> str:
        """Cursor of edge ``index`` (GraphQL): resumes after it, or marks the end."""
        position = self._positions[index]
        if position is None:
            totals = self._positions_totals()
            position = Position(len(totals), None, 0, totals)
        return encode_cursor(self._secret, self._scope, position)

    def _positions_totals(self) -> tuple[int | None, ...]:
        for position in self._positions:
            if position is not None:
                return position.totals
        return ()


class ListingService:
    """Lists a project's ad sets across its ad accounts."""

    def __init__(
        self, settings: Settings, clients: Mapping[Platform, AdPlatform], store: Store
    ) -> None:
        self.settings = settings
        self._clients = clients
        self._store = store
        self._unknown_campaigns: dict[tuple[str, str], float] = {}
        self._account_ids = {
            (a.platform, a.external_id): derive_id(IdKind.AD_ACCOUNT, a.platform, a.external_id)
            for p in settings.projects
            for a in p.ad_accounts
        }

    def project_for(self, principal: Principal, project_id: str) -> ProjectConfig:
        """The project, if the principal may read it (else NotFound / PermissionDenied)."""
        authorize(principal, project_id, (p.id for p in self.settings.projects))
        project = self.settings.project(project_id)
        assert project is not None  # authorize() checked it exists
        return project

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

    def resolve(self, public_id: str) -> IdTarget | None:
        """What a public ID names, if it was ever listed."""
        return self._store.resolve(public_id)

    async def list_adsets(
        self,
        principal: Principal,
        project_id: str,
        filters: ListFilters,
        *,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        loaders: RequestLoaders,
    ) -> ListingPage:
        """One page of the project's ad sets matching ``filters``."""
        if not MIN_LIMIT <= limit <= MAX_LIMIT:
            raise InvalidInputError(
                f"limit must be between {MIN_LIMIT} and {MAX_LIMIT}",
                param="limit",
                code="invalid_limit",
            )
        project = self.project_for(principal, project_id)
        accounts, campaign_ext = await self._scope(project, filters)
        scope = scope_fingerprint(
            [project.id, *filters.fingerprint_parts(), *(a.public_id for a in accounts)]
        )
        position = decode_cursor(self.settings.cursor_secret, scope, cursor) if cursor else None
        query = AdSetQuery(campaign_external_id=campaign_ext, statuses=filters.statuses)
        walk = _PageWalk(self, accounts, query, limit, position, loaders)
        await walk.run()
        return ListingPage(
            items=walk.items,
            total_count=walk.total_count(),
            has_previous=position is not None,
            _positions=walk.positions,
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
        """Resolve a campaign ID; on a miss, index the accounts' campaigns once a minute."""
        target = self._store.resolve(campaign_id)
        if target is not None or not accounts:
            return target
        key = (project.id, campaign_id)
        seen_missing = self._unknown_campaigns.get(key)
        if seen_missing is not None and time.monotonic() - seen_missing < _UNKNOWN_CAMPAIGN_TTL:
            return None
        results = await asyncio.gather(
            *(self._clients[a.ref.platform].list_campaigns(a.ref) for a in accounts),
            return_exceptions=True,
        )
        for account, result in zip(accounts, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, UpstreamError):
                    continue  # an account we cannot read cannot hold the campaign we list
                raise result
            self._store.remember_ids(
                (
                    derive_id(IdKind.CAMPAIGN, c.platform, c.external_id),
                    IdTarget(c.platform, account.ref.external_id, None, c.external_id),
                )
                for c in result
            )
        target = self._store.resolve(campaign_id)
        if target is None:
            self._unknown_campaigns[key] = time.monotonic()
        return target

    def remember(self, items: Sequence[AdSetItem]) -> None:
        """Record the public IDs of listed rows for later reverse lookups."""
        entries: list[tuple[str, IdTarget]] = []
        for item in items:
            r = item.record
            entries.append(
                (
                    item.adset_id,
                    IdTarget(
                        r.platform, r.account_external_id, r.campaign_external_id, r.external_id
                    ),
                )
            )
            entries.append(
                (
                    item.campaign_id,
                    IdTarget(r.platform, r.account_external_id, None, r.campaign_external_id),
                )
            )
        self._store.remember_ids(entries)

    def client(self, platform: Platform) -> AdPlatform:
        return self._clients[platform]

    async def find_adset(
        self, owner: ScopedAccount, target: IdTarget, loaders: RequestLoaders
    ) -> AdSetItem | None:
        """One ad set by reverse-map target: a walk of its campaign (no by-ID read exists on
        every platform), stopping at the row; bounded to ``_FIND_PAGES`` upstream pages."""
        client = self._clients[owner.ref.platform]
        query = AdSetQuery(campaign_external_id=target.campaign_external_id)
        start: str | None = None
        for _ in range(_FIND_PAGES):
            page = await client.list_adsets(
                owner.ref, query, start=start, count=MAX_LIMIT, campaigns=loaders.lookup_campaigns
            )
            for record in page.rows:
                if record.external_id == target.external_id:
                    return make_item(record, owner.public_id)
            start = page.resume_after(len(page.rows))
            if start is None:
                return None
        return None


class _PageWalk:
    """Assembles one page; see the module docstring for the strategy."""

    def __init__(
        self,
        service: ListingService,
        accounts: list[ScopedAccount],
        query: AdSetQuery,
        limit: int,
        position: Position | None,
        loaders: RequestLoaders,
    ) -> None:
        self.service = service
        self.accounts = accounts
        self.query = query
        self.limit = limit
        self.loaders = loaders
        self.items: list[AdSetItem] = []
        self.positions: list[Position | None] = []
        if position is None:
            self.totals: list[int | None] = [None] * len(accounts)
            self.index, self.token, self.consumed = 0, None, 0
            self.first_page = True
        else:
            self.totals = list(position.totals)
            self.index, self.token = position.account_index, position.token
            self.consumed = position.consumed
            self.first_page = False

    def total_count(self) -> int | None:
        if any(t is None for t in self.totals):
            return None
        return sum(t for t in self.totals if t is not None)

    async def run(self) -> None:
        fetched: set[int] = set()
        while len(self.items) < self.limit and self.index < len(self.accounts):
            plan = self._plan(fetched)
            if not plan:
                break  # the next account was already fetched for this page: stop short
            pages = await self._fetch(plan)
            fetched.update(i for i, _ in plan)
            for (account_index, _), page in zip(plan, pages, strict=True):
                self.totals[account_index] = page.total
            for (account_index, requested), page in zip(plan, pages, strict=True):
                if account_index != self.index:
                    break  # an earlier account of the plan did not end where we expected
                self._take(page)
                if len(self.items) >= self.limit:
                    break
                if len(page.rows) < requested or page.resume_after(len(page.rows)) is None:
                    self._advance()
        self.service.remember(self.items)

    def _plan(self, fetched: set[int]) -> list[tuple[int, int]]:
        """(account index, rows to ask for) for the next concurrent round."""
        need = self.limit - len(self.items)
        if self.index in fetched:
            return []
        plan = [(self.index, need)]
        expected = self._remaining(self.index, self.consumed)
        for later in range(self.index + 1, len(self.accounts)):
            if self.first_page:
                plan.append((later, self.limit))
                continue
            if expected is None or expected >= need or later in fetched:
                break
            plan.append((later, need - expected))
            more = self._remaining(later, 0)
            expected = None if more is None else expected + more
        return plan

    def _remaining(self, index: int, consumed: int) -> int | None:
        total = self.totals[index]
        return None if total is None else max(total - consumed, 0)

    async def _fetch(self, plan: list[tuple[int, int]]) -> list[AdSetPage]:
        async def one(index: int, count: int) -> AdSetPage:
            account = self.accounts[index].ref
            start = self.token if index == self.index else None
            client = self.service.client(account.platform)
            return await client.list_adsets(
                account,
                self.query,
                start=start,
                count=count,
                campaigns=self.loaders.lookup_campaigns,
            )

        results = await asyncio.gather(*(one(i, c) for i, c in plan), return_exceptions=True)
        pages: list[AdSetPage] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            pages.append(result)
        return pages

    def _take(self, page: AdSetPage) -> None:
        account = self.accounts[self.index]
        room = self.limit - len(self.items)
        rows = page.rows[:room]
        for k, record in enumerate(rows, start=1):
            self.items.append(make_item(record, account.public_id))
            self.positions.append(self._after(page.resume_after(k), self.consumed + k))
        self.consumed += len(rows)
        self.token = page.resume_after(len(rows))

    def _after(self, token: str | None, consumed: int) -> Position | None:
        """Position right after a row: in this account, or at the start of the next one."""
        if token is not None:
            return Position(self.index, token, consumed, tuple(self.totals))
        if self.index + 1 < len(self.accounts):
            return Position(self.index + 1, None, 0, tuple(self.totals))
        return None

    def _advance(self) -> None:
        self.index += 1
        self.token, self.consumed = None, 0
