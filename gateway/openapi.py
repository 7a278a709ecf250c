"""OpenAPI 3.1 document of the REST path, served at /openapi.json."""

from __future__ import annotations

from typing import Any

from gateway.listing.types import PageSize, SourceStatus
from gateway.platforms.base import AdSetStatus, Platform

_ID_PATTERN = "^{prefix}_[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{{1,26}}$"


def _id(prefix: str, description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": _ID_PATTERN.format(prefix=prefix),
        "description": description,
    }


def _list_param(name: str, values: list[str], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description
        + " Repeat the parameter (`status=active&status=paused`) or separate values with "
        "commas (`status=active,paused`); both forms may be mixed.",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string", "enum": values}},
    }


def _nullable(schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """``schema`` or null, as ``anyOf: [schema, {"type": "null"}]``.

    The field stays in ``required``: it is always present, its value may be null. JSON Schema
    reads ``"type": [..., "null"]`` the same way, but GraphQL Mesh / Hive Gateway
    (``@omnigraph/openapi``) drops that ``null`` and types a required field non-null (one error
    per row of a composed page); both Mesh and openapi-typescript read this form as nullable.
    The description goes on the wrapper, where both tools look for it.
    """
    out: dict[str, Any] = {"anyOf": [schema, {"type": "null"}]}
    if description is not None:
        out["description"] = description
    return out


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


MONEY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["amount", "currency"],
    "additionalProperties": False,
    "properties": {
        "amount": {"type": "number", "description": "Major units (75.0 = 75 dollars)."},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    },
}
AGE_RANGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["min", "max"],
    "properties": {
        "min": {"type": "integer"},
        "max": _nullable({"type": "integer"}, "null: no upper bound."),
    },
}
_TIME = {"type": "string", "format": "date-time", "pattern": "Z$"}
_STRINGS = {"type": "array", "items": {"type": "string"}}

ADSET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "adsetId",
        "campaignId",
        "adAccountId",
        "platform",
        "externalId",
        "name",
        "status",
        "optimizationGoal",
        "billingEvent",
        "dailyBudget",
        "lifetimeBudget",
        "startTime",
        "endTime",
        "targetingSummary",
        "createdAt",
        "metricsSnapshot7d",
    ],
    "properties": {
        "adsetId": _id("adg", "The ad set's ID (GraphQL Node.id)."),
        "campaignId": _id("cmp", "The parent campaign's ID."),
        "adAccountId": _id("aa", "The owning ad account's ID."),
        "platform": {"type": "string", "enum": [p.value for p in Platform]},
        "externalId": {"type": "string", "description": "The platform's own ID."},
        "name": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in AdSetStatus]},
        "optimizationGoal": _nullable(
            {"type": "string"}, "Platform-native, lowercased (Apple: the bid strategy goal)."
        ),
        "billingEvent": _nullable(
            {"type": "string"}, "Platform-native, lowercased (Apple: the pricing model)."
        ),
        "dailyBudget": _nullable(_ref("Money")),
        "lifetimeBudget": _nullable(_ref("Money")),
        "startTime": _nullable(_TIME),
        "endTime": _nullable(_TIME, "null: runs indefinitely."),
        "targetingSummary": {
            "type": "object",
            "additionalProperties": False,
            "required": ["geo", "age", "customAudiences", "placements"],
            "properties": {
                "geo": _STRINGS,
                "age": _nullable(_ref("AgeRange")),
                "customAudiences": _STRINGS,
                "placements": _STRINGS,
            },
        },
        "createdAt": _nullable(_TIME),
        "metricsSnapshot7d": {"type": "object", "maxProperties": 0},
    },
}

SOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["platform", "adAccountId", "status", "code", "retryAfter"],
    "description": "One ad account asked for this page and how it answered.",
    "properties": {
        "platform": {"type": "string", "enum": [p.value for p in Platform]},
        "adAccountId": _id("aa", "The ad account."),
        "status": {
            "type": "string",
            "enum": [s.value for s in SourceStatus],
            "description": "failed and throttled accounts come later in the walk (the cursor "
            "comes back for them); a refused account (credentials rejected, no access) has "
            "left the walk: its remaining rows are not listed.",
        },
        "code": _nullable({"type": "string"}, "Why it is not ok."),
        "retryAfter": _nullable(
            {"type": "number"},
            "Seconds to wait before this account is worth asking again (the platform's regain "
            "time or the gateway's cool-down); null when ok or refused.",
        ),
    },
}

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable code."},
                "message": {"type": "string", "description": "For humans; may change."},
                "param": {"type": "string", "description": "The offending parameter (400)."},
                "platform": {"type": "string", "description": "The failing platform (502/503)."},
                "reason": {"type": "string", "description": "502: the upstream failure's code."},
                "requestId": {
                    "type": "string",
                    "description": "The request's id, as in its X-Request-ID header and the "
                    "gateway's log line for it.",
                },
                "sources": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Source"},
                    "description": "502/503: every ad account asked, and how it answered.",
                },
            },
        }
    },
}

_ERRORS = {
    "400": (
        "Invalid parameter. Codes: invalid_limit, invalid_platform, invalid_status, invalid_id, "
        "invalid_allow_partial, unknown_parameter, duplicate_parameter."
    ),
    "401": (
        "Missing, unknown, revoked or expired API key (code unauthenticated); see WWW-Authenticate."
    ),
    "403": "The key lacks the ads:read scope (code forbidden).",
    "404": "Unknown project, or one the key does not belong to (code not_found).",
    "429": (
        "The key's or the project's request rate is spent (code rate_limited); see Retry-After, "
        "RateLimit-Policy and RateLimit."
    ),
    "502": "An ad account failed and allowPartial was not set (code upstream_unavailable); "
    "sources names the accounts. No rows are returned rather than an incomplete page.",
    "503": (
        "Ad accounts were throttled (code upstream_throttled; see Retry-After and sources), "
        "or the gateway's database is unreachable (code store_unavailable)."
    ),
}


#: Every error code the gateway answers with, REST and GraphQL (``extensions.code``) alike;
#: published as ``x-error-codes`` and mirrored in the README.
ERROR_CODES: dict[str, str] = {
    "invalid_limit": "400: limit (REST) or first (GraphQL) is not a whole number from 1 to 200.",
    "invalid_platform": "400: platforms names an unknown platform.",
    "invalid_status": "400: status names an unknown status.",
    "invalid_id": "400: an ID is not of the expected kind or form.",
    "invalid_allow_partial": "400: allowPartial is not true or false.",
    "invalid_cursor": "400: a signed cursor holds a resume token its platform cannot read.",
    "unknown_parameter": "400: a query parameter the operation does not take.",
    "duplicate_parameter": "400: a parameter given more than once.",
    "unauthenticated": "401: no API key, or an unknown, revoked or expired one.",
    "forbidden": "403: the key lacks the ads:read scope.",
    "not_found": "404: unknown project or route, or a project of another key.",
    "method_not_allowed": "405: the route does not take this method (see Allow).",
    "payload_too_large": "413: a request body over 256 KiB.",
    "unsupported_media_type": "415: POST /graphql with a body that is not JSON.",
    "rate_limited": "429: the key's or the project's request rate is spent; see Retry-After.",
    "internal_error": "500: an unexpected error; the message says nothing of its cause.",
    "config_invalid": "500: the configuration cannot be used (start-up and command line).",
    "upstream_unavailable": "502: an ad account failed (reason: how; sources: every account).",
    "upstream_auth_failed": "502 reason / source code: the platform rejected our credentials.",
    "upstream_forbidden": "502 reason / source code: our credentials lack access.",
    "upstream_not_found": "502 reason / source code: the platform does not know the account.",
    "upstream_bad_request": "502 reason / source code: the platform rejected our request.",
    "upstream_malformed": "502 reason / source code: the platform's answer was not its shape.",
    "upstream_throttled": "503: ad accounts were throttled; see Retry-After.",
    "store_unavailable": "503: the gateway's database cannot be reached.",
    "bad_request": "GraphQL 400: the body is not JSON {query, variables, operationName}.",
    "graphql_invalid": "GraphQL 400: a syntax or validation error.",
    "invalid_variables": "GraphQL 400: a variable missing or of the wrong type.",
    "unknown_operation": "GraphQL 400: operationName names no operation of the document.",
    "operation_name_required": "GraphQL 400: several operations and no operationName.",
    "document_too_large": "GraphQL 400: a document over 100,000 characters.",
    "too_many_tokens": "GraphQL 400: a document over 2,000 tokens.",
    "query_too_deep": "GraphQL 400: nesting deeper than 10.",
    "too_many_aliases": "GraphQL 400: more than 30 aliases.",
    "query_too_costly": "GraphQL: more than 5 listings in one request.",
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of ``GET /v1/projects/{projectId}/ads/adsets``."""
    error_ref = {"$ref": "#/components/schemas/Error"}
    responses: dict[str, Any] = {
        "200": {
            "description": "A page of ad sets.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AdSetPage"}}},
        }
    }
    for status, description in _ERRORS.items():
        responses[status] = {
            "description": description,
            "content": {"application/json": {"schema": error_ref}},
        }
    for status in ("429", "502", "503"):
        responses[status]["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        }
    responses["401"]["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string", "const": "Bearer"}}
    }
    return {
        "openapi": "3.1.0",
        "x-error-codes": ERROR_CODES,
        "info": {
            "title": "Ad-platform gateway",
            "version": "1.0.0",
            "description": "Lists ad sets across Meta, TikTok and Apple in one shape.",
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/projects/{projectId}/ads/adsets": {
                "get": {
                    "operationId": "listAdSets",
                    "summary": "List ad sets across platforms",
                    "description": (
                        "Lists every ad set under the project's connected ad accounts, across "
                        "platforms. Soft-deleted ad sets are included unless `status` filters "
                        "them out. Pages follow the ad accounts' order, then each platform's "
                        "own order."
                    ),
                    "parameters": [
                        {
                            "name": "projectId",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                            "description": "Project to list within (prj_...).",
                        },
                        {
                            "name": "campaignId",
                            "in": "query",
                            "required": False,
                            "schema": _id("cmp", "Only ad sets of this campaign."),
                        },
                        _list_param(
                            "platforms",
                            [p.value for p in Platform],
                            "Only these platforms.",
                        ),
                        {
                            "name": "adAccountId",
                            "in": "query",
                            "required": False,
                            "schema": _id("aa", "Only ad sets of this ad account."),
                        },
                        _list_param(
                            "status",
                            [s.value for s in AdSetStatus],
                            "Only these normalized statuses.",
                        ),
                        {
                            "name": "cursor",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": (
                                "Opaque cursor (nextCursor). Forged, malformed or foreign "
                                "cursors are treated as no cursor (first page)."
                            ),
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "integer",
                                "minimum": PageSize.MIN,
                                "maximum": PageSize.MAX,
                                "default": PageSize.DEFAULT,
                            },
                            "description": PageSize.describe(),
                        },
                        {
                            "name": "allowPartial",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "boolean", "default": False},
                            "description": (
                                "Opt in to partial pages (an extension of the contract): when an "
                                "ad account fails or is throttled, return the other accounts' "
                                "rows with 200, list every account asked in `sources`, and let "
                                "`nextCursor` come back for the skipped accounts after the "
                                "others. Without it such a page fails with 502/503."
                            ),
                        },
                    ],
                    "responses": responses,
                }
            }
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key with the ads:read scope.",
                }
            },
            "schemas": {
                "AdSet": ADSET_SCHEMA,
                "AdSetPage": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["items", "nextCursor"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/AdSet"},
                        },
                        "nextCursor": _nullable(
                            {"type": "string"}, "Pass as cursor for the next page; null at the end."
                        ),
                        "sources": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Source"},
                            "description": "Only with allowPartial=true.",
                        },
                    },
                },
                "Money": MONEY_SCHEMA,
                "AgeRange": AGE_RANGE_SCHEMA,
                "Source": SOURCE_SCHEMA,
                "Error": ERROR_SCHEMA,
            },
        },
    }
