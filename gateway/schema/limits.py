"""A cost limit: how many upstream-listing fields one GraphQL document may ask for.

Depth and alias limits do not bound cost here: every ``adSets`` field fans out to the project's
ad accounts, so thirty aliased ``adSets`` would spend hundreds of calls of the customer's quota
in one request. ``node`` may walk a campaign to find an ad set, so it counts too.
"""

from __future__ import annotations

from typing import Any

from graphql import FieldNode, GraphQLError, ValidationContext, ValidationRule

#: Fields that call platforms, and how many of them one document may hold.
COSTLY_FIELDS = frozenset({"adSets", "node"})
MAX_COSTLY_FIELDS = 5


class CostlyFieldLimit(ValidationRule):
    """Rejects documents with more than ``MAX_COSTLY_FIELDS`` listing fields."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self._count = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value not in COSTLY_FIELDS:
            return
        self._count += 1
        if self._count == MAX_COSTLY_FIELDS + 1:
            self.report_error(
                GraphQLError(
                    f"a request may ask for at most {MAX_COSTLY_FIELDS} adSets or node fields "
                    "(each one calls the ad platforms); split it into several requests",
                    node,
                )
            )
