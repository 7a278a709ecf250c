"""Full walks under every upstream fault, and bad client input: no log line, response body or
header carries an upstream token, the API key or a traceback.

Log lines are captured before any redaction (a JSON formatter, no filter), so this proves the
gateway does not write secrets in the first place; the filter is a second line of defence
(tests/observability/test_logs.py).
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from gateway.observability.logs import JsonFormatter
from gateway.platforms.base import Platform
from gateway.sandbox.control import FAULT_KINDS
from gateway.sandbox.suite import SandboxSuite
from tests.apps import gateway_with_deadline
from tests.gateway.conftest import ADSETS, AUTH, KEY, PROJECT

#: Pages each walk may take: the walk need not end (a throttled account stays away), it must
#: only never leak.
MAX_PAGES = 40
PAGE = """query Walk($p: ID!, $after: String) {
  adSets(projectId: $p, first: 40, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    sources { platform adAccountId status code retryAfter }
    edges { cursor node { id name status campaign { name } adAccount { name currency } } }
  }
}"""


class Recorder:
    """Every response's status line, headers and body, and every log line."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.statuses: list[int] = []
        self.log = io.StringIO()

    async def record(self, response: httpx.Response) -> None:
        await response.aread()
        self.statuses.append(response.status_code)
        self.texts.append(f"{response.status_code} {response.headers!r} {response.text}")

    def everything(self) -> Iterator[str]:
        yield from self.texts
        yield from self.log.getvalue().splitlines()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    handler = logging.StreamHandler(recorder.log)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield recorder
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
async def app(suite: SandboxSuite) -> AsyncIterator[Starlette]:
    # a short deadline keeps "slow" faults quick
    async with gateway_with_deadline(suite, 2.0) as app:
        yield app


@pytest.fixture
async def http(app: Starlette, recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway.test",
        event_hooks={"response": [recorder.record]},
    ) as client:
        yield client


def secrets(suite: SandboxSuite) -> set[str]:
    """The sandboxes' credentials (upstream tokens, Apple keys and ids) and the API key."""
    values = {KEY}
    for project in suite.settings(key=KEY).projects:
        for account in project.ad_accounts:
            values.update(v for v in account.credentials.values() if len(v) >= 8)
    return values


def assert_clean(recorder: Recorder, suite: SandboxSuite) -> None:
    hidden = secrets(suite)
    assert recorder.texts
    for text in recorder.everything():
        assert "Traceback" not in text, text
        assert "internal_error" not in text, text
        for secret in hidden:
            assert secret not in text, (secret[:6], text[:400])
    assert 500 not in recorder.statuses


def inject(suite: SandboxSuite, page: int) -> None:
    """One fault on one platform per page, going through every kind on every platform."""
    platform = list(Platform)[page % len(Platform)]
    kind = FAULT_KINDS[(page // len(Platform)) % len(FAULT_KINDS)]
    suite.controls[platform].fail_next(1, kind)


async def test_rest_walks_under_faults_leak_nothing(
    suite: SandboxSuite, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    for partial in ("true", "false"):
        cursor: str | None = None
        for page in range(MAX_PAGES // 2):
            inject(suite, page)
            params = {"limit": "60", "allowPartial": partial}
            if cursor:
                params["cursor"] = cursor
            response = await http.get(ADSETS, params=params, headers=AUTH)
            if response.status_code == 200:
                cursor = response.json()["nextCursor"]
                if cursor is None:
                    break
    assert_clean(recorder, suite)
    assert {200} < set(recorder.statuses)  # faults were met and answered


async def test_graphql_walks_under_faults_leak_nothing(
    suite: SandboxSuite, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    after: str | None = None
    for page in range(MAX_PAGES):
        inject(suite, page)
        response = await http.post(
            "/graphql",
            json={"query": PAGE, "variables": {"p": PROJECT, "after": after}},
            headers=AUTH,
        )
        body = response.json()
        connection = (body.get("data") or {}).get("adSets")
        if connection is None:
            # every account of the page failed: the error names a wait, and the same
            # cursor is asked again on the next round
            assert all("code" in e["extensions"] for e in body["errors"])
            continue
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert_clean(recorder, suite)


def crafted_cursors() -> list[str]:
    forged = base64.urlsafe_b64encode(orjson.dumps({"v": 1, "p": PROJECT, "o": [["x", -5]]}))
    return [
        "",
        "!!!",
        "a" * 5000,
        forged.decode(),
        forged.decode() + ".c2ln",
        "eyJ9.eyJ9.eyJ9",
        "\u00e9\u0000",
    ]


async def test_bad_client_input_leaks_nothing(
    suite: SandboxSuite, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    bad_params: list[list[tuple[str, str]]] = [
        [("limit", "0")],
        [("limit", "1e9")],
        [("platforms", "myspace")],
        [("status", "sleeping")],
        [("campaignId", "cmp_?")],
        [("adAccountId", "../../etc")],
        [("unknown", "1")],
        [("limit", "1"), ("limit", "2")],
        *([("cursor", c)] for c in crafted_cursors()),
    ]
    for pairs in bad_params:
        await http.get(f"{ADSETS}?{urlencode(pairs)}", headers=AUTH)
    await http.get(ADSETS, headers={"Authorization": f"Bearer {KEY}x"})
    await http.get(ADSETS, headers={"Authorization": KEY})
    await http.get(ADSETS, headers={**AUTH, "X-Request-ID": KEY + " <script>"})
    for body in (
        {"query": "{"},
        {"query": "{ nope }"},
        {"query": PAGE, "variables": {"p": 5}},
        {"query": PAGE, "variables": {"p": PROJECT, "after": "!!!"}},
        *({"query": PAGE, "variables": {"p": PROJECT, "after": c}} for c in crafted_cursors()),
        {"query": PAGE, "operationName": "Other", "variables": {"p": PROJECT}},
        {"query": "{" * 500 + "}" * 500},
        {"query": 5},
        {"variables": []},
    ):
        await http.post("/graphql", json=body, headers=AUTH)
    await http.post("/graphql", content=b"\xff\xfe{", headers=AUTH)
    await http.get(
        "/graphql", params={"query": "{ __typename }", "variables": "[oops"}, headers=AUTH
    )
    assert_clean(recorder, suite)
    assert set(recorder.statuses) <= {200, 400, 401, 404, 405, 413, 415}
