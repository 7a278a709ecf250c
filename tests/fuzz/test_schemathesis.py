"""Schemathesis against the served documents, in process: the REST path from ``/openapi.json``
and GraphQL from its schema (introspected, as a client would). Bounded: ``FUZZ_EXAMPLES``
(default 50) per operation. Every answer must be free of server errors and conform to what
the documents say: status codes, headers, content types and body schemas."""

from __future__ import annotations

import os
import zlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.openapi import ERROR_CODES
from gateway.sandbox.suite import DEMO_PROJECT_ID, SandboxSuite

KEY = "lp_test_key_for_fuzzing"
AUTH = {"Authorization": f"Bearer {KEY}"}
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same examples on every run: a CI failure reproduces locally
)

_SUITE = SandboxSuite.build()


def fresh_app() -> Starlette:
    return create_app(_SUITE.settings(key=KEY), transport=_SUITE.transport())


# The documents are read from one app; each test calls an app of its own, because schemathesis
# ends an ASGI app's lifespan (closing its store) when the test that started it ends.
rest = schemathesis.openapi.from_asgi("/openapi.json", fresh_app())
graphql = schemathesis.graphql.from_asgi("/graphql", fresh_app(), headers=AUTH)


@pytest.fixture
def app() -> Starlette:
    return fresh_app()


@rest.parametrize()
@FUZZ
def test_rest_answers_conform_and_never_fail(case: schemathesis.Case[Any], app: Starlette) -> None:
    # Half the project IDs are the demo project's, so listings run, not only 404s.
    if case.path_parameters and zlib.crc32(repr(case.query).encode()) % 2:
        case.path_parameters["projectId"] = DEMO_PROJECT_ID
    case.call_and_validate(headers=AUTH, app=app)


@graphql.parametrize()
@FUZZ
def test_graphql_answers_conform_and_never_fail(
    case: schemathesis.Case[Any], app: Starlette
) -> None:
    # Schemathesis counts any field error as a server error; ours are documented answers
    # (an unknown project, a page size out of bounds), so the checks here are the contract's:
    # no 5xx, a JSON object with data, and every error code a documented one, never internal.
    response = case.call(headers=AUTH, app=app)
    assert response.status_code < 500, response.text
    body = response.json()
    assert isinstance(body, dict) and "data" in body
    codes = {e["extensions"]["code"] for e in body.get("errors", ())}
    assert "internal_error" not in codes
    assert codes <= set(ERROR_CODES), codes
