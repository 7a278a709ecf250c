"""Our Relay-style connection over the listing service.

Strawberry's ``relay.ListConnection`` does not fit the contract (unsigned offset cursors, a
forged cursor raises, no totalCount), so the connection types are written here, in one module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import strawberry

from gateway.ids import IdKind, check_id
from gateway.listing import types
from gateway.listing.types import ListFilters, ListingPage, SourceStatus
from gateway.platforms import base
from gateway.schema.executor import ByIdentity
from gateway.schema.types import AdSet, PageObjects


@strawberry.type(description="Relay page information.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether another page follows.")
    has_previous_page: bool = strawberry.field(
        description="Whether this page was reached through a cursor (pages exist before it)."
    )
    # Signed on demand, as an edge's cursor: most pages are read for their endCursor only.
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first edge.",
        resolver=lambda root: root._page.edge_cursor(0) if root._page.items else None,
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last edge; pass it as `after` for the next page."
    )
    _page: strawberry.Private[ListingPage]


@strawberry.type(description="An ad set and its cursor.")
class AdSetEdge:
    node: AdSet = strawberry.field(description="The ad set.")
    _page: strawberry.Private[ListingPage]
    _index: strawberry.Private[int]

    @strawberry.field(description="Opaque cursor that resumes after this edge.")
    def cursor(self) -> str:
        # Signed on demand: most pages are read for their nodes and endCursor only.
        return self._page.edge_cursor(self._index)

    @classmethod
    def of_nodes(cls, nodes: Sequence[AdSet], page: ListingPage) -> list[AdSetEdge]:
        """``AdSetEdge(node=node, _page=page, _index=index)`` of each of a page's nodes, in
        one loop, their fields set directly as the dataclass ``__init__`` sets them, at a
        third of its cost: a page builds one per row."""
        new = cls.__new__
        edges = []
        for index, node in enumerate(nodes):
            edge = new(cls)
            edge.__dict__ = {"node": node, "_page": page, "_index": index}
            edges.append(edge)
        return edges


class Edges(ByIdentity, Sequence[AdSetEdge]):
    """A page's edges, made when first read: a repeated page's output is given again by the
    executor from the page's rows and nested objects (``identity``), without them."""

    __slots__ = ("_edges", "_nested", "_page")

    def __init__(self, page: ListingPage, nested: PageObjects | None) -> None:
        self._page = page
        self._nested = nested
        self._edges: list[AdSetEdge] | None = None

    def identity(self) -> tuple[object, ...]:
        items = self._page.items
        if self._nested is None:
            return tuple(items)
        return (*items, *self._nested.inputs(items))

    def _made(self) -> list[AdSetEdge]:
        edges = self._edges
        if edges is None:
            page, nested = self._page, self._nested
            edges = self._edges = AdSetEdge.of_nodes(AdSet.of_rows(page.items, nested), page)
        return edges

    def __len__(self) -> int:
        return len(self._page.items)

    @overload
    def __getitem__(self, index: int) -> AdSetEdge: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[AdSetEdge]: ...

    def __getitem__(self, index: int | slice) -> AdSetEdge | Sequence[AdSetEdge]:
        return self._made()[index]

    def __iter__(self) -> Iterator[AdSetEdge]:
        return iter(self._made())


SourceStatusEnum = strawberry.enum(
    SourceStatus,
    name="SourceStatus",
    description="How an ad account answered for this page: OK, FAILED, THROTTLED or REFUSED.",
)


@strawberry.type(description="One ad account's part in a page.")
class Source:
    platform: base.Platform = strawberry.field(description="The account's platform.")
    ad_account_id: strawberry.ID = strawberry.field(description="The ad account (aa_...).")
    status: SourceStatus = strawberry.field(
        description="OK, or why this account's rows are missing from the page: FAILED and "
        "THROTTLED accounts come later in the walk (the cursor comes back for them); a REFUSED "
        "account (credentials rejected, no access) has left the walk and its remaining rows "
        "are not listed."
    )
    code: str | None = strawberry.field(description="Stable error code when not OK.")
    retry_after: float | None = strawberry.field(
        description="Seconds to wait before this account is worth asking again (the "
        "platform's regain time or the gateway's cool-down); null when OK or REFUSED."
    )

    @classmethod
    def of(cls, source: types.Source) -> Source:
        return cls(
            platform=source.platform,
            ad_account_id=strawberry.ID(source.ad_account_id),
            status=source.status,
            code=source.code,
            retry_after=source.retry_after,
        )


@strawberry.type(description="A page of ad sets across platforms.")
class AdSetConnection:
    edges: list[AdSetEdge] = strawberry.field(description="The ad sets of this page, in order.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    total_count: int | None = strawberry.field(
        description="Matching ad sets in all selected accounts; null when a platform cannot "
        "report an exact number for these filters (never a wrong number)."
    )
    sources: list[Source] = strawberry.field(
        description="The ad accounts asked for this page and how each answered; rows of a "
        "failed or throttled account are missing from this page, not lost."
    )

    @classmethod
    def of(cls, page: ListingPage, nested: PageObjects | None = None) -> AdSetConnection:
        """The page as a connection; ``nested`` holds its rows' campaigns and accounts when
        they were read with it."""
        edges = Edges(page, nested)
        return cls(
            edges=edges,  # type: ignore[arg-type]  # a sequence, made when first read
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                # An empty page that is not the last still names where to go on: a Relay
                # client given no endCursor would start over at the first page.
                end_cursor=page.edge_cursor(len(edges) - 1) if edges else page.next_cursor,
                _page=page,
            ),
            total_count=page.total_count,
            sources=[Source.of(s) for s in page.sources],
        )


@strawberry.input(description="Narrows the ad sets listed; all fields are optional.")
class AdSetFilter:
    campaign_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only ad sets of this campaign (cmp_...)."
    )
    ad_account_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only ad sets of this ad account (aa_...)."
    )
    platforms: list[base.Platform] | None = strawberry.field(
        default=None, description="Only these platforms."
    )
    status: list[base.AdSetStatus] | None = strawberry.field(
        default=None,
        description="Only these normalized statuses (deleted rows are included "
        "unless filtered out here).",
    )

    def to_filters(self) -> ListFilters:
        return ListFilters(
            campaign_id=(
                None
                if self.campaign_id is None
                else check_id(self.campaign_id, IdKind.CAMPAIGN, param="filter.campaignId")
            ),
            ad_account_id=(
                None
                if self.ad_account_id is None
                else check_id(self.ad_account_id, IdKind.AD_ACCOUNT, param="filter.adAccountId")
            ),
            platforms=None if self.platforms is None else frozenset(self.platforms),
            statuses=None if self.status is None else frozenset(self.status),
        )
