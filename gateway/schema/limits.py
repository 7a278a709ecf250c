"""Limits on what one GraphQL document may ask for: depth, aliases and cost.

Cost is what matters here: every ``adSets`` field fans out to the project's ad accounts, so
thirty of them would spend hundreds of calls of the customer's quota in one request; a root
``node`` may walk a campaign to find an ad set, so it counts too (``edges { node }`` is a plain
field and does not). Cost is enforced twice:

- at validation, by counting costly fields with fragments expanded: a fragment spread by 29
  aliased parents counts 29 times, so such a document is rejected before any upstream call;
- at execution, by a per-request ``ListingBudget`` that each costly resolver draws from before
  it calls anything, so no request runs more listings than allowed whatever the validation
  count missed.

Each limit reports a stable ``extensions.code``: ``query_too_deep``, ``too_many_aliases``,
``query_too_costly``.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

from gateway.errors import GatewayError

MAX_DEPTH = 10
MAX_ALIASES = 30
#: Listing (``adSets``) and root ``node`` fields one request may run.
MAX_COSTLY_FIELDS = 5
#: A chain of single objects: it does not multiply the work below it, so it adds no depth
#: (GraphiQL's introspection query nests ``ofType`` seven times).
_FLAT_FIELDS = frozenset({"ofType"})


class QueryTooCostlyError(GatewayError):
    """A request asked for more listings than one request may run."""

    code = "query_too_costly"

    def __init__(self) -> None:
        super().__init__(
            f"a request may run at most {MAX_COSTLY_FIELDS} adSets or node fields (each one "
            "calls the ad platforms); split it into several requests"
        )


class ListingBudget:
    """How many costly fields this request may still resolve."""

    def __init__(self, units: int = MAX_COSTLY_FIELDS) -> None:
        self.left = units

    def spend(self) -> None:
        """Take one unit, before any upstream call; raises once the budget is spent."""
        if self.left <= 0:
            raise QueryTooCostlyError
        self.left -= 1


def coded_error(message: str, code: str, nodes: Any = None) -> GraphQLError:
    """A request error whose ``extensions.code`` says which limit fired."""
    return GraphQLError(message, nodes, extensions={"code": code})


def _fragments(context: ValidationContext) -> dict[str, FragmentDefinitionNode]:
    return {
        d.name.value: d
        for d in context.document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }


class _SelectionWalk:
    """Folds over an operation's selections with fragments expanded, memoized per fragment
    (so a fragment spread a million times costs one walk) and cycle-safe (cycles are reported
    by graphql-core's own rule)."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self._fragments = fragments
        self._memo: dict[tuple[str, bool], int] = {}
        self._open: set[str] = set()

    def spread(self, name: str, root: bool) -> int:
        key = (name, root)
        if key in self._memo:
            return self._memo[key]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._open:
            return 0
        self._open.add(name)
        value = self.selections(fragment.selection_set, root)
        self._open.discard(name)
        self._memo[key] = value
        return value

    def selections(self, selection_set: SelectionSetNode, root: bool) -> int:
        values = [0]
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                values.append(self.field(selection, root))
            elif isinstance(selection, InlineFragmentNode):
                values.append(self.selections(selection.selection_set, root))
            elif isinstance(selection, FragmentSpreadNode):
                values.append(self.spread(selection.name.value, root))
        return self.combine(values)

    def field(self, node: FieldNode, root: bool) -> int:
        raise NotImplementedError

    def combine(self, values: list[int]) -> int:
        raise NotImplementedError


class _Cost(_SelectionWalk):
    """Costly fields an operation runs: a sum over every occurrence."""

    def field(self, node: FieldNode, root: bool) -> int:
        name = node.name.value
        own = 1 if name == "adSets" or (root and name == "node") else 0
        below = self.selections(node.selection_set, False) if node.selection_set else 0
        return own + below

    def combine(self, values: list[int]) -> int:
        return sum(values)


class _Depth(_SelectionWalk):
    """Nesting of fields that have selections (introspection included: its ``fields`` and
    ``type`` fan out like any other)."""

    def field(self, node: FieldNode, root: bool) -> int:
        if node.selection_set is None:
            return 0
        below = self.selections(node.selection_set, False)
        return below if node.name.value in _FLAT_FIELDS else 1 + below

    def combine(self, values: list[int]) -> int:
        return max(values)


class CostLimit(ValidationRule):
    """Rejects an operation that would run more than ``MAX_COSTLY_FIELDS`` costly fields."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        cost = _Cost(_fragments(self.context)).selections(node.selection_set, True)
        if cost > MAX_COSTLY_FIELDS:
            self.report_error(
                coded_error(
                    f"this operation would run {cost} adSets or node fields; a request may run "
                    f"at most {MAX_COSTLY_FIELDS} (each one calls the ad platforms), so split "
                    "it into several requests",
                    QueryTooCostlyError.code,
                    node,
                )
            )


class DepthLimit(ValidationRule):
    """Rejects an operation nested deeper than ``MAX_DEPTH``."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        depth = _Depth(_fragments(self.context)).selections(node.selection_set, True)
        if depth > MAX_DEPTH:
            self.report_error(
                coded_error(
                    f"this operation is {depth} fields deep; at most {MAX_DEPTH} are allowed",
                    "query_too_deep",
                    node,
                )
            )


class AliasLimit(ValidationRule):
    """Rejects a document with more than ``MAX_ALIASES`` aliased fields."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self._count = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.alias is None:
            return
        self._count += 1
        if self._count == MAX_ALIASES + 1:
            self.report_error(
                coded_error(
                    f"a document may hold at most {MAX_ALIASES} aliases", "too_many_aliases", node
                )
            )


LIMIT_RULES: tuple[type[ValidationRule], ...] = (DepthLimit, AliasLimit, CostLimit)
