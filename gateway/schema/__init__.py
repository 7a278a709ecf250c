"""The GraphQL schema and its limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gateway.schema.documents import (
    CACHE_BYTES,
    MAX_DOCUMENT_CHARS,
    MAX_TOKENS,
    DocumentCache,
    DocumentLimits,
)
from gateway.schema.errors import log_errors
from gateway.schema.executor import executor_class
from gateway.schema.limits import LIMIT_RULES, MAX_ALIASES, MAX_COSTLY_FIELDS, MAX_DEPTH
from gateway.schema.query import Project, Query
from gateway.schema.types import DATETIME_SCALAR, AdAccount, AdSet, Campaign

__all__ = [
    "CACHE_BYTES",
    "MAX_ALIASES",
    "MAX_COSTLY_FIELDS",
    "MAX_DEPTH",
    "MAX_DOCUMENT_CHARS",
    "MAX_TOKENS",
    "GatewaySchema",
    "build_schema",
    "export_sdl",
]


class GatewaySchema(strawberry.Schema):
    """Strawberry schema that logs errors without tracebacks (see schema.errors)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)


def build_schema(*, fast: bool = True, introspection: bool = True) -> GatewaySchema:
    """The schema with its limits (document size and tokens, depth, aliases, cost), one
    size-bounded cache of parsed and validated documents and the plain-field executor
    (``fast=False`` keeps graphql-core's own, for comparison). Without ``introspection``,
    ``__schema`` and ``__type`` are validation errors (``__typename`` stays)."""
    documents = DocumentCache()
    limit_rules: list[Any] = list(LIMIT_RULES)
    if not introspection:
        limit_rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Any] = [
        lambda: AddValidationRules(limit_rules),
        lambda: DocumentLimits(documents),
    ]
    executor = executor_class()
    schema = GatewaySchema(
        query=Query,
        types=[AdSet, Campaign, AdAccount, Project],
        extensions=extensions,
        config=StrawberryConfig(scalar_map={datetime: DATETIME_SCALAR}),
        execution_context_class=executor if fast else None,
    )
    if fast:
        executor.prepare(schema)  # FieldHookError if an extension or directive hooks fields
    return schema


def export_sdl() -> str:
    """The schema as SDL, as kept in schema.graphql."""
    return build_schema().as_str() + "\n"
