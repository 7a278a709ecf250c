"""bench.profile and bench.pages: the buckets, the callgrind parts, the choice of accounts and
pages, and the ASGI driver against the real app over the in-process sandboxes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench import pages, profile
from bench.drive import README_NESTED
from bench.pages import (
    KINDS,
    AsgiDriver,
    PartialPage,
    Project,
    Spec,
    page_request,
    read_page,
    spread,
)
from gateway.app import create_app
from gateway.sandbox.suite import DEMO_PROJECT_ID, SandboxSuite

REPO = Path(__file__).resolve().parents[2]
KEY = "lp_test_profile_key"


# --- buckets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "function", "expected"),
    [
        ("/w/gateway/ids.py", "derive_id", "ID derivation"),
        ("~", "<built-in method _hashlib.openssl_sha256>", "ID derivation"),
        ("/w/gateway/store/idmap.py", "remember", "ID-map writes/store"),
        ("~", "<method 'execute' of 'sqlite3.Cursor' objects>", "ID-map writes/store"),
        ("/v/site-packages/aiohttp/client.py", "_request", "HTTP client"),
        ("/w/gateway/platforms/pool.py", "exchange", "HTTP client"),
        ("/v/site-packages/strawberry/schema/schema.py", "execute", "GraphQL execution"),
        ("/w/gateway/schema/executor.py", "execute_fields", "GraphQL execution"),
        ("/v/site-packages/starlette/routing.py", "handle", "uvicorn/starlette/ASGI"),
        ("~", "<built-in method orjson.dumps>", "serialization (orjson/wire)"),
        ("/w/gateway/wire.py", "item", "serialization (orjson/wire)"),
        ("/w/gateway/platforms/meta/mapping.py", "map_adset", "mapping"),
        ("/w/gateway/platforms/memo.py", "map", "mapping"),
        ("/w/gateway/platforms/meta/client.py", "list_adsets", "listing & platform clients"),
        ("/w/gateway/listing/walk.py", "run", "listing & platform clients"),
        ("/usr/lib/python3.11/asyncio/base_events.py", "_run_once", "asyncio event loop"),
        ("/w/bench/pages.py", "request", "bench driver (not the gateway)"),
        ("/usr/lib/python3.11/enum.py", "__call__", "other"),
        ("~", "<built-in method builtins.isinstance>", "other"),
    ],
)
def test_bucket_by_module_path_or_c_name(filename: str, function: str, expected: str) -> None:
    assert profile.bucket(filename, function) == expected


def test_group_gives_unnamed_c_functions_to_their_callers_and_leaves_idle_out() -> None:
    mapping = ("/w/gateway/platforms/meta/mapping.py", 10, "map_adset")
    graphql = ("/w/gateway/schema/executor.py", 20, "execute_fields")
    isinstance_ = ("~", 0, "<built-in method builtins.isinstance>")
    poll = ("~", 0, "<method 'poll' of 'select.epoll' objects>")
    dumps = ("~", 0, "<built-in method orjson.dumps>")
    entries = [
        profile.Entry(mapping, 3.0, {}),
        profile.Entry(graphql, 1.0, {}),
        # 4 s of isinstance: 3 of them called from mapping, 1 from GraphQL.
        profile.Entry(isinstance_, 4.0, {mapping: 0.3, graphql: 0.1}),
        profile.Entry(poll, 50.0, {}),
        profile.Entry(dumps, 0.5, {graphql: 0.5}),
    ]
    grouped = profile.group(entries, other_threads=0.25, top=2)
    assert grouped.buckets == {
        "mapping": pytest.approx(6.0),
        "GraphQL execution": pytest.approx(2.0),
        "serialization (orjson/wire)": 0.5,
        profile.OTHER_THREADS: 0.25,
    }
    assert next(iter(grouped.buckets)) == "mapping"  # largest first
    assert grouped.idle == 50.0
    assert grouped.total == pytest.approx(8.75)
    assert [(s, b) for s, b, _ in grouped.top] == [(4.0, "its callers'"), (3.0, "mapping")]
    text = profile.grouped_text("rest-cold", grouped, samples=2, unprofiled_ms=1.5)
    assert "| mapping | 3000.00 | 68.6% |" in text
    assert "waited 25000.00 ms/page" in text
    assert "the wall clock" in text and "(×2916.7 in all)" in text
    cpu = profile.grouped_text("rest-cold", grouped, samples=2, unprofiled_ms=None, clock="cpu")
    assert "CPU clock" in cpu and "in all" not in cpu


# --- callgrind ----------------------------------------------------------------------------


def _callgrind_file(part: int | None, total: int) -> str:
    head = "version: 1\ncreator: callgrind-3.19.0\n"
    if part is not None:
        head += f"part: {part}\n"
    return head + f"events: Ir\nsummary: {total}\n\nfn=(1) main\n0 {total}\ntotals: {total}\n"


def test_callgrind_parts_and_the_samples_among_them() -> None:
    texts = [_callgrind_file(p, 1000 * p) for p in (3, 1, 2, 5, 4)]
    parts = profile.callgrind_parts(texts)
    assert parts == {1: 1000, 2: 2000, 3: 3000, 4: 4000, 5: 5000}
    # Marks at each sample's start and end: the samples are the even parts.
    assert profile.sample_instructions(parts, 2) == [2000, 4000]
    with pytest.raises(ValueError, match="getppid"):
        profile.sample_instructions(parts, 3)
    assert profile.callgrind_parts([_callgrind_file(None, 7)]) == {1: 7}
    with pytest.raises(ValueError, match="summary"):
        profile.callgrind_parts(["version: 1\n"])


# --- pages and accounts -------------------------------------------------------------------


def test_spread_takes_the_first_and_last_pages_and_none_twice() -> None:
    assert spread(36, 4) == [0, 12, 23, 35]
    assert spread(36, 1) == [0]
    assert spread(3, 3) == [0, 1, 2]
    for n in range(1, 37):
        picks = spread(36, n)
        assert len(set(picks)) == n and picks[0] == 0 and (n == 1 or picks[-1] == 35)
    with pytest.raises(ValueError, match="4 samples of 3"):
        spread(3, 4)
    with pytest.raises(ValueError, match="0 samples"):
        spread(3, 0)


def _doc() -> dict[str, Any]:
    def account(platform: str, external_id: str, **credentials: str) -> dict[str, Any]:
        key = {"team_id": "t", "key_id": "k", "private_key_pem": "pem"}  # shared by all
        return {
            "platform": platform,
            "external_id": external_id,
            "name": external_id,
            "credentials": {**credentials, **key},
        }

    return {
        "gateway": {"cursor_secret": "x" * 32, "database": "sqlite:///gateway.db"},
        "platforms": {"apple_ads": {"base_url": "http://127.0.0.1:1/apple"}},
        "projects": [
            {
                "id": DEMO_PROJECT_ID,
                "name": "Demo",
                "api_keys": [{"sha256": "0" * 64, "scopes": ["ads:read"]}],
                "ad_accounts": [
                    account("apple_ads", "big", client_id="u1", org_id="1"),
                    account("apple_ads", "same-user", client_id="u1", org_id="2"),
                    account("apple_ads", "own-user", client_id="u2", org_id="3"),
                    account("apple_ads", "empty", client_id="u3", org_id="4"),
                ],
            }
        ],
    }


def test_primer_accounts_share_no_credentials_with_the_measured_ones() -> None:
    sizes = {("apple_ads", "big"): 1200, ("apple_ads", "same-user"): 60}
    # Every account shares team_id, key_id and private_key_pem; "same-user" also client_id.
    sizes |= {("apple_ads", "own-user"): 10, ("apple_ads", "empty"): 0}
    measured = [("apple_ads", "big")]
    # "same-user" is larger but would warm the measured account's token; "empty" has no rows.
    assert profile.primer_accounts(_doc(), sizes, measured) == [("apple_ads", "own-user")]
    with pytest.raises(ValueError, match="no other"):
        profile.primer_accounts(_doc(), {("apple_ads", "big"): 1}, measured)


def test_profile_config_has_the_measured_and_primer_projects(tmp_path: Path) -> None:
    doc = _doc()
    config = profile.profile_config(doc, [("apple_ads", "big")], [("apple_ads", "own-user")])
    assert doc["projects"][0]["api_keys"][0]["sha256"] == "0" * 64  # not changed in place
    spec = Spec(
        config=config,
        measured=Project(DEMO_PROJECT_ID, profile.MEASURED_KEY),
        primer=Project(profile.PRIMER_PROJECT_ID, profile.PRIMER_KEY),
        workdir=tmp_path,
        cursors={"rest": [None, "abc"], "graphql": [None]},
    )
    spec.write(tmp_path / "spec.json")
    assert Spec.read(tmp_path / "spec.json") == spec
    settings = spec.settings(f"sqlite:///{tmp_path / 'one.db'}")
    measured, primer = settings.projects
    assert (measured.id, primer.id) == (DEMO_PROJECT_ID, profile.PRIMER_PROJECT_ID)
    assert [a.external_id for a in measured.ad_accounts] == ["big"]
    assert [a.external_id for a in primer.ad_accounts] == ["own-user"]
    assert measured.api_keys[0].sha256 != primer.api_keys[0].sha256
    assert settings.rate_limit.per_key >= 10**9
    assert settings.database.endswith("one.db")


def test_table_divides_by_the_floor() -> None:
    rows = [
        profile.Measured("floor", 0.5, 10, 0.0, 0, {"upstream_answers": 3.0, "upstream_kb": 90}),
        profile.Measured("rest-cold", 4.0, 10, 1.0, 0, {}),
    ]
    rows[0].instructions, rows[1].instructions = 2e6, 30e6
    rows[0].instruction_samples = rows[1].instruction_samples = 4
    text = profile.table(rows)
    assert "| rest-cold | 4.00 | 8.0 | 30.0 M | 15.0 | 10 / 4 |" in text
    assert "3.0 answers, 90 KB a page" in text
    assert "1.00 ms of it on other threads" in text
    rows[1].lingering = 2
    assert "2 tasks still running 5 s after their page" in profile.table(rows)


def test_the_nested_kind_selects_what_the_readme_example_does() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for selection in ("campaign { name objective }", "adAccount { name currency }"):
        assert selection in README_NESTED
        assert selection in readme


# --- the driver and the app ---------------------------------------------------------------


async def test_driver_runs_the_lifespan_and_one_request() -> None:
    events: list[str] = []

    async def echo(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse(
            {
                "method": request.method,
                "query": dict(request.query_params),
                "auth": request.headers.get("authorization"),
                "body": body.decode(),
                "state": request.state.ready,
            },
            status_code=201,
        )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, str]]:
        events.append("start")
        yield {"ready": "yes"}
        events.append("stop")

    app = Starlette(routes=[Route("/echo", echo, methods=["POST"])], lifespan=lifespan)
    driver = AsgiDriver(app)
    await driver.start()
    assert events == ["start"]
    answer = await driver.request(
        "POST", "/echo", query={"a": 1}, headers={"Authorization": "Bearer k"}, body=b"hi"
    )
    assert answer.status == 201
    assert answer.json() == {
        "method": "POST",
        "query": {"a": "1"},
        "auth": "Bearer k",
        "body": "hi",
        "state": "yes",
    }
    await driver.stop()
    assert events == ["start", "stop"]


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_every_kind_reads_full_pages_from_the_app(suite: SandboxSuite, kind: str) -> None:
    suite.reset()
    app = create_app(suite.settings(key=KEY), transport=suite.transport())
    driver = AsgiDriver(app)
    await driver.start()
    try:
        project = Project(DEMO_PROJECT_ID, KEY)
        first = page_request(KINDS[kind], project, None)
        cursor = read_page(KINDS[kind], await first.send(driver))
        assert cursor is not None
        second = await page_request(KINDS[kind], project, cursor).send(driver)
        assert read_page(KINDS[kind], second) != cursor
        if kind.startswith("nested"):
            node = second.json()["data"]["adSets"]["edges"][0]["node"]
            assert set(node["campaign"]) == {"name", "objective"}
            assert set(node["adAccount"]) == {"name", "currency"}
        stranger = Project(DEMO_PROJECT_ID, "lp_test_unknown")
        wrong = await page_request(KINDS[kind], stranger, None).send(driver)
        with pytest.raises(RuntimeError, match=r"^(REST|GraphQL) 401"):
            read_page(KINDS[kind], wrong)
    finally:
        await driver.stop()
        suite.reset()


async def test_a_short_page_is_partial(suite: SandboxSuite) -> None:
    app = create_app(suite.settings(key=KEY), transport=suite.transport())
    driver = AsgiDriver(app)
    await driver.start()
    try:
        request = page_request(KINDS["rest-cold"], Project(DEMO_PROJECT_ID, KEY), None)
        short = await driver.request(
            request.method, request.path, query={"limit": 3}, headers=request.headers
        )
        with pytest.raises(PartialPage):
            read_page(KINDS["rest-cold"], short)
    finally:
        await driver.stop()


async def test_a_sample_waits_for_the_tasks_its_page_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "DRAIN_SECONDS", 0.2)
    finished: list[str] = []
    forever = asyncio.Event()

    async def write_behind() -> None:
        await asyncio.sleep(0.01)
        finished.append("written")

    async def work() -> str:
        asyncio.get_running_loop().create_task(write_behind())
        return "page"

    sampler = pages.Sampler()
    assert await sampler.sample(work) == "page"
    assert finished == ["written"]  # inside the sample, so its CPU was counted
    assert sampler.lingering == 0 and len(sampler.cpu) == len(sampler.main_thread) == 1

    async def stuck() -> str:
        asyncio.get_running_loop().create_task(forever.wait())
        return "page"

    await sampler.sample(stuck)
    assert sampler.lingering == 1
    forever.set()
