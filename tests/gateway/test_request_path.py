"""The layers every request passes: one authentication per request, headers set in one pass,
and the answer's head exactly as clients have always received it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import MutableHeaders

from gateway.auth import Authenticator, Principal
from gateway.middleware import set_headers
from tests.gateway.conftest import AUTH, Gateway

_NAMES = st.sampled_from([b"a", b"b", b"content-type", b"x-request-id"])
_HEADERS = st.lists(st.tuples(_NAMES, st.binary(max_size=3)), max_size=6)


@given(existing=_HEADERS, wanted=_HEADERS)
def test_set_headers_sets_as_mutable_headers_does(
    existing: list[tuple[bytes, bytes]], wanted: list[tuple[bytes, bytes]]
) -> None:
    message: dict[str, Any] = {"type": "http.response.start", "headers": list(existing)}
    set_headers(message, wanted)
    expected: dict[str, Any] = {"type": "http.response.start", "headers": list(existing)}
    for name, value in wanted:
        MutableHeaders(scope=expected)[name.decode("latin-1")] = value.decode("latin-1")
    assert message["headers"] == expected["headers"]


async def test_a_request_authenticates_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolved: list[str | None] = []
    principal = Authenticator._principal

    async def counting(self: Authenticator, authorization: str | None) -> Principal:
        resolved.append(authorization)
        return await principal(self, authorization)

    monkeypatch.setattr(Authenticator, "_principal", counting)
    assert (await gateway.rest({"limit": 1})).status_code == 200
    assert resolved == [AUTH["Authorization"]]
    response = await gateway.graphql("{ __typename }")
    assert response.status_code == 200
    assert resolved == [AUTH["Authorization"]] * 2


async def test_a_refused_key_is_refused_by_the_endpoint(gateway: Gateway) -> None:
    response = await gateway.rest(headers={"Authorization": "Bearer lp_test_unknown"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert "ratelimit" not in response.headers


async def test_the_answer_head_keeps_its_headers_in_order(gateway: Gateway) -> None:
    response = await gateway.rest({"limit": 2})
    assert response.status_code == 200
    names = [name.decode() for name, _ in response.headers.raw]
    assert names == [
        "content-length",
        "content-type",
        "ratelimit-policy",
        "ratelimit",
        "x-content-type-options",
        "x-request-id",
    ]
    assert response.headers["x-content-type-options"] == "nosniff"
    error = await gateway.rest({"limit": 0})
    assert [name.decode() for name, _ in error.headers.raw] == names
