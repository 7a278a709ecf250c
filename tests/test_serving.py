"""The served app's server-side bounds, over raw sockets against uvicorn on 127.0.0.1:0."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.app import close_runtime, create_app
from gateway.sandbox.suite import SandboxSuite
from gateway.serving import MAX_HEAD_BYTES, server_config, server_options

KEY = "lp_test_key_for_serving"
HEADER_TIMEOUT = 0.5


@pytest.fixture
async def address(suite: SandboxSuite) -> AsyncIterator[tuple[str, int]]:
    app = create_app(suite.settings(key=KEY), transport=suite.transport())
    config = server_config(
        app, host="127.0.0.1", port=0, header_timeout=HEADER_TIMEOUT, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.01)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    yield host, port
    server.should_exit = True
    await asyncio.wait_for(task, 10)
    await close_runtime(app.state.runtime)


async def exchange(address: tuple[str, int], data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(65536), 5.0)
    finally:
        writer.close()


async def test_a_plain_request_is_served(address: tuple[str, int]) -> None:
    answer = await exchange(address, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200")


async def test_an_oversized_header_section_is_400(address: tuple[str, int]) -> None:
    pad = b"a" * (MAX_HEAD_BYTES + 1)
    answer = await exchange(
        address, b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: " + pad + b"\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 400")


async def test_too_many_headers_are_400(address: tuple[str, int]) -> None:
    headers = b"".join(b"X-%d: b\r\n" % i for i in range(MAX_HEAD_BYTES // 6))
    answer = await exchange(address, b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 400")


async def test_a_trickling_head_is_cut_off_at_the_deadline(address: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*address)
    started = time.monotonic()
    writer.write(b"GET /healthz HTTP/1.1\r\n")
    closed_after: float | None = None
    try:
        for i in range(60):  # a header line every 0.1 s: 6 s if never cut off
            await asyncio.sleep(0.1)
            if reader.at_eof() or writer.is_closing():
                break
            writer.write(b"X-%d: y\r\n" % i)
            try:
                await writer.drain()
                data = await asyncio.wait_for(reader.read(1), 0.01)
            except TimeoutError:
                continue
            except ConnectionError:
                break
            if data == b"":
                break
        closed_after = time.monotonic() - started
    finally:
        writer.close()
    assert closed_after is not None and closed_after < HEADER_TIMEOUT + 1.0


async def test_a_huge_declared_body_is_413_before_it_is_sent(address: tuple[str, int]) -> None:
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + KEY.encode() + b"\r\nContent-Length: 104857600\r\n\r\n"
    )
    answer = await exchange(address, head + b"{" * 1024)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"payload_too_large" in answer


def test_the_server_parses_with_httptools_on_uvloop() -> None:
    config = server_config(object(), host="127.0.0.1", port=0)
    config.load()
    assert issubclass(config.http_protocol_class, HttpToolsProtocol)
    assert server_options()["http"] is not None
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


async def test_an_oversized_head_in_many_reads_is_400(address: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        for i in range(MAX_HEAD_BYTES // 1024 + 2):
            writer.write(b"X-%d: " % i + b"a" * 1024 + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0.005)
        writer.write(b"\r\n")
        answer = await asyncio.wait_for(reader.read(65536), 5.0)
    except ConnectionError:
        answer = b"HTTP/1.1 400 (connection closed on the head)"
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 400")


async def test_a_second_request_on_a_connection_is_bounded_too(address: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        first = await asyncio.wait_for(reader.readuntil(b'{"status":"ok"}'), 5.0)
        pad = b"a" * (MAX_HEAD_BYTES + 1)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: " + pad + b"\r\n\r\n")
        second = await asyncio.wait_for(reader.read(65536), 5.0)
    finally:
        writer.close()
    assert first.startswith(b"HTTP/1.1 200")
    assert second.startswith(b"HTTP/1.1 400")


async def test_a_head_just_under_the_bound_is_served(address: tuple[str, int]) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: \r\n\r\n"
    pad = b"a" * (MAX_HEAD_BYTES - len(head))
    answer = await exchange(address, head.replace(b"X-Pad: ", b"X-Pad: " + pad))
    assert answer.startswith(b"HTTP/1.1 200")


async def test_leading_blank_lines_do_not_hide_an_oversized_head(address: tuple[str, int]) -> None:
    pad = b"a" * (MAX_HEAD_BYTES * 4)
    answer = await exchange(
        address, b"\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: " + pad + b"\r\n\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 400")


async def test_an_oversized_pipelined_head_in_the_same_read_is_400(
    address: tuple[str, int],
) -> None:
    pad = b"a" * (MAX_HEAD_BYTES * 4)
    first = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    second = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: " + pad + b"\r\n\r\n"
    answer = await exchange(address, first + second)
    assert b"HTTP/1.1 400" in answer
    assert answer.count(b"HTTP/1.1 200") <= 1


async def test_two_small_pipelined_requests_are_both_served(address: tuple[str, int]) -> None:
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" * 2)
        await writer.drain()
        answer = b""
        while answer.count(b'{"status":"ok"}') < 2:
            chunk = await asyncio.wait_for(reader.read(65536), 5.0)
            assert chunk
            answer += chunk
    finally:
        writer.close()
    assert answer.count(b"HTTP/1.1 200") == 2
