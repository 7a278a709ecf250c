"""The load generator's request bytes, its reading of answers and its result line."""

from __future__ import annotations

import math

import pytest

from bench.loadgen import ProtocolError, ResponseParser, Result, build_request, percentile


def test_a_get_request_is_one_keep_alive_head() -> None:
    raw = build_request("GET", "127.0.0.1:8000", "/v1/x?limit=100", [("Authorization", "Bearer k")])
    assert raw == (
        b"GET /v1/x?limit=100 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nAuthorization: Bearer k\r\n\r\n"
    )


def test_a_post_request_carries_its_length_and_body() -> None:
    raw = build_request("POST", "h:1", "/graphql", [("Content-Type", "application/json")], b"{}")
    assert raw.endswith(b"Content-Length: 2\r\n\r\n{}")


def test_answers_split_at_their_content_length_whatever_the_chunks() -> None:
    stream = (
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"
        b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n"
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 3\r\n\r\nabc"
    )
    whole = ResponseParser().feed(stream)
    assert whole == [200, 429, 503]
    parser = ResponseParser()
    bytewise = [status for i in range(len(stream)) for status in parser.feed(stream[i : i + 1])]
    assert bytewise == [200, 429, 503]


def test_a_chunked_answer_ends_at_its_last_chunk() -> None:
    stream = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n\r\n"
        b"HTTP/1.1 204 No Content\r\n\r\n"
    )
    parser = ResponseParser()
    assert parser.feed(stream[:40]) == []
    assert parser.feed(stream[40:]) == [200, 204]


def test_a_bad_status_line_is_refused() -> None:
    with pytest.raises(ProtocolError):
        ResponseParser().feed(b"SSH-2.0-OpenSSH\r\n\r\n")


def test_the_result_line_reads_back_with_missing_percentiles_as_nan() -> None:
    line = (
        '{"requests":0,"seconds":5.0,"statuses":{},"errors":2,"p50_ms":null,'
        '"p99_ms":null,"cpu_seconds":0.1}'
    )
    result = Result.from_json(line)
    assert (result.requests, result.errors, result.ok()) == (0, 2, 0)
    assert math.isnan(result.p50_ms)
    ok = Result.from_json(
        '{"requests":10,"seconds":2.0,"statuses":{"200":9,"503":1},"errors":0,'
        '"p50_ms":1.5,"p99_ms":3.0,"cpu_seconds":0.2}'
    )
    assert (ok.ok(), ok.per_second) == (9, 5.0)


def test_percentile_is_the_nearest_rank() -> None:
    ordered = [float(v) for v in range(1, 101)]
    assert (percentile(ordered, 0.5), percentile(ordered, 0.99)) == (50.0, 99.0)
    assert percentile([7.0], 0.99) == 7.0
    assert math.isnan(percentile([], 0.5))
