"""Cursors crafted with the signing secret: every one means the first page or a valid position,
through REST and GraphQL, and no crafted resume token ever reaches a platform."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cursors import scope_fingerprint
from gateway.listing.types import ListFilters
from gateway.platforms.base import Platform
from gateway.platforms.tokens import is_resume_token
from tests.gateway.conftest import PROJECT, Gateway

PAGE = """
query Page($projectId: ID!, $after: String) {
  adSets(projectId: $projectId, first: 20, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id } }
  }
}
"""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign(secret: bytes, payload: Any) -> str:
    """A cursor for any JSON ``payload`` (stdlib JSON: integers of any size), signed as the
    gateway signs its own."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = hmac.new(secret, body, hashlib.sha256).digest()[:16]
    return f"{_b64(body)}.{_b64(signature)}"


def unfiltered_scope(gateway: Gateway) -> tuple[str, list[Platform]]:
    """The scope of the unfiltered listing and the platform of each of its accounts."""
    service = gateway.app.state.runtime.service
    accounts = service.scoped_accounts(gateway.settings.project(PROJECT))
    parts = [PROJECT, *ListFilters().fingerprint_parts(), *(a.public_id for a in accounts)]
    return scope_fingerprint(parts), [a.ref.platform for a in accounts]


def index_of(platforms: list[Platform], platform: Platform) -> int:
    return platforms.index(platform)


def crafted_payloads(scope: str, platforms: list[Platform]) -> dict[str, Any]:
    """Payloads that pass the signature but are not positions the gateway could have made."""
    n = len(platforms)
    meta, tiktok, apple = (index_of(platforms, p) for p in Platform)
    unknown: list[int | None] = [None] * n

    def at(index: int, token: Any, consumed: Any = 0, totals: Any = unknown) -> dict[str, Any]:
        return {"v": 1, "s": scope, "q": [[index, token, consumed]], "n": totals}

    return {
        "superscript skip": at(meta, "|²"),
        "superscript tiktok offset": at(tiktok, "o²"),
        "superscript apple offset": at(apple, "0:²"),
        "index past the scope": {**at(n + 2, None), "n": [None] * (n + 5)},
        "offset 10^30 apple": at(apple, "0:" + "1" * 31),
        "offset 10^30 tiktok": at(tiktok, "o" + "1" * 31),
        "consumed 10^30": at(meta, None, 10**30),
        "total 10^30": at(meta, None, 0, [10**30] * n),
        "negative total": at(meta, None, 0, [-5] * n),
        "meta injection": at(meta, "x&access_token=evil#|0"),
        "tiktok injection": at(tiktok, "o1&access_token=evil#"),
        "apple injection": at(apple, "0:1&access_token=evil#"),
        "meta token on tiktok": at(tiktok, "QVFIUmN4ZGt2|3"),
        "apple phase 9": at(apple, "9:0"),
        "queue is a string": {"v": 1, "s": scope, "q": "abc", "n": unknown},
        "totals is an object": {"v": 1, "s": scope, "q": [], "n": {"a": 1}},
        "index is a string": at(0, None, 0) | {"q": [["0", None, 0]]},
        "index is a bool": at(0, None, 0) | {"q": [[True, None, 0]]},
        "index is a float": at(0, None, 0) | {"q": [[0.5, None, 0]]},
        "token is a number": at(meta, 12),
        "totals are bools": at(meta, None, 0, [True] * n),
        "stop is an object": at(0, None) | {"q": [{"a": 1, "b": 2, "c": 3}]},
        "payload is a list": [1, scope, [], []],
        "payload is not JSON": b"\xff\xfe not json",
        "huge token": at(meta, "A" * 3_000 + "|0"),
    }


def upstream_queries(gateway: Gateway) -> str:
    return " ".join(e.query for c in gateway.suite.controls.values() for e in c.log.entries)


@pytest.mark.parametrize("case", sorted(crafted_payloads("s", list(Platform))))
async def test_a_crafted_cursor_means_the_first_page_over_rest(gateway: Gateway, case: str) -> None:
    scope, platforms = unfiltered_scope(gateway)
    first = await gateway.rest({"limit": "20"})
    assert first.status_code == 200
    cursor = sign(gateway.settings.cursor_secret, crafted_payloads(scope, platforms)[case])
    response = await gateway.rest({"limit": "20", "cursor": cursor})
    assert response.status_code == 200, response.text
    # the first page's rows (its cursor may differ: it carries the totals learned so far)
    assert response.json()["items"] == first.json()["items"]
    assert "evil" not in upstream_queries(gateway)


@pytest.mark.parametrize("case", sorted(crafted_payloads("s", list(Platform))))
async def test_a_crafted_cursor_means_the_first_page_over_graphql(
    gateway: Gateway, case: str
) -> None:
    scope, platforms = unfiltered_scope(gateway)
    first = (await gateway.graphql(PAGE, {"projectId": PROJECT})).json()
    assert "errors" not in first
    cursor = sign(gateway.settings.cursor_secret, crafted_payloads(scope, platforms)[case])
    response = await gateway.graphql(PAGE, {"projectId": PROJECT, "after": cursor})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    assert body["data"]["adSets"]["edges"] == first["data"]["adSets"]["edges"]
    assert "evil" not in upstream_queries(gateway)


async def test_a_well_formed_cursor_still_continues_the_walk(gateway: Gateway) -> None:
    first = (await gateway.rest({"limit": "20"})).json()
    second = (await gateway.rest({"limit": "20", "cursor": first["nextCursor"]})).json()
    ids = [i["adsetId"] for i in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 40


TOKENS = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["|0", "QVFI|2", "o0", "o40", "0:0", "1:3;5,2", "0:5;", "x&a=b#|0"]),
    st.builds(lambda n: f"o{n}", st.integers(-5, 10**9)),
    st.builds(lambda n: f"|{n}", st.integers(-5, 10**6)),
    st.builds(lambda p, n: f"{p}:{n}", st.integers(0, 3), st.integers(-5, 10**9)),
)


def _opaque_meta_after(platforms: list[Platform], index: int, token: str | None) -> bool:
    return (
        0 <= index < len(platforms)
        and platforms[index] is Platform.META_ADS
        and token is not None
        and is_resume_token(Platform.META_ADS, token)
        and not token.startswith("|")
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    stops=st.lists(
        st.tuples(st.integers(-1, 12), TOKENS, st.integers(-1, 2000)), min_size=1, max_size=3
    ),
    totals=st.one_of(st.none(), st.integers(-1, 2000)),
)
async def test_any_signed_position_gives_a_valid_page(
    gateway: Gateway, stops: list[tuple[int, str | None, int]], totals: int | None
) -> None:
    scope, platforms = unfiltered_scope(gateway)
    payload = {"v": 1, "s": scope, "q": stops, "n": [totals] * len(platforms)}
    cursor = sign(gateway.settings.cursor_secret, payload)
    response = await gateway.rest({"limit": "50", "cursor": cursor})
    if response.status_code == 502 and any(
        _opaque_meta_after(platforms, index, token) for index, token, _ in stops
    ):
        # A well-formed Meta ``after`` is Meta's own opaque text: the gateway cannot tell a
        # made-up one from a real one, and Meta's refusal of it is reported like any other.
        sources = response.json()["error"]["sources"]
        assert {s["code"] for s in sources} == {"upstream_bad_request"}
        return
    assert response.status_code == 200, response.text
    ids = [item["adsetId"] for item in response.json()["items"]]
    assert len(ids) == len(set(ids))
    assert "access_token" not in upstream_queries(gateway)
