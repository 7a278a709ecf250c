"""Every error code the code base can answer with is documented (README and OpenAPI), and
error messages quote at most a short prefix of the client's input."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gateway.errors import QUOTED_PREFIX
from gateway.openapi import openapi_document
from tests.gateway.conftest import AUTH, Gateway

ROOT = Path(__file__).resolve().parents[2]
#: Codes set in class bodies (``code = "..."``) or passed as ``code="..."`` / built as
#: ``GraphQLRequestError("...", ...)``, in the gateway (not the sandboxes, which answer in
#: the platforms' own forms).
_PATTERNS = [
    re.compile(r'\bcode\s*=\s*"([a-z_]+)"'),
    re.compile(r'GraphQLRequestError\(\s*"([a-z_]+)"'),
    re.compile(r'"code":\s*"([a-z_]+)"'),
    re.compile(r'code=f"invalid_\{\'platform\' if name == \'platforms\' else name\}"'),
]
_HTTP_CODES = re.compile(r"_HTTP_CODES = \{([^}]*)\}")


def emitted_codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        if "sandbox" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in _PATTERNS[:3]:
            codes.update(pattern.findall(text))
        if _PATTERNS[3].search(text):
            codes.update({"invalid_platform", "invalid_status"})
        for block in _HTTP_CODES.findall(text):
            codes.update(re.findall(r'"([a-z_]+)"', block))
    codes.discard("gateway_error")  # the base class's, never raised
    codes.discard("upstream_error")  # the base of upstream errors, answered by subclass
    return codes


def test_the_scan_finds_the_codes_it_should() -> None:
    codes = emitted_codes()
    for code in ("invalid_limit", "payload_too_large", "unsupported_media_type", "not_found"):
        assert code in codes


def test_every_code_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = sorted(c for c in emitted_codes() if f"`{c}`" not in readme)
    assert not missing


def test_every_code_is_in_the_openapi_document() -> None:
    document = json.dumps(openapi_document())
    missing = sorted(c for c in emitted_codes() if not re.search(rf"\b{c}\b", document))
    assert not missing


async def test_messages_quote_a_short_prefix_of_the_input(gateway: Gateway) -> None:
    long = "x" * 10_000
    for params in ({long: "1"}, {"platforms": long}, {"status": long}):
        body = (await gateway.rest(params)).text
        assert long[: QUOTED_PREFIX + 1] not in body
        assert "x" * QUOTED_PREFIX + "'…" in json.loads(body)["error"]["message"]
    response = await gateway.http.post(
        "/graphql",
        json={"query": "query A { __typename }", "operationName": long},
        headers=AUTH,
    )
    assert long[: QUOTED_PREFIX + 1] not in response.text
