"""The GraphQL schema and its limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from inspect import isawaitable
from typing import Any, TypeGuard, cast

import strawberry
from graphql import (
    DocumentNode,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    execute,
    get_operation_ast,
)
from strawberry.execution.is_awaitable import optimized_is_awaitable as is_awaitable
from strawberry.extensions import AddValidationRules
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

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
    """Strawberry schema that logs errors without tracebacks (see schema.errors), and runs a
    document it has parsed and validated before without Strawberry's request pipeline.

    Strawberry's ``execute`` builds, per request, an execution context, the extensions, their
    runner and four hook contexts around parsing, validation and execution, for what a
    document seen before no longer needs: ``DocumentLimits`` finds its parse and validation
    in the cache, and no extension of this schema hooks execution (``prepare`` refuses
    resolve hooks, ``DocumentLimits`` and ``AddValidationRules`` act before execution only).
    About 40 us a request. So a query found in ``documents`` with no validation errors goes
    straight to graphql-core's ``execute``, with the arguments Strawberry would pass it;
    anything else (a new or invalid document, another operation type, operation extensions)
    takes Strawberry's way."""

    #: The cache ``DocumentLimits`` fills (``build_schema`` sets it).
    documents: DocumentCache | None = None

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        known = None if allowed_operation_types else self._known(query, operation_name)
        if known is None or operation_extensions is not None:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        try:
            outcome = execute(
                self._schema,
                known,
                root_value=root_value,
                context_value=context_value,
                variable_values=variable_values,
                operation_name=operation_name,
                executor_class=self.execution_context_class,
                is_awaitable=cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", is_awaitable),
                operation_extensions=None,  # as Strawberry passes them to its execution context
            )
            result = await outcome if isawaitable(outcome) else outcome
        except Exception as exc:  # outside the fields: reported as Strawberry reports it
            error = (
                exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            )
            self.process_errors([error])
            return ExecutionResult(data=None, errors=[error], extensions={})
        if result.errors:
            self.process_errors(result.errors)
        return ExecutionResult(data=result.data, errors=result.errors, extensions={})

    def _known(self, query: str | None, operation_name: str | None) -> DocumentNode | None:
        """The parsed document of ``query`` when it was validated before without errors and
        names the operation to run (a valid document here holds queries only: the schema has
        no mutation or subscription type)."""
        documents = self.documents
        if documents is None or not query or len(query) > MAX_DOCUMENT_CHARS:
            return None
        entry = documents.get(query)
        if entry is None or entry.errors is None or entry.errors:
            return None
        if get_operation_ast(entry.document, operation_name) is None:
            return None  # no such operation, or a choice to make: Strawberry says which
        return entry.document

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
    schema.documents = documents
    if fast:
        executor.prepare(schema)  # FieldHookError if an extension or directive hooks fields
    return schema


def export_sdl() -> str:
    """The schema as SDL, as kept in schema.graphql."""
    return build_schema().as_str() + "\n"
