"""How /openapi.json says "present, possibly null": every such field is required and its schema
is ``anyOf: [<the value's schema>, {"type": "null"}]``.

JSON Schema reads ``"type": ["string", "null"]`` the same way, but GraphQL Mesh / Hive Gateway
(``@omnigraph/openapi``) drops the ``null`` and types a required field non-null, so a composed
gateway answered one error per row; openapi-typescript reads both forms as ``T | null``. The
``anyOf`` form is the one both read right (checked against the real tools by ``bench.peer``)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from gateway.openapi import openapi_document

NULL = {"type": "null"}

#: (schema path, property): every field of the document whose value may be null.
NULLABLE = {
    ("AdSet", "optimizationGoal"),
    ("AdSet", "billingEvent"),
    ("AdSet", "dailyBudget"),
    ("AdSet", "lifetimeBudget"),
    ("AdSet", "startTime"),
    ("AdSet", "endTime"),
    ("AdSet", "createdAt"),
    ("AdSet.targetingSummary", "age"),
    ("AgeRange", "max"),
    ("AdSetPage", "nextCursor"),
    ("Source", "code"),
    ("Source", "retryAfter"),
}

ITEM: dict[str, Any] = {
    "adsetId": "adg_Q211ZWKW85RPZ61Y1RWW3PHFET",
    "campaignId": "cmp_B5G3K8TJCWBJD1WAY0XQ5AQ2NH",
    "adAccountId": "aa_11VSD1W0A0P197SFQ6R6BYCHPS",
    "platform": "meta_ads",
    "externalId": "120210000000623207",
    "name": "EN markets 21-54",
    "status": "archived",
    "optimizationGoal": "lead_generation",
    "billingEvent": "impressions",
    "dailyBudget": {"amount": 305.0, "currency": "USD"},
    "lifetimeBudget": {"amount": 3250.0, "currency": "USD"},
    "startTime": "2026-04-14T07:00:00Z",
    "endTime": "2026-04-23T07:00:00Z",
    "targetingSummary": {
        "geo": ["US"],
        "age": {"min": 21, "max": 54},
        "customAudiences": [],
        "placements": ["facebook_feed"],
    },
    "createdAt": "2026-04-13T15:57:27Z",
    "metricsSnapshot7d": {},
}


def _objects(path: str, schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object schema with properties under ``schema``, by a dotted path."""
    if "properties" in schema:
        yield path, schema
        for name, prop in schema["properties"].items():
            yield from _objects(f"{path}.{name}", prop)
    for branch in schema.get("anyOf", ()):
        yield from _objects(path, branch)
    if isinstance(schema.get("items"), dict):
        yield from _objects(path, schema["items"])


def _all_schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _all_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _all_schemas(value)


def _admits_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return (
        kind == "null"
        or (isinstance(kind, list) and "null" in kind)
        or NULL in schema.get("anyOf", ())
    )


def _validator(name: str) -> jsonschema.Draft202012Validator:
    document = openapi_document()
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}", **document})


def test_no_schema_lists_null_among_its_types() -> None:
    # the form Mesh reads as non-null
    listed = [s for s in _all_schemas(openapi_document()) if isinstance(s.get("type"), list)]
    assert listed == []


def test_every_nullable_field_is_required_and_an_anyof_of_its_value_and_null() -> None:
    found = set()
    for name, schema in openapi_document()["components"]["schemas"].items():
        for path, obj in _objects(name, schema):
            for prop, sub in obj["properties"].items():
                if not _admits_null(sub):
                    continue
                found.add((path, prop))
                assert prop in obj.get("required", ()), (path, prop)
                assert set(sub) <= {"anyOf", "description"}, (path, prop, sub)
                value, null = sub["anyOf"]
                assert null == NULL, (path, prop)
                assert not _admits_null(value), (path, prop)
    assert found == NULLABLE


@pytest.mark.parametrize(
    "field", sorted(prop for path, prop in NULLABLE if path == "AdSet"), ids=str
)
def test_a_nullable_ad_set_field_takes_null_and_its_value_but_must_be_present(field: str) -> None:
    validator = _validator("AdSet")
    validator.validate(ITEM)
    validator.validate({**ITEM, field: None})
    missing = {k: v for k, v in ITEM.items() if k != field}
    assert not validator.is_valid(missing)
    wrong = {**ITEM, field: True}
    assert not validator.is_valid(wrong)


def test_the_age_range_and_its_upper_bound_take_null() -> None:
    validator = _validator("AdSet")
    item = copy.deepcopy(ITEM)
    item["targetingSummary"]["age"]["max"] = None
    validator.validate(item)
    item["targetingSummary"]["age"] = None
    validator.validate(item)
    del item["targetingSummary"]["age"]
    assert not validator.is_valid(item)


def test_a_money_value_still_needs_both_parts() -> None:
    validator = _validator("AdSet")
    assert not validator.is_valid({**ITEM, "dailyBudget": {"amount": 1.0}})
    assert not validator.is_valid({**ITEM, "dailyBudget": {"amount": 1.0, "currency": "usd"}})
