"""The listing service: which accounts a query touches, concurrent fan-out, merge, cursors.

Order of the merged list: the scope's ad accounts by public ID, and within an account the
platform's own stable order. Page assembly (fan-out, totals, partial pages) is in ``walk``.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
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
    AdSetQuery,
    AdSetStatus,
    Platform,
)
from gateway.platforms.tokens import is_resume_token
from gateway.store import IdTarget, Store
from gateway.walk import (
    AdSetItem,
    PageWalk,
    Positions,
    ScopedAccount,
    Source,
    SourcesFailedError,
    SourceStatus,
    failure_source,
    make_item,
)

MIN_LIMIT, MAX_LIMIT, DEFAULT_LIMIT = 1, 200, 100
#: How long a project's campaign index answers unknown campaign IDs without a new index.
_INDEX_FRESH = 15.0
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


@dataclass
class ListingPage:
    """A page of the merged list, the sources it came from, and where to go on."""

    items: list[AdSetItem]
    total_count: int | None
    has_previous: bool
    sources: list[Source]
    _positions: Positions  # right after each item
    _end: Position
    _secret: bytes
    _scope: str

    @property
    def has_next(self) -> bool:
        return bool(self._end.queue)

    @property
    def next_cursor(self) -> str | None:
        """Cursor of the next page (it comes back for skipped accounts); None at the end."""
        return encode_cursor(self._secret, self._scope, self._end) if self.has_next else None

    def edge_cursor(self, index: int) -> str:
        """Cursor that resumes right after item ``index`` (an empty walk past the end)."""
        return encode_cursor(self._secret, self._scope, self._positions.after(index))


class SizeHints:
    """Account sizes seen recently, per filter: used only to size requests whose account's
    total the cursor does not carry (so rows are not fetched just to be thrown away, and
    accounts past the page are not called), never reported as a total."""

    def __init__(self, capacity: int = 10_000, ttl: float = 600.0) -> None:
        self._sizes: OrderedDict[tuple[str, str, str], tuple[int, float]] = OrderedDict()
        self._capacity = capacity
        self._ttl = ttl

    @staticmethod
    def _key(account: ScopedAccount, query: AdSetQuery) -> tuple[str, str, str]:
        statuses = ",".join(sorted(query.statuses)) if query.statuses is not None else "*"
        return (account.public_id, query.campaign_external_id or "", statuses)

    def hints(self, accounts: Sequence[ScopedAccount], query: AdSetQuery) -> list[int | None]:
        now = time.monotonic()
        out: list[int | None] = []
        for account in accounts:
            seen = self._sizes.get(self._key(account, query))
            out.append(seen[0] if seen is not None and now - seen[1] < self._ttl else None)
        return out

    def clear(self) -> None:
        self._sizes.clear()

    def learn(
        self,
        accounts: Sequence[ScopedAccount],
        query: AdSetQuery,
        totals: Mapping[int, int | None],
    ) -> None:
        now = time.monotonic()
        for index, total in totals.items():
            key = self._key(accounts[index], query)
            if total is None:
                self._sizes.pop(key, None)
                continue
            self._sizes[key] = (total, now)
            self._sizes.move_to_end(key)
        while len(self._sizes) > self._capacity:
            self._sizes.popitem(last=False)


class ListingService:
    """Lists a project's ad sets across its ad accounts."""

    def __init__(
        self, settings: Settings, clients: Mapping[Platform, AdPlatform], store: Store
    ) -> None:
        self.settings = settings
        self._clients = clients
        self._store = store
        self._indexed_at: dict[str, float] = {}  # project -> when its campaigns were indexed
        self._sizes = SizeHints()
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
        allow_partial: bool = False,
        want_total: bool = False,
    ) -> ListingPage:
        """One page of the project's ad sets matching ``filters``.

        A failing account raises ``SourcesFailedError`` unless ``allow_partial``: then the page
        holds the other accounts' rows, ``sources`` says what failed, and the cursor comes back
        for the skipped accounts. ``total_count`` is filled in only with ``want_total``: it may
        cost a call to accounts that hold no row of the page.
        """
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
            self._clients,
            accounts,
            query,
            limit,
            position,
            loaders,
            allow_partial=allow_partial,
            want_total=want_total,
            hints=self._sizes.hints(accounts, query),
        )
        await walk.run()
        self._sizes.learn(accounts, query, walk.learned)
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
        target = self._store.resolve(campaign_id)
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
                sources.append(failure_source(account, result))
                continue
            if isinstance(result, BaseException):
                raise result
            sources.append(Source(account.ref.platform, account.public_id, SourceStatus.OK))
            self._store.remember_ids(
                (
                    derive_id(IdKind.CAMPAIGN, c.platform, c.external_id),
                    IdTarget(c.platform, account.ref.external_id, None, c.external_id),
                )
                for c in result
            )
        target = self._store.resolve(campaign_id)
        if target is None and any(s.status is not SourceStatus.OK for s in sources):
            raise SourcesFailedError(sources)
        if all(s.status is SourceStatus.OK for s in sources):
            self._indexed_at[project.id] = now
        return target

    def remember(self, items: Sequence[AdSetItem]) -> None:
        """Record the public IDs of listed rows for later reverse lookups."""
        knows = self._store.knows
        entries: dict[str, IdTarget] = {}
        for item in items:
            r = item.record
            if not knows(item.adset_id):
                entries[item.adset_id] = IdTarget(
                    r.platform, r.account_external_id, r.campaign_external_id, r.external_id
                )
            if not knows(item.campaign_id) and item.campaign_id not in entries:
                entries[item.campaign_id] = IdTarget(
                    r.platform, r.account_external_id, None, r.campaign_external_id
                )
        if entries:
            self._store.remember_ids(entries.items())

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
