"""What a GraphQL-over-HTTP request asks for: its parameters, and which operation to run.

Strawberry runs the first operation when ``operationName`` is missing and raises (a 500)
when it names no operation of the document; the GraphQL spec and GraphQL-over-HTTP want a
request error for both, so the operation is chosen here before execution.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request

from gateway.errors import quote_input
from gateway.schema import MAX_DOCUMENT_CHARS, MAX_TOKENS


class GraphQLRequestError(Exception):
    """A request that cannot be executed: answered with ``status`` (400 unless said) and
    ``extensions.code``."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The parameters of one request (GraphQL-over-HTTP)."""

    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` is JSON: ``application/json`` or any ``+json`` type,
    parameters (``charset``) aside."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_graphql_request(request: Request) -> GraphQLRequest:
    """``query``, ``variables`` and ``operationName`` from a POST body or a GET query string.

    A POST must say its body is JSON (GraphQL-over-HTTP): a form or ``text/plain`` body is a
    415, never parsed; the body itself is bounded by the app's ``BodyLimit``."""
    if request.method == "GET":
        raw: Any = dict(request.query_params)
        if "variables" in raw:
            try:
                raw["variables"] = orjson.loads(raw["variables"])
            except orjson.JSONDecodeError as exc:
                raise _bad_request("variables must be a JSON object") from exc
    else:
        if not is_json_media_type(request.headers.get("content-type")):
            raise GraphQLRequestError(
                "unsupported_media_type",
                "POST /graphql takes a JSON body: send Content-Type: application/json",
                status=415,
            )
        try:
            raw = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise _bad_request("the body must be JSON: {query, variables, operationName}") from exc
    if not isinstance(raw, dict):
        raise _bad_request("the body must be a JSON object")
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        raise _bad_request("query must be a non-empty string")
    variables = raw.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise _bad_request("variables must be a JSON object")
    operation_name = raw.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _bad_request("operationName must be a string")
    return GraphQLRequest(query, variables, operation_name)


def choose_operation(query: str, operation_name: str | None) -> str | None:
    """The name of the operation to run (``None`` for a lone anonymous one).

    Raises ``GraphQLRequestError`` when ``operation_name`` is not in the document, or when
    the document holds several operations and names none. A document that does not parse is
    left to the schema, which reports the syntax error itself.
    """
    names = _operation_names(query)
    if names is None:
        return operation_name
    if operation_name is not None:
        if operation_name not in names:
            raise GraphQLRequestError(
                "unknown_operation",
                f"the document has no operation named {quote_input(operation_name)}"
                f" (it has: {_listed(names)})",
            )
        return operation_name
    if not names:
        raise GraphQLRequestError("graphql_invalid", "the document defines no operation")
    if len(names) > 1 and None not in names:
        raise GraphQLRequestError(
            "operation_name_required",
            "the document has several operations: say which one to run in operationName",
        )
    # Several operations of which one is anonymous: validation reports it (400).
    return names[0]


# Keyed by documents of at most MAX_DOCUMENT_CHARS: 64 of them hold at most ~6 MB.
@lru_cache(maxsize=64)
def _operation_names(query: str) -> tuple[str | None, ...] | None:
    """The document's operation names in order (``None`` for anonymous ones), or ``None``
    when it does not parse or is too large to (the schema then reports why)."""
    if len(query) > MAX_DOCUMENT_CHARS:
        return None
    try:
        # Bounded like the schema's own token limit; past it the schema reports the error.
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    return tuple(
        d.name.value if d.name else None
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    )


def _listed(names: tuple[str | None, ...], most: int = 5) -> str:
    """The first few operation names, each quoted short: the document is the client's."""
    shown = [quote_input(n) if n else "(anonymous)" for n in names[:most]]
    return ", ".join(shown + (["…"] if len(names) > most else [])) or "none"


def _bad_request(message: str) -> GraphQLRequestError:
    return GraphQLRequestError("bad_request", message)
