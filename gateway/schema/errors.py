"""GraphQL error formatting: stable ``extensions.code``, nothing internal in messages."""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError

from gateway.errors import GatewayError, InvalidInputError, UpstreamError
from gateway.ids import IdKind, derive_id
from gateway.observability.context import request_id

log = logging.getLogger("gateway.graphql")

INTERNAL_MESSAGE = "Unexpected error."


#: The longest request-error message answered: graphql-core's messages quote the document.
MAX_MESSAGE_CHARS = 300


def _bounded(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[:MAX_MESSAGE_CHARS] + "…"


def format_error(error: GraphQLError) -> dict[str, Any]:
    """The JSON form of one error, masked unless it is one of ours or a request error."""
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    extensions: dict[str, Any]
    if isinstance(original, GatewayError):
        message = original.message
        extensions = {"code": original.code}
        if isinstance(original, InvalidInputError):
            extensions["param"] = original.param
        if isinstance(original, UpstreamError):
            extensions["platform"] = original.platform
            if original.account_id is not None:
                extensions["adAccountId"] = derive_id(
                    IdKind.AD_ACCOUNT, original.platform, original.account_id
                )
        if original.retry_after is not None:
            extensions["retryAfter"] = original.retry_after
    elif original is None or isinstance(original, GraphQLError):
        # graphql-core's own request errors: a syntax or validation error has no original (a
        # limit names its own code: schema.limits, schema.documents); a variable it could not
        # coerce wraps the reason in an inner GraphQLError. Their messages quote the
        # document (field names, values), so they are cut like every echo of client input.
        message = _bounded(error.message)
        code = (error.extensions or {}).get("code")
        if not isinstance(code, str):
            code = "graphql_invalid" if original is None else "invalid_variables"
        extensions = {"code": code}
    else:
        message = INTERNAL_MESSAGE
        extensions = {"code": "internal_error"}
    out: dict[str, Any] = {"message": message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    out["extensions"] = with_request_id(extensions)
    return out


def with_request_id(extensions: dict[str, Any]) -> dict[str, Any]:
    """``extensions`` with the current request's id (``requestId``) added."""
    rid = request_id()
    if rid is not None:
        extensions["requestId"] = rid
    return extensions


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def without_suggestions(error: dict[str, Any]) -> dict[str, Any]:
    """A formatted error without graphql-core's "Did you mean ...?" hints."""
    message = error.get("message")
    if isinstance(message, str) and "Did you mean" in message:
        return {**error, "message": _SUGGESTION.sub("", message)}
    return error


def log_errors(errors: list[GraphQLError]) -> None:
    """Log errors in one line each; a bug with its traceback (never in a response), secrets
    redacted by the log handler's filter."""
    for error in errors:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            log.info("graphql request error: %s", error.message)
        elif isinstance(original, GatewayError):
            log.info("graphql %s at %s: %s", original.code, error.path, original.message)
        else:
            log.error(
                "graphql internal error %s at %s",
                type(original).__name__,
                error.path,
                exc_info=original,
                extra={"event": "internal"},
            )
