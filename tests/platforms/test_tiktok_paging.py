"""Window planning over page-number paging, resume tokens, and TikTok error codes."""

from __future__ import annotations

import httpx
import pytest

from gateway.errors import (
    InvalidInputError,
    MalformedResponseError,
    RateLimitedError,
    UpstreamAuthError,
    UpstreamBadRequestError,
    UpstreamError,
    UpstreamForbiddenError,
    UpstreamUnavailableError,
)
from gateway.platforms.payload import PayloadError
from gateway.platforms.tiktok.errors import envelope_data, error_for_code
from gateway.platforms.tiktok.paging import (
    MAX_PAGE_SIZE,
    decode_token,
    encode_token,
    plan_window,
)
from gateway.platforms.upstream import Reply


def covered(offset: int, count: int) -> int:
    """How many of the wanted rows the planned request returns."""
    w = plan_window(offset, count)
    page_rows = range(w.first_offset, w.first_offset + w.page_size)
    assert w.first_offset + w.skip == offset and w.skip < w.page_size
    assert count <= w.page_size <= MAX_PAGE_SIZE
    return len([i for i in range(offset, offset + count) if i in page_rows])


@pytest.mark.parametrize("count", [1, 7, 50, 100, 137, 200])
def test_one_request_covers_any_window_whenever_a_page_size_allows(count: int) -> None:
    for offset in range(0, 5000, 13):
        one_call = any(
            offset // s == (offset + count - 1) // s for s in range(count, MAX_PAGE_SIZE + 1)
        )
        got = covered(offset, count)
        assert got == count if one_call else 0 < got < count


def test_smallest_page_size_is_chosen() -> None:
    assert plan_window(0, 100).page_size == 100
    w = plan_window(150, 100)  # 150..249 fits one page of 125 (page 2)
    assert (w.page, w.page_size, w.skip) == (2, 125, 25)


def test_two_requests_cover_a_window_no_size_fits() -> None:
    # rows 1..1000 fit no single page of size <= 1000
    first = plan_window(1, 1000)
    assert (first.page, first.page_size, first.skip) == (1, 1000, 1)
    second = plan_window(1000, 1)  # the one row left starts a page: no skip
    assert (second.first_offset, second.skip) == (1000, 0)


def test_tokens_round_trip_and_reject_garbage() -> None:
    assert decode_token(None) == 0
    assert decode_token(encode_token(1234)) == 1234
    for bad in ["", "1234", "o", "o-1", "ox", "o" + "9" * 20]:
        with pytest.raises(InvalidInputError):
            decode_token(bad)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (40100, RateLimitedError),
        (40016, RateLimitedError),
        (40132, RateLimitedError),
        (40133, RateLimitedError),
        (40102, UpstreamAuthError),
        (40104, UpstreamAuthError),
        (40105, UpstreamAuthError),
        (40001, UpstreamForbiddenError),
        (40002, UpstreamBadRequestError),
        (40700, UpstreamBadRequestError),
        (50000, UpstreamUnavailableError),
        (50002, UpstreamUnavailableError),
        (51065, UpstreamUnavailableError),
        (12345, UpstreamBadRequestError),
    ],
)
def test_error_codes(code: int, error: type[UpstreamError]) -> None:
    exc = error_for_code(code, "x", account_id="7")

    assert type(exc) is error
    assert (exc.platform, exc.account_id, exc.upstream_code) == ("tiktok_ads", "7", str(code))


def response(status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, httpx.Headers(headers), b"")


def test_envelope_success_and_partial_success() -> None:
    assert envelope_data(response(), {"code": 0, "data": {"a": 1}}, account_id="7") == {"a": 1}
    assert envelope_data(response(), {"code": 20001, "data": {}}, account_id="7") == {}


def test_envelope_code_wins_over_http_status_and_scrubs_the_token() -> None:
    body = {"code": 40105, "message": "token sekret-token is invalid", "data": {}}

    with pytest.raises(UpstreamAuthError) as info:
        envelope_data(response(500), body, account_id="7", secret="sekret-token")

    assert "sekret-token" not in info.value.message


def test_envelope_throttle_honours_a_retry_after_header() -> None:
    with pytest.raises(RateLimitedError) as info:
        envelope_data(response(headers={"Retry-After": "3"}), {"code": 40100}, account_id="7")
    assert info.value.retry_after == 3.0

    with pytest.raises(RateLimitedError) as info:
        envelope_data(response(), {"code": 40100}, account_id="7")
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, UpstreamUnavailableError),
        (503, UpstreamUnavailableError),
        (429, RateLimitedError),
        (401, UpstreamAuthError),
        (403, UpstreamForbiddenError),
        (404, UpstreamBadRequestError),
    ],
)
def test_envelope_without_a_code_uses_the_http_status(
    status: int, error: type[UpstreamError]
) -> None:
    with pytest.raises(error):
        envelope_data(response(status), {"error": "x"}, account_id="7")


@pytest.mark.parametrize("body", [[], {"code": "0"}, {"code": 0}, {"code": 0, "data": []}])
def test_envelope_of_the_wrong_shape_is_a_payload_error(body: object) -> None:
    with pytest.raises(PayloadError):
        envelope_data(response(), body, account_id="7")


def test_malformed_is_an_upstream_error() -> None:
    assert issubclass(MalformedResponseError, UpstreamError)
