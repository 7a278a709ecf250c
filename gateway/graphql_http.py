"""GraphQL over HTTP at /graphql: POST (and GET) queries, GraphiQL for browsers.

A thin handler of our own rather than Strawberry's ASGI view: we need our auth statuses
(401/403 before execution), orjson responses and an offline GraphiQL page.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.auth import READ_SCOPE, Authenticator
from gateway.errors import (
    AuthenticationError,
    GatewayError,
    PayloadTooLargeError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from gateway.graphiql import render_graphiql_page
from gateway.graphql_request import GraphQLRequestError, choose_operation, read_graphql_request
from gateway.listing.service import ListingService
from gateway.observability.events import graphql_outcome
from gateway.page_security import secure_html
from gateway.schema import GatewaySchema
from gateway.schema.context import GraphQLContext
from gateway.schema.errors import format_error, with_request_id, without_suggestions
from gateway.schema.executor import dumps_result

GRAPHQL_RESPONSE: Final = "application/graphql-response+json"
JSON: Final = "application/json"

_DEFAULT_QUERY = """# Paste your API key into the Headers tab: {"Authorization": "Bearer <key>"}
query FirstAdSets($projectId: ID!) {
  adSets(projectId: $projectId, first: 10) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name platform status dailyBudget { amount currency }
      campaign { name } adAccount { name } } }
  }
}
"""


class GraphQLEndpoint:
    """The /graphql route."""

    def __init__(
        self,
        schema: GatewaySchema,
        service: ListingService,
        authenticator: Authenticator,
        *,
        demo_headers: str | None = None,
        demo_variables: str | None = None,
        suggestions: bool = True,
    ) -> None:
        self._schema = schema
        self._service = service
        self._auth = authenticator
        self._demo_headers = demo_headers
        self._demo_variables = demo_variables
        #: Off, error messages do not name fields ("Did you mean ...?"): with introspection
        #: off, they would otherwise spell the schema out one guess at a time.
        self._suggestions = suggestions

    async def handle(self, request: Request) -> Response:
        if request.method == "GET" and _wants_html(request):
            return secure_html(
                render_graphiql_page(
                    endpoint="/graphql",
                    static_prefix="/graphiql/static",
                    default_query=_DEFAULT_QUERY,
                    default_headers=self._demo_headers,
                    default_variables=self._demo_variables,
                )
            )
        media_type = _media_type(request)
        # The caller is known from its headers before a byte of the body is read or parsed.
        try:
            principal = await self._auth.authenticate(request.headers.get("authorization"))
        except (AuthenticationError, StoreUnavailableError) as exc:
            return _refused(exc, media_type)
        if READ_SCOPE not in principal.scopes:
            return _refused(
                PermissionDeniedError(f"this API key lacks the {READ_SCOPE} scope"), media_type
            )
        if request.method == "HEAD":
            # The headers a GET would have, without running the operation.
            return Response(status_code=200, media_type=media_type)
        try:
            params = await read_graphql_request(request)
            operation_name = choose_operation(params.query, params.operation_name)
        except GraphQLRequestError as exc:
            graphql_outcome(None, "error")
            return _errors(exc.status, exc.message, exc.code, media_type)
        except PayloadTooLargeError as exc:
            return _refused(exc, media_type)
        context = GraphQLContext(
            principal=principal,
            service=self._service,
            loaders=self._service.loaders(principal.project_id),
        )
        result = await self._schema.execute(
            params.query,
            variable_values=params.variables,
            context_value=context,
            operation_name=operation_name,
        )
        body: dict[str, Any] = {}
        errors = [format_error(e) for e in result.errors or ()] + context.extra_errors
        if not self._suggestions:
            errors = [without_suggestions(e) for e in errors]
        if errors:
            body["errors"] = errors
        body["data"] = result.data
        # A request error (no data, no error on a field) means nothing was executed: 400.
        request_failed = result.data is None and bool(result.errors)
        status = 400 if request_failed and all(not e.path for e in result.errors or ()) else 200
        graphql_outcome(operation_name, "error" if status == 400 else "partial" if errors else "ok")
        return Response(dumps_result(body), status_code=status, media_type=media_type)


def _wants_html(request: Request) -> bool:
    return "query" not in request.query_params and "text/html" in request.headers.get("accept", "")


def _media_type(request: Request) -> str:
    """``application/graphql-response+json`` when the client accepts it (GraphQL-over-HTTP),
    else the legacy ``application/json``."""
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in request.headers.get("accept", "") else JSON


def _errors(
    status: int,
    message: str,
    code: str,
    media_type: str,
    headers: dict[str, str] | None = None,
) -> Response:
    extensions = with_request_id({"code": code})
    body = {"errors": [{"message": message, "extensions": extensions}], "data": None}
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def _refused(error: GatewayError, media_type: str) -> Response:
    """A caller refused before execution: REST's status and headers, GraphQL's body."""
    return _errors(error.status_code, error.message, error.code, media_type, error.headers or None)
