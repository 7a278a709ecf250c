"""An unreachable database: exit 2 at start-up, 503 ``store_unavailable`` during a request."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from gateway.app import close_runtime, create_app
from gateway.sandbox.suite import DEMO_PROJECT_ID, SandboxSuite
from gateway.store import PostgresStore
from tests.loopback import closed_port

KEY = "lp_test_key_for_tests"


def test_serve_exits_2_with_one_line_when_postgresql_is_unreachable(tmp_path: Path) -> None:
    suite = SandboxSuite.build(large_adsets=10)
    config = tmp_path / "gateway.toml"
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/test"
    config.write_text(
        suite.config_toml("http://127.0.0.1:9").replace("sqlite:///gateway.db", url),
        encoding="utf-8",
    )
    for command in (["serve", "--port", "0"], ["keys", "list"]):
        done = subprocess.run(  # noqa: S603 - our own command
            [sys.executable, "-m", "gateway", *command, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith("gateway: database unavailable: PostgreSQL unreachable: ")
        assert "Connection refused" in line


@contextlib.asynccontextmanager
async def tcp_proxy(target_host: str, target_port: int) -> AsyncIterator[tuple[int, asyncio.Event]]:
    """Forwards a loopback port to the target until the event is set, then drops every
    connection and refuses new ones (the database "goes away")."""
    cut = asyncio.Event()
    tasks: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target_host, target_port)
        both = [
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ]
        tasks.update(both)
        await cut.wait()
        for task in both:
            task.cancel()
        writer.close()
        up_writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    serving = asyncio.create_task(server.serve_forever())
    try:
        yield port, cut
    finally:
        cut.set()
        serving.cancel()
        server.close()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_requests_needing_an_unreachable_database_get_503_store_unavailable(
    postgres_url: str, suite: SandboxSuite
) -> None:
    parts = urlsplit(postgres_url)
    assert parts.hostname is not None
    async with tcp_proxy(parts.hostname, parts.port or 5432) as (port, cut):
        netloc = f"{parts.username}@127.0.0.1:{port}" if parts.username else f"127.0.0.1:{port}"
        store = PostgresStore(urlunsplit(parts._replace(netloc=netloc)), timeout=1.0)
        await store.open()
        suite.reset()
        settings = suite.settings(key=KEY)
        app = create_app(settings, transport=suite.transport(), store=store)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as http:
            # given a gateway whose database goes away after start-up
            cut.set()
            await asyncio.sleep(0.05)
            issued = {"Authorization": "Bearer lp_live_01HX9Y6K7EJ4T2_notcachedanywhere"}
            # when a request needs an issued key looked up
            rest = await http.get(f"/v1/projects/{DEMO_PROJECT_ID}/ads/adsets", headers=issued)
            graphql = await http.post("/graphql", json={"query": "{ __typename }"}, headers=issued)
            # then both paths answer 503 store_unavailable, with no detail of the database
            assert rest.status_code == 503
            assert rest.json() == {
                "error": {
                    "code": "store_unavailable",
                    "message": "the gateway's database is unavailable; try again shortly",
                    "requestId": rest.headers["x-request-id"],
                }
            }
            assert graphql.status_code == 503
            assert graphql.json()["errors"][0]["extensions"]["code"] == "store_unavailable"
            # a configured key needs no database; a node lookup that misses memory does
            node = await http.post(
                "/graphql",
                json={"query": '{ node(id: "adg_01HXZZZZZZZZZZZZZZZZZZZZZZ") { id } }'},
                headers={"Authorization": f"Bearer {KEY}"},
            )
            assert node.status_code == 200
            assert node.json()["errors"][0]["extensions"]["code"] == "store_unavailable"
        await close_runtime(app.state.runtime)
