"""The Query root: adSets, project, node."""

from __future__ import annotations

import operator
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import strawberry
from cachetools import LRUCache
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    InlineFragmentNode,
    SelectionNode,
    SelectionSetNode,
)
from graphql.utilities import value_from_ast

from gateway.errors import InvalidInputError
from gateway.ids import IdKind, kind_of
from gateway.listing.types import ListFilters, PageSize
from gateway.platforms.base import Platform
from gateway.schema.connection import AdSetConnection, AdSetFilter
from gateway.schema.context import GraphQLContext
from gateway.schema.types import AdAccount, AdSet, Campaign, Node, PageObjects

Info = strawberry.Info[GraphQLContext, None]


async def _list(
    info: Info, project_id: str, filter: AdSetFilter | None, first: int | None, after: str | None
) -> AdSetConnection:
    ctx = info.context
    ctx.budget.spend()
    project = ctx.service.project_for(ctx.principal, project_id)
    filters = filter.to_filters() if filter is not None else ListFilters()
    shown = _Shown.of(info)
    campaigns, accounts = shown.campaigns, shown.account_details
    nested = ctx.loaders.prefetch(campaigns=campaigns, accounts=accounts)
    try:
        page = await ctx.service.list_adsets(
            project,
            filters,
            limit=PageSize.of(first, param="first"),
            cursor=after,
            allow_partial=True,
            want_total=shown.total,
            alongside=nested.start if campaigns or accounts else None,
        )
        if campaigns or accounts:
            await nested.finish(page.items)
    finally:
        nested.cancel()
    ctx.report_sources(page.sources, list(info.path.as_list()))
    # The rows' campaign and account objects, built only when the selection shows them.
    nested_objects = PageObjects(ctx.loaders) if campaigns or shown.account else None
    return AdSetConnection.of(page, nested_objects)


@dataclass(frozen=True, slots=True)
class _Shown:
    """What a selection of ``adSets`` shows that costs reads of its own: its rows'
    ``campaign``, their ``adAccount`` (and its ``currency`` or ``timezone``, details read
    from the platform), ``totalCount``.

    Kept per selection, by its field nodes (held weakly): a document is parsed once and
    cached (``schema.documents``), so a repeated query hands the same nodes again and the
    selection is not walked anew. A selection whose ``@skip`` or ``@include`` the walk met
    is not kept: their variables may differ from one request to the next."""

    campaigns: bool
    account: bool
    account_details: bool
    total: bool

    @classmethod
    def of(cls, info: Info) -> _Shown:
        nodes = info._raw_info.field_nodes
        key = tuple(map(id, nodes))
        kept = _SHOWN.get(key)
        if kept is not None and all(map(operator.is_, (ref() for ref in kept[0]), nodes)):
            return kept[1]
        selections = _Selections(info)
        top = selections.fields
        node = selections.under(selections.under(top, "edges"), "node")
        account = selections.under(node, "adAccount")
        shown = cls(
            campaigns=bool(selections.under(node, "campaign")),
            account=bool(account),
            account_details=bool(selections.under(account, "currency", "timezone")),
            total=bool(selections.under(top, "totalCount")),
        )
        if not selections.directed:
            _SHOWN[key] = (tuple(weakref.ref(n) for n in nodes), shown)
        return shown


#: ``_Shown`` by the ids of its field nodes, with weak references that tell a node reusing a
#: freed node's id from it (bounded: clients choose the documents).
_SHOWN: LRUCache[tuple[int, ...], tuple[tuple[weakref.ref[FieldNode], ...], _Shown]] = LRUCache(
    maxsize=512
)


class _Selections:
    """Walks the selection under a field in the request's document, as graphql-core will
    execute it (fragments followed, ``@skip``/``@include`` applied with the request's
    variables; type conditions do not matter on these object types): ``totalCount`` is only
    worth its upstream calls, and nested campaigns and account details their early reads,
    when asked for. Reads the parsed document directly; Strawberry's ``selected_fields``
    converts the whole selection, arguments included, on every request."""

    def __init__(self, info: Info) -> None:
        raw = info._raw_info
        self._fragments = raw.fragments
        # Strawberry's execution hands resolvers the coerced values as a dict; graphql-core's
        # own wraps them (``VariableValues.coerced``).
        values: Any = raw.variable_values
        self._variables: dict[str, Any] = getattr(values, "coerced", values)
        #: The field being resolved (several nodes when the document selects it more than once).
        self.fields: Sequence[FieldNode] = raw.field_nodes
        #: Whether a ``@skip`` or ``@include`` was met: what was found then holds for these
        #: variables only.
        self.directed = False

    def under(self, nodes: Sequence[FieldNode], *names: str) -> list[FieldNode]:
        """The fields named ``names`` selected directly under ``nodes``."""
        out: list[FieldNode] = []
        for node in nodes:
            if node.selection_set is not None:
                self._collect(node.selection_set, names, out)
        return out

    def _collect(
        self, selection_set: SelectionSetNode, names: tuple[str, ...], out: list[FieldNode]
    ) -> None:
        for child in selection_set.selections:
            if child.directives and not self._included(child):
                continue
            if isinstance(child, FieldNode):
                if child.name.value in names:
                    out.append(child)
            elif isinstance(child, InlineFragmentNode):
                self._collect(child.selection_set, names, out)
            elif isinstance(child, FragmentSpreadNode):
                fragment = self._fragments.get(child.name.value)
                if fragment is not None:
                    self._collect(fragment.selection_set, names, out)

    def _included(self, node: SelectionNode) -> bool:
        """False when ``@skip(if: true)`` or ``@include(if: false)`` leaves ``node`` out."""
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            self.directed = True
            condition = next(a.value for a in directive.arguments or () if a.name.value == "if")
            if value_from_ast(condition, GraphQLBoolean, self._variables) is (name == "skip"):
                return False
        return True


_FIRST = PageSize.describe()
_AFTER = (
    "Cursor from pageInfo.endCursor or an edge; an invalid or foreign cursor means the first page."
)
_FILTER = "Optional filters."


@strawberry.type(description="A customer project and its connected ad accounts.")
class Project(Node):
    name: str = strawberry.field(description="The project's name.")

    @strawberry.field(description="The project's connected ad accounts, in listing order.")
    def ad_accounts(self, info: Info) -> list[AdAccount]:
        service = info.context.service
        project = service.project_for(info.context.principal, self.id)
        return [AdAccount.of(a.ref, a.public_id) for a in service.scoped_accounts(project)]

    @strawberry.field(description="Ad sets of this project across platforms.")
    async def ad_sets(
        self,
        info: Info,
        filter: Annotated[AdSetFilter | None, strawberry.argument(description=_FILTER)] = None,
        first: Annotated[int | None, strawberry.argument(description=_FIRST)] = PageSize.DEFAULT,
        after: Annotated[str | None, strawberry.argument(description=_AFTER)] = None,
    ) -> AdSetConnection:
        return await _list(info, self.id, filter, first, after)


@strawberry.type(description="Read-only queries over a project's ad sets.")
class Query:
    @strawberry.field(description="Ad sets of a project across Meta, TikTok and Apple.")
    async def ad_sets(
        self,
        info: Info,
        project_id: Annotated[
            strawberry.ID, strawberry.argument(description="The project (prj_...).")
        ],
        filter: Annotated[AdSetFilter | None, strawberry.argument(description=_FILTER)] = None,
        first: Annotated[int | None, strawberry.argument(description=_FIRST)] = PageSize.DEFAULT,
        after: Annotated[str | None, strawberry.argument(description=_AFTER)] = None,
    ) -> AdSetConnection:
        return await _list(info, project_id, filter, first, after)

    @strawberry.field(description="A project the API key belongs to.")
    def project(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="prj_... ID.")],
    ) -> Project:
        ctx = info.context
        project = ctx.service.project_for(ctx.principal, id)
        return Project(id=strawberry.ID(project.id), name=project.name)

    @strawberry.field(description="Any object by ID: a project, ad account, campaign or ad set.")
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The object's ID.")],
    ) -> Node | None:
        return await _node(info, id)


async def _node(info: Info, public_id: str) -> Node | None:
    ctx = info.context
    ctx.budget.spend()
    kind = kind_of(public_id)
    if kind is None:
        raise InvalidInputError(
            "id must start with prj_, aa_, cmp_ or adg_", param="id", code="invalid_id"
        )
    project = ctx.service.project_for(ctx.principal, ctx.principal.project_id)
    accounts = {a.public_id: a for a in ctx.service.scoped_accounts(project)}
    if kind is IdKind.PROJECT:
        if public_id != project.id:
            return None
        return Project(id=strawberry.ID(project.id), name=project.name)
    if kind is IdKind.AD_ACCOUNT:
        found = accounts.get(public_id)
        return None if found is None else AdAccount.of(found.ref, found.public_id)
    target = await ctx.service.resolve(public_id)
    if target is None:
        return None
    platform = Platform(target.platform)
    owner = next(
        (
            a
            for a in accounts.values()
            if a.ref.platform == platform and a.ref.external_id == target.account_external_id
        ),
        None,
    )
    if owner is None:
        return None  # another project's object: say nothing about it
    if kind is IdKind.CAMPAIGN:
        record = await ctx.campaign(platform, target.account_external_id, target.external_id)
        return None if record is None else Campaign.of(record, owner.public_id)
    item = await ctx.service.find_adset(owner, target)
    return None if item is None else AdSet.of(item)
