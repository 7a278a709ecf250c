"""The GraphQL schema and its limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gateway.schema.errors import log_errors
from gateway.schema.executor import executor_class
from gateway.schema.limits import CostlyFieldLimit
from gateway.schema.query import Project, Query
from gateway.schema.types import DATETIME_SCALAR, AdAccount, AdSet, Campaign

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000
CACHE_SIZE = 256


class GatewaySchema(strawberry.Schema):
    """Strawberry schema that logs errors without tracebacks (see schema.errors)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors)


def build_schema(*, fast: bool = True) -> GatewaySchema:
    """The schema with depth, alias and token limits, bounded parse/validation caches and
    the plain-field executor (``fast=False`` keeps graphql-core's own, for comparison)."""
    # The limiters' rule classes are made once and shared, so the validation cache (keyed
    # by the rules) hits across requests; extensions themselves are built per request.
    limit_rules = [
        *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
        *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
        CostlyFieldLimit,
    ]
    extensions: list[Any] = [
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: AddValidationRules(limit_rules),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
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
