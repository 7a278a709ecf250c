"""A document the schema has parsed and validated before runs straight on graphql-core
(``GatewaySchema.execute``): the same answers, errors and logs as Strawberry's way, which
the first execution of each document takes."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from strawberry.types import ExecutionResult

from gateway.schema import GatewaySchema, build_schema
from gateway.schema.executor import dumps_result
from tests.gateway.conftest import PROJECT, Gateway

PAGE = """
query Page($projectId: ID!, $first: Int) {
  adSets(projectId: $projectId, first: $first) {
    pageInfo { hasNextPage }  # (the end cursor carries the sizes learnt since)
    edges { node { id name startTime campaign { name } adAccount { name } } }
  }
}
"""
TWO_OPERATIONS = """
query First { __typename }
query Second($id: ID!) { node(id: $id) { id } }
"""


def answer(result: ExecutionResult) -> tuple[bytes, list[Any]]:
    return dumps_result(result.data), [error.formatted for error in result.errors or ()]


class Pipelines:
    """Counts the executions that went through Strawberry's pipeline (its extensions are
    built once for each)."""

    def __init__(self, schema: GatewaySchema, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        built = schema.get_extensions

        def counting(sync: bool = False) -> Any:
            self.count += 1
            return built(sync)

        monkeypatch.setattr(schema, "get_extensions", counting)


CASES: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "a page": (PAGE, {"projectId": PROJECT, "first": 5}, None),
    "a field that fails": (PAGE, {"projectId": "prj_00000000000000000000000000"}, None),
    "a variable that cannot be coerced": (PAGE, {"projectId": PROJECT, "first": "five"}, None),
    "a missing variable": (PAGE, {}, None),
    "the operation named": (TWO_OPERATIONS, {"id": "adg_nothing"}, "Second"),
}


@pytest.mark.parametrize(("document", "variables", "operation"), CASES.values(), ids=list(CASES))
async def test_a_known_document_answers_as_it_did_the_first_time(
    gateway: Gateway,
    monkeypatch: pytest.MonkeyPatch,
    document: str,
    variables: dict[str, Any],
    operation: str | None,
) -> None:
    schema = build_schema()
    pipelines = Pipelines(schema, monkeypatch)

    async def run() -> ExecutionResult:
        return await schema.execute(
            document,
            variable_values=variables,
            context_value=gateway.reader_context(),
            operation_name=operation,
        )

    first = await run()
    # when the same document comes again: no pipeline, the same answer
    again, third = await run(), await run()
    assert pipelines.count == 1
    assert answer(again) == answer(first)
    assert answer(third) == answer(first)
    # and the reference: graphql-core's own executor through Strawberry's pipeline
    reference = build_schema(fast=False)
    assert answer(
        await reference.execute(
            document,
            variable_values=variables,
            context_value=gateway.reader_context(),
            operation_name=operation,
        )
    ) == answer(first)


@pytest.mark.parametrize(
    ("document", "operation"),
    [
        ("{ adSets { nope } }", None),  # invalid: validation errors every time
        (TWO_OPERATIONS, None),  # two operations and no name: Strawberry's own error
        (TWO_OPERATIONS, "Third"),  # no such operation
    ],
    ids=["invalid", "no-operation-named", "unknown-operation"],
)
async def test_a_document_strawberry_must_judge_takes_its_pipeline_every_time(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, document: str, operation: str | None
) -> None:
    schema = build_schema()
    pipelines = Pipelines(schema, monkeypatch)
    outcomes: list[object] = []
    for _ in range(2):
        try:
            result = await schema.execute(
                document, context_value=gateway.reader_context(), operation_name=operation
            )
        except Exception as exc:  # Strawberry raises for an operation it cannot pick
            outcomes.append(type(exc).__name__)
        else:
            outcomes.append(answer(result))
    assert pipelines.count == 2
    assert outcomes[0] == outcomes[1]


async def test_errors_of_a_known_document_are_logged_each_time(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    schema = build_schema()
    variables = {"projectId": "prj_00000000000000000000000000"}
    with caplog.at_level(logging.INFO, logger="gateway.graphql"):
        for _ in range(2):
            result = await schema.execute(
                PAGE, variable_values=variables, context_value=gateway.reader_context()
            )
            assert result.errors
    lines = [r.getMessage() for r in caplog.records if r.name == "gateway.graphql"]
    assert len(lines) == 2
    assert lines[0] == lines[1]
