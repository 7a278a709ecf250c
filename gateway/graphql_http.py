"""GraphQL over HTTP at /graphql: POST (and GET) queries, GraphiQL for browsers.

A thin handler of our own rather than Strawberry's ASGI view: we need our auth statuses
(401/403 before execution), orjson responses and an offline GraphiQL page.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway.auth import READ_SCOPE, Authenticator
from gateway.errors import (
    AuthenticationError,
    GatewayError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from gateway.graphiql import render_graphiql_page
from gateway.listing.service import ListingService
from gateway.schema import GatewaySchema
from gateway.schema.context import GraphQLContext
from gateway.schema.errors import format_error

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
    ) -> None:
        self._schema = schema
        self._service = service
        self._auth = authenticator
        self._demo_headers = demo_headers

    async def handle(self, request: Request) -> Response:
        if request.method == "GET" and _wants_html(request):
            return HTMLResponse(
                render_graphiql_page(
                    endpoint="/graphql",
                    static_prefix="/graphiql/static",
                    default_query=_DEFAULT_QUERY,
                    default_headers=self._demo_headers,
                )
            )
        try:
            params = await _read_params(request)
        except ValueError as exc:
            return _errors(400, str(exc), "bad_request")
        try:
            principal = await self._auth.authenticate(request.headers.get("authorization"))
        except AuthenticationError as exc:
            return _refused(exc)
        except StoreUnavailableError as exc:
            return _refused(exc)
        if READ_SCOPE not in principal.scopes:
            return _refused(PermissionDeniedError(f"this API key lacks the {READ_SCOPE} scope"))
        context = GraphQLContext(
            principal=principal,
            service=self._service,
            loaders=self._service.loaders(principal.project_id),
        )
        result = await self._schema.execute(
            params["query"],
            variable_values=params.get("variables"),
            context_value=context,
            operation_name=params.get("operationName"),
        )
        body: dict[str, Any] = {}
        errors = [format_error(e) for e in result.errors or ()] + context.extra_errors
        if errors:
            body["errors"] = errors
        body["data"] = result.data
        request_failed = result.data is None and bool(result.errors)
        status = 400 if request_failed and all(not e.path for e in result.errors or ()) else 200
        return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _wants_html(request: Request) -> bool:
    return "query" not in request.query_params and "text/html" in request.headers.get("accept", "")


async def _read_params(request: Request) -> dict[str, Any]:
    """``query``, ``variables`` and ``operationName`` from a POST body or GET query string."""
    if request.method == "GET":
        raw: dict[str, Any] = dict(request.query_params)
        if "variables" in raw:
            try:
                raw["variables"] = orjson.loads(raw["variables"])
            except orjson.JSONDecodeError as exc:
                raise ValueError("variables must be a JSON object") from exc
    else:
        try:
            raw = orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise ValueError("the body must be JSON: {query, variables, operationName}") from exc
    if not isinstance(raw, dict):
        raise ValueError("the body must be a JSON object")
    if not isinstance(raw.get("query"), str) or not raw["query"].strip():
        raise ValueError("query must be a non-empty string")
    if raw.get("variables") is not None and not isinstance(raw["variables"], dict):
        raise ValueError("variables must be a JSON object")
    if raw.get("operationName") is not None and not isinstance(raw["operationName"], str):
        raise ValueError("operationName must be a string")
    return raw


def _errors(
    status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}], "data": None}
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def _refused(error: GatewayError) -> Response:
    """A caller refused before execution: REST's status and headers, GraphQL's body."""
    return _errors(error.status_code, error.message, error.code, error.headers or None)
