"""The ``Upstream`` seam over real loopback sockets.

Here bytes cross a socket: a whole gateway walk over the sandboxes served by uvicorn, the
exact query the platforms receive, the default headers, a compressed body, no cookies
between accounts, and every kind of broken peer ending as our ``UpstreamUnavailableError``
rather than a library's exception. Both implementations of the seam are checked: the
gateway's network pool (aiohttp) and the in-process one, here over httpx's own socket
transport, so the two are held to the same behaviour.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing, asynccontextmanager, suppress
from urllib.parse import parse_qsl

import httpx
import pytest

from gateway.app import close_runtime, create_app
from gateway.errors import UpstreamUnavailableError
from gateway.platforms.http import fetch_json
from gateway.platforms.pool import NetworkUpstream, upstream_pool
from gateway.platforms.upstream import ExchangeError, Upstream
from gateway.sandbox.suite import DEMO_PROJECT_ID, SandboxSuite, demo_key
from tests.loopback import on_loopback

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
TIMEOUT = httpx.Timeout(connect=1.0, read=0.3, write=1.0, pool=1.0)


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """A TCP server on loopback answering with ``handler``; yields its base URL. Every
    connection is closed (and a handler still running is cancelled) on the way out."""
    running: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        running.add(task)
        try:
            await handler(reader, writer)
        finally:
            running.discard(task)
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for task in list(running):
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        server.close()
        await server.wait_closed()


async def read_head(reader: asyncio.StreamReader) -> str:
    return (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")


def answer(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", *extra]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def recording(heads: list[bytes]) -> Handler:
    """A peer that keeps the head of the one request it answers (with ``{}``) in ``heads``."""

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answer(b"{}"))
        await writer.drain()

    return record


WAYS = ["network", "in-process"]


def pool_for(way: str) -> Upstream:
    """The gateway's network pool, or the in-process one over httpx's socket transport."""
    return upstream_pool(TIMEOUT, httpx.AsyncHTTPTransport() if way == "in-process" else None)


async def fetch(url: str, params: dict[str, str] | None = None, way: str = "network") -> object:
    async with aclosing(pool_for(way)) as pool:
        _, payload = await fetch_json(
            pool,
            "GET",
            url,
            params=params,
            headers={"X-Test": "1", "Accept": "application/json"},
            platform="meta_ads",
            account_id="1",
        )
        return payload


def test_without_a_transport_the_pool_is_the_network() -> None:
    assert isinstance(upstream_pool(TIMEOUT), NetworkUpstream)


@pytest.mark.parametrize("way", WAYS)
async def test_the_platform_receives_every_parameter_exactly_once_encoded(way: str) -> None:
    seen: list[str] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append((await read_head(reader)).split(" ")[1])
        writer.write(answer(b'{"ok": true}'))
        await writer.drain()

    params = {
        "fields": "id,name,targeting{geo_locations}",
        "filtering": '[{"field":"effective_status","operator":"IN","value":["ACTIVE"]}]',
        "after": "QVFIUk5a+/=",
        "note": "caf\u00e9 & more",
    }
    async with raw_server(echo) as base:
        assert await fetch(base + "/v25.0/act_1/adsets", params, way) == {"ok": True}
    path, _, query = seen[0].partition("?")
    assert path == "/v25.0/act_1/adsets"
    assert dict(parse_qsl(query, keep_blank_values=True, strict_parsing=True)) == params
    assert query == str(httpx.QueryParams(params)).replace("+", "%20")


async def test_both_ways_send_the_same_default_headers_and_read_a_compressed_body() -> None:
    heads: dict[str, list[tuple[str, str]]] = {}

    async def zipped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = (await read_head(reader)).strip().split("\r\n")
        fields = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
        heads[lines[0].split(" ")[1]] = sorted((name.lower(), value) for name, value in fields)
        writer.write(answer(gzip.compress(b'{"ok": "zipped"}'), "Content-Encoding: gzip"))
        await writer.drain()

    async with raw_server(zipped) as base:
        for way in WAYS:
            assert await fetch(f"{base}/{way}", way=way) == {"ok": "zipped"}
    network, in_process = heads["/network"], heads["/in-process"]
    assert network == in_process
    assert ("x-test", "1") in network
    assert ("accept-encoding", "gzip, deflate") in network
    assert [value for name, value in network if name == "accept"] == ["application/json"]
    (agent,) = [value for name, value in network if name == "user-agent"]
    assert agent.startswith("adset-gateway/")


@pytest.mark.parametrize("way", WAYS)
async def test_cookies_set_by_one_response_are_neither_kept_nor_sent(way: str) -> None:
    heads: list[str] = []

    async def setter(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                heads.append(await read_head(reader))
            except asyncio.IncompleteReadError:
                break
            writer.write(answer(b"{}", "Set-Cookie: session=abc; Path=/"))
            await writer.drain()

    async with raw_server(setter) as base, aclosing(pool_for(way)) as pool:
        for _ in range(2):
            await fetch_json(
                pool, "GET", base + "/x", headers={}, platform="meta_ads", account_id="1"
            )
    assert len(heads) == 2
    assert all("cookie" not in head.lower().replace("set-cookie", "") for head in heads)


async def _hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_head(reader)


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_head(reader)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()


async def _truncated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_head(reader)
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"data": [')
    await writer.drain()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_head(reader)
    await asyncio.sleep(2)


@pytest.mark.parametrize(
    ("peer", "message"),
    [
        (_hang_up, "connection failed"),
        (_garbage, "connection failed"),
        (_truncated, "connection failed"),
        (_silent, "did not answer in time"),
    ],
    ids=["hang-up", "garbage", "truncated-body", "silent"],
)
@pytest.mark.parametrize("way", WAYS)
async def test_a_broken_peer_is_an_unavailable_upstream(
    peer: Handler, message: str, way: str
) -> None:
    async with raw_server(peer) as base:
        with pytest.raises(UpstreamUnavailableError, match=message):
            await fetch(base + "/x", way=way)


@pytest.mark.parametrize("way", WAYS)
async def test_a_refused_connection_is_an_unavailable_upstream(way: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UpstreamUnavailableError):
        await fetch(f"http://127.0.0.1:{port}/x", way=way)


async def test_the_gateway_walks_every_ad_set_over_real_sockets(suite: SandboxSuite) -> None:
    suite.reset()
    async with on_loopback(suite.app) as base:
        app = create_app(suite.settings(base))  # no transport given: the network pool
        auth = {"Authorization": f"Bearer {demo_key()}"}
        path = f"/v1/projects/{DEMO_PROJECT_ID}/ads/adsets"
        ids: list[str] = []
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
            ) as http:
                params = {"limit": "200"}
                for _ in range(100):
                    response = await http.get(path, params=params, headers=auth)
                    assert response.status_code == 200, response.text
                    body = response.json()
                    ids += [item["adsetId"] for item in body["items"]]
                    if body["nextCursor"] is None:
                        break
                    params = {"limit": "200", "cursor": body["nextCursor"]}
        finally:
            await close_runtime(app.state.runtime)
    assert len(ids) == len(set(ids)) == suite.adset_count()


async def test_connections_opened_ahead_send_nothing_and_serve_the_first_requests() -> None:
    accepted: list[int] = []
    heads: list[str] = []

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        while True:
            try:
                heads.append(await read_head(reader))
            except asyncio.IncompleteReadError:
                return
            writer.write(answer(b"{}"))
            await writer.drain()

    async with raw_server(keep_alive) as base:
        pool = NetworkUpstream(TIMEOUT, uses_tls=False)
        async with aclosing(pool):
            # when three connections are opened ahead: the peer accepts them, and hears nothing
            assert await pool.preconnect(base + "/v25.0", 3) == 3
            await asyncio.sleep(0.01)
            assert (len(accepted), heads) == (3, [])
            # then three requests at once go out on them: no new connection
            await asyncio.gather(
                *(
                    fetch_json(
                        pool, "GET", f"{base}/{n}", headers={}, platform="x", account_id=None
                    )
                    for n in range(3)
                )
            )
            assert (len(accepted), len(heads)) == (3, 3)


async def test_connections_that_cannot_be_opened_ahead_are_left_to_the_requests() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with aclosing(NetworkUpstream(TIMEOUT, uses_tls=False)) as pool:
        assert await pool.preconnect(f"http://127.0.0.1:{port}", 2) == 0


async def test_a_connection_aiohttp_fails_to_open_in_any_way_is_left_to_the_requests(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # aiohttp fails an origin without a host by an AssertionError, no ClientError or OSError
    async with aclosing(NetworkUpstream(TIMEOUT, uses_tls=False)) as pool:
        with caplog.at_level(logging.DEBUG, logger="gateway.platforms.pool"):
            assert await pool.preconnect("unix://nowhere", 2) == 0
    assert "not opened ahead" in caplog.text


async def _exchange(
    way: str, base: str, *requests: tuple[str, str, bytes | None]
) -> list[tuple[int, Mapping[str, str], bytes]]:
    """Each (method, path, body) through one pool, in turn: (status, headers, body) of each."""
    replies = []
    async with aclosing(pool_for(way)) as pool:
        for method, path, content in requests:
            headers = {"content-type": "application/x-www-form-urlencoded"} if content else {}
            reply = await pool.exchange(method, base + path, headers, content)
            replies.append((reply.status_code, reply.headers, reply.content))
    return replies


@pytest.mark.parametrize("way", WAYS)
async def test_a_chunked_body_is_read_whole_and_the_connection_kept(way: str) -> None:
    accepted: list[int] = []

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        while True:
            try:
                await read_head(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in (b'{"data": ', b"[1, 2, 3]", b"}"):
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async with raw_server(chunked) as base:
        replies = await _exchange(way, base, ("GET", "/a", None), ("GET", "/b", None))
    assert [(status, body) for status, _, body in replies] == [(200, b'{"data": [1, 2, 3]}')] * 2
    assert len(accepted) == 1


@pytest.mark.parametrize("way", WAYS)
async def test_an_answer_closing_its_connection_leaves_the_next_request_a_new_one(
    way: str,
) -> None:
    accepted: list[int] = []

    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        await read_head(reader)
        writer.write(answer(b'{"n": %d}' % len(accepted), "Connection: close"))
        await writer.drain()

    async with raw_server(closing) as base:
        replies = await _exchange(way, base, ("GET", "/a", None), ("GET", "/b", None))
    assert [body for _, _, body in replies] == [b'{"n": 1}', b'{"n": 2}']
    assert len(accepted) == 2


@pytest.mark.parametrize("way", WAYS)
async def test_a_body_ending_with_the_connection_is_read_whole(way: str) -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"data": ')
        await writer.drain()
        writer.write(b"[]}")
        await writer.drain()

    async with raw_server(until_close) as base:
        replies = await _exchange(way, base, ("GET", "/a", None))
    assert [(status, body) for status, _, body in replies] == [(200, b'{"data": []}')]


async def test_a_kept_connection_dropped_unanswered_retries_a_get_once_on_a_new_one() -> None:
    # (the network pool only: httpcore, under the in-process pool, does not retry)
    heads: list[str] = []

    async def drops_its_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # answers the connection's first request, then takes the second and hangs up on it,
        # as a peer closing an idle keep-alive connection the moment a request arrives does
        first = len(heads) == 0
        heads.append(await read_head(reader))
        writer.write(answer(b'{"n": %d}' % len(heads)))
        await writer.drain()
        if first:
            heads.append(await read_head(reader))

    async with raw_server(drops_its_second) as base:
        replies = await _exchange("network", base, ("GET", "/a", None), ("GET", "/b", None))
    assert [body for _, _, body in replies] == [b'{"n": 1}', b'{"n": 3}']
    assert [head.split(" ")[1] for head in heads] == ["/a", "/b", "/b"]


async def test_a_post_on_a_kept_connection_dropped_unanswered_is_not_sent_again() -> None:
    heads: list[str] = []

    async def drops_its_second(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await read_head(reader))
        await reader.readexactly(3)
        writer.write(answer(b"{}"))
        await writer.drain()
        heads.append(await read_head(reader))

    async with raw_server(drops_its_second) as base:
        with pytest.raises(ExchangeError):
            await _exchange("network", base, ("POST", "/t", b"a=1"), ("POST", "/t", b"a=2"))
    assert len(heads) == 2


@pytest.mark.parametrize("way", WAYS)
async def test_a_post_sends_its_body_with_its_length_and_the_host_with_its_port(
    way: str,
) -> None:
    seen: list[tuple[list[str], bytes]] = []

    async def form(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = (await read_head(reader)).strip().split("\r\n")
        fields = {
            name.lower(): value.strip()
            for name, value in (line.split(":", 1) for line in lines[1:])
        }
        body = await reader.readexactly(int(fields["content-length"]))
        seen.append(([lines[0], fields["host"], fields["content-type"]], body))
        writer.write(answer(b"{}"))
        await writer.drain()

    async with raw_server(form) as base:
        await _exchange(way, base, ("POST", "/auth/oauth2/token?x=1", b"grant_type=a&b=%20"))
    port = base.rsplit(":", 1)[1]
    assert seen == [
        (
            [
                "POST /auth/oauth2/token?x=1 HTTP/1.1",
                f"127.0.0.1:{port}",
                "application/x-www-form-urlencoded",
            ],
            b"grant_type=a&b=%20",
        )
    ]


@pytest.mark.parametrize("way", WAYS)
async def test_a_redirect_or_an_empty_answer_comes_back_as_it_is(way: str) -> None:
    async def odd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                path = (await read_head(reader)).split(" ")[1]
            except asyncio.IncompleteReadError:
                return
            if path == "/moved":
                writer.write(
                    b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"
                )
            else:
                writer.write(b"HTTP/1.1 204 No Content\r\nX-Rate: 5\r\n\r\n")
            await writer.drain()

    async with raw_server(odd) as base:
        replies = await _exchange(way, base, ("GET", "/moved", None), ("GET", "/empty", None))
    (moved_status, moved_headers, moved_body), (empty_status, empty_headers, empty_body) = replies
    assert (moved_status, moved_headers["Location"], moved_body) == (302, "/elsewhere", b"")
    assert (empty_status, empty_headers["x-rate"], empty_body) == (204, "5", b"")


@pytest.mark.parametrize("way", WAYS)
async def test_a_header_value_with_a_line_break_is_never_sent(way: str) -> None:
    heads: list[bytes] = []
    async with raw_server(recording(heads)) as base, aclosing(pool_for(way)) as pool:
        with pytest.raises(ExchangeError):
            await pool.exchange("GET", base + "/x", {"authorization": "Bearer a\r\nX-Evil: 1"})
    assert heads == []


@pytest.mark.parametrize("way", WAYS)
async def test_a_host_the_request_names_is_sent_instead_of_the_origins(way: str) -> None:
    heads: list[bytes] = []
    async with raw_server(recording(heads)) as base, aclosing(pool_for(way)) as pool:
        await pool.exchange("GET", base + "/x", {"Host": "api.example.test"})
    lines = heads[0].decode().split("\r\n")
    hosts = [line for line in lines if line.lower().startswith("host:")]
    assert [line.split(":", 1)[1].strip() for line in hosts] == ["api.example.test"]


async def test_a_header_beyond_ascii_is_sent_as_utf8() -> None:
    heads: list[bytes] = []
    async with raw_server(recording(heads)) as base, aclosing(pool_for("network")) as pool:
        await pool.exchange("GET", base + "/x", {"x-label": "café"})
    assert b"\r\nx-label: caf\xc3\xa9\r\n" in heads[0]
