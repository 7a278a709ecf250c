"""The bench's check of openapi-typescript's output (``bench.peer``) flags a nullable field
generated optional, without ``| null`` or not at all, and passes the forms that are right."""

from __future__ import annotations

from bench.peer import nullable_fields, typescript_misreadings
from gateway.openapi import openapi_document

GENERATED = """
export interface components {
    schemas: {
        Page: {
            /** @description Pass as cursor. */
            next: string | null;
            budget: {
                /** @description Major units. */
                amount: number;
                currency: string;
            } | null;
            age: components["schemas"]["Range"] | null;
            optional?: string | null;
            plain: string;
            opened: {
                amount: number | null;
            };
        };
        Range: {
            max: number | null;
        };
    };
}
"""


def test_required_t_or_null_passes_on_one_line_and_over_several() -> None:
    fields = [("Page", "next"), ("Page", "budget"), ("Page", "age"), ("Range", "max")]
    assert typescript_misreadings(GENERATED, fields) == []


def test_an_optional_a_non_null_and_a_missing_field_are_flagged() -> None:
    fields = [("Page", "optional"), ("Page", "plain"), ("Page", "absent"), ("Nowhere", "max")]
    wrong = typescript_misreadings(GENERATED, fields)
    assert wrong == [
        "Page.optional: optional?: string | null;",
        "Page.plain: plain: string;",
        "Page.absent: not found",
        "Nowhere.max: not found",
    ]


def test_an_object_that_is_not_null_with_a_nullable_field_inside_is_flagged() -> None:
    assert typescript_misreadings(GENERATED, [("Page", "opened")]) != []


def test_every_nullable_field_of_the_document_is_found_in_either_form() -> None:
    found = set(nullable_fields(openapi_document()))
    assert found == {
        ("AdSet", name)
        for name in (
            "optimizationGoal", "billingEvent", "dailyBudget", "lifetimeBudget",
            "startTime", "endTime", "age", "createdAt",
        )
    } | {("AgeRange", "max"), ("AdSetPage", "nextCursor"), ("Source", "code"),
         ("Source", "retryAfter")}  # fmt: skip
    listed = {"components": {"schemas": {"S": {"properties": {"a": {"type": ["string", "null"]}}}}}}
    assert nullable_fields(listed) == [("S", "a")]
