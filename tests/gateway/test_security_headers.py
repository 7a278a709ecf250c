"""Security headers: the HTML pages cannot be framed or run foreign script; JSON is never
sniffed."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from tests.gateway.conftest import ADSETS, AUTH, Gateway


@pytest.mark.parametrize(
    ("path", "headers"), [("/graphql", {"Accept": "text/html"}), ("/docs", {})]
)
async def test_html_pages_carry_a_strict_policy(
    gateway: Gateway, path: str, headers: dict[str, str]
) -> None:
    response = await gateway.http.get(path, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = dict(
        [*d.split(" ", 1), ""][:2] for d in response.headers["content-security-policy"].split("; ")
    )
    assert policy["default-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["connect-src"] == "'self'"
    # every inline script is allowed by its hash, and nothing but this origin otherwise
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert inline
    allowed = policy["script-src"].split()
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed
    assert set(allowed) - {"'self'"} == {a for a in allowed if a.startswith("'sha256-")}


async def test_json_answers_are_never_sniffed(gateway: Gateway) -> None:
    responses = [
        await gateway.rest({"limit": "1"}),
        await gateway.rest({"limit": "x"}),
        await gateway.http.get(ADSETS),
        await gateway.graphql("{ __typename }"),
        await gateway.http.get("/openapi.json", headers=AUTH),
    ]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff", response.url
