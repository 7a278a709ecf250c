"""Graph's ``fields`` parameter: parsing, checking against a node type, and projection."""

from __future__ import annotations

import re

from starlette.requests import Request

from gateway.sandbox.meta.errors import bad_param
from gateway.sandbox.meta.seed import Node

NODE_FIELDS = {
    "AdSet": frozenset(
        {
            "id", "name", "campaign_id", "account_id", "status", "configured_status",
            "effective_status", "daily_budget", "lifetime_budget", "budget_remaining",
            "bid_amount", "bid_strategy", "billing_event", "optimization_goal",
            "destination_type", "start_time", "end_time", "created_time", "updated_time",
            "targeting", "promoted_object", "learning_stage_info", "issues_info",
            "adlabels", "bid_constraints", "bid_info",
        }
    ),
    "Campaign": frozenset(
        {
            "id", "name", "account_id", "objective", "status", "configured_status",
            "effective_status", "daily_budget", "lifetime_budget", "bid_strategy",
            "buying_type", "special_ad_categories", "start_time", "stop_time",
            "created_time", "updated_time", "adlabels", "boosted_object_id",
            "budget_rebalance_flag", "budget_remaining", "issues_info", "smart_promotion_type",
            "source_campaign_id", "special_ad_category", "special_ad_category_country",
            "spend_cap",
        }
    ),
    "AdAccount": frozenset(
        {
            "id", "account_id", "name", "currency", "timezone_name",
            "timezone_offset_hours_utc", "timezone_id", "account_status", "amount_spent",
            "spend_cap",
        }
    ),
    "User": frozenset({"id", "name"}),
    "BusinessUser": frozenset({"id", "name", "email", "role", "business"}),
}  # fmt: skip


FieldSpec = dict[str, "FieldSpec | None"]


def parse_fields(text: str) -> FieldSpec:
    """``"id,name,targeting{age_min,geo_locations}"`` -> ``{"id": None, ..., "targeting":
    {"age_min": None, "geo_locations": None}}``."""
    spec, rest = _parse_field_list(text.replace(" ", ""), 0)
    if rest != len(text.replace(" ", "")):
        raise bad_param("Syntax error in fields")
    return spec


def _parse_field_list(text: str, i: int) -> tuple[FieldSpec, int]:
    spec: FieldSpec = {}
    while i < len(text) and text[i] != "}":
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, i)
        if match is None:
            raise bad_param("Syntax error in fields")
        name, i = match.group(), match.end()
        sub: FieldSpec | None = None
        if i < len(text) and text[i] == "{":
            sub, i = _parse_field_list(text, i + 1)
            if i >= len(text) or text[i] != "}":
                raise bad_param("Syntax error in fields")
            i += 1
        spec[name] = sub
        if i < len(text) and text[i] == ",":
            i += 1
    return spec, i


def node_fields(request: Request, node_type: str) -> FieldSpec:
    """The request's ``fields``, each checked to exist on ``node_type``."""
    raw = request.query_params.get("fields")
    spec = parse_fields(raw) if raw else {}
    known = NODE_FIELDS[node_type]
    for name in spec:
        if name not in known:
            raise bad_param(
                f"Tried accessing nonexisting field ({name}) on node type ({node_type})"
            )
    return spec


def project(node: Node, spec: FieldSpec) -> Node:
    """The requested fields of ``node`` (``id`` always); absent values are left out."""
    out: Node = {"id": node["id"]}
    for name, sub in spec.items():
        if name not in node:
            continue
        value = node[name]
        if sub is not None and isinstance(value, dict):
            value = {k: value[k] for k in sub if k in value}
        out[name] = value
    return out
