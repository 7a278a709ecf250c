"""The log an operator reads: one JSON line per request, events for what went wrong upstream,
internal errors with their traceback, and no secret anywhere."""

from __future__ import annotations

import io
import logging
from typing import Any

import orjson
import pytest

from gateway.observability.logs import REDACTED, Redactor, build_handler
from gateway.platforms.base import Platform
from gateway.resilience.breaker import CircuitBreakers
from tests.gateway.conftest import ADSETS, AUTH, KEY, PROJECT, Gateway
from tests.observability.conftest import CapturedLogs

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJTRUFSQ0hBRFMifQ.c2lnbmF0dXJlLWJ5dGVz"


def write(record_msg: str, *args: Any, secrets: tuple[str, ...] = (), **kw: Any) -> str:
    stream = io.StringIO()
    logger = logging.getLogger("tests.redaction")
    logger.propagate = False
    handler = build_handler(stream, secrets=secrets)
    logger.addHandler(handler)
    try:
        logger.warning(record_msg, *args, **kw)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer lp_live_abcdef123456", "lp_live_abcdef123456"),
        ("headers={'Authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
        ("GET /v25.0/act_1/adsets?fields=id&access_token=EAAB1234secret&limit=5", "EAAB1234secret"),
        ('{"access_token": "tt-secret-token-1"}', "tt-secret-token-1"),
        ("grant_type=client_credentials&client_secret=" + JWT, JWT),
        ("Access-Token: tiktoktoken99", "tiktoktoken99"),
        (f"token {JWT} expired", JWT),
    ],
)
def test_the_filter_hides_secrets_by_shape(text: str, secret: str) -> None:
    line = write("upstream said %s", text)
    assert secret not in line
    assert REDACTED in line


def test_the_filter_hides_configured_values_in_messages_tracebacks_and_fields() -> None:
    secret = "configured-credential-value"
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        line = write(
            "calling %s", secret, exc_info=True, extra={"detail": secret}, secrets=(secret,)
        )
    assert secret not in line
    body = orjson.loads(line)
    assert "Traceback" in body["traceback"]
    assert body["detail"] == REDACTED


async def test_one_line_per_request_with_its_fields(gateway: Gateway, logs: CapturedLogs) -> None:
    response = await gateway.rest({"limit": 5})
    assert response.status_code == 200
    (line,) = logs.events("request")
    assert line["method"] == "GET"
    assert line["route"] == "/v1/projects/{project_id}/ads/adsets"
    assert line["status"] == 200
    assert line["duration_ms"] > 0
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["project_id"] == PROJECT
    assert line["key_id"] and KEY not in logs.text
    assert line["upstream_calls"] == sum(
        len(c.log.entries) for c in gateway.suite.controls.values()
    )
    assert line["retries"] == 0
    assert line["level"] == "info" and line["logger"] == "gateway.requests"


async def test_retries_are_logged_and_counted_for_the_request(
    gateway: Gateway, logs: CapturedLogs
) -> None:
    gateway.suite.controls[Platform.TIKTOK_ADS].fail_next(1, "500")
    response = await gateway.rest({"platforms": "tiktok_ads", "limit": 5})
    assert response.status_code == 200
    (retry,) = logs.events("retry")
    assert retry["platform"] == "tiktok_ads"
    assert retry["attempt"] == 1
    (line,) = logs.events("request")
    assert line["retries"] == 1
    assert line["upstream_calls"] == len(gateway.suite.controls[Platform.TIKTOK_ADS].log.entries)


async def test_a_throttle_and_the_503_are_logged_with_sources(
    gateway: Gateway, logs: CapturedLogs
) -> None:
    gateway.suite.controls[Platform.META_ADS].fail_next(1, "throttle")
    response = await gateway.rest({"platforms": "meta_ads", "limit": 5})
    assert response.status_code == 503
    assert [e["platform"] for e in logs.events("throttled")] == ["meta_ads"]
    (answer,) = logs.events("upstream_error")
    assert answer["level"] == "warning"
    assert answer["code"] == "upstream_throttled"
    assert {s["status"] for s in answer["sources"]} >= {"throttled"}
    again = await gateway.rest({"platforms": "meta_ads", "limit": 5})
    assert again.status_code == 503
    assert logs.events("throttle_block") or len(logs.events("upstream_error")) == 2


async def test_a_502_is_logged_with_its_sources(gateway: Gateway, logs: CapturedLogs) -> None:
    gateway.suite.controls[Platform.TIKTOK_ADS].fail_next(10, "500")
    response = await gateway.rest({"platforms": "tiktok_ads", "limit": 5})
    assert response.status_code == 502
    (answer,) = logs.events("upstream_error")
    assert answer["code"] == "upstream_unavailable"
    assert response.json()["error"]["sources"] == answer["sources"]


def test_breaker_transitions_are_logged(logs: CapturedLogs) -> None:
    now = [0.0]
    breakers = CircuitBreakers(threshold=2, cooldown=10.0, clock=lambda: now[0])
    key = ("meta_ads", "act_1")
    breakers.failure(key)
    breakers.failure(key)
    now[0] = 11.0
    with breakers.admit(key) as refused:
        assert refused is None
        breakers.success(key)
    states = [(e["state"], e["level"]) for e in logs.events("breaker")]
    assert states == [("open", "warning"), ("half_open", "info"), ("closed", "info")]


async def test_an_internal_error_is_logged_with_its_traceback_never_answered(
    gateway: Gateway, logs: CapturedLogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = gateway.app.state.runtime.service

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"bug while holding Bearer {KEY}")

    monkeypatch.setattr(service, "list_adsets", broken)
    response = await gateway.rest()
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": "internal_error",
        "message": "Unexpected error.",
        "requestId": response.headers["x-request-id"],
    }
    assert "Traceback" not in response.text
    (internal,) = logs.events("internal")
    assert "Traceback" in internal["traceback"]
    assert "RuntimeError" in internal["traceback"]
    assert KEY not in logs.text
    (line,) = logs.events("request")
    assert line["status"] == 500


async def test_graphql_internal_errors_are_logged_with_their_traceback(
    gateway: Gateway, logs: CapturedLogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = gateway.app.state.runtime.service

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(service, "list_adsets", broken)
    response = await gateway.graphql(
        "query($p: ID!) { adSets(projectId: $p, first: 1) { totalCount } }", {"p": PROJECT}
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "internal_error"
    assert "Traceback" not in response.text
    (internal,) = logs.events("internal")
    assert "Traceback" in internal["traceback"]


async def test_requests_without_a_caller_are_logged_too(
    gateway: Gateway, logs: CapturedLogs
) -> None:
    await gateway.http.get("/nowhere/42")
    await gateway.http.get(ADSETS, headers={"Authorization": "Bearer wrong-key-123456"})
    first, second = logs.events("request")
    assert (first["route"], first["status"], first["project_id"]) == ("other", 404, None)
    assert (second["status"], second["key_id"]) == (401, None)
    assert "wrong-key-123456" not in logs.text
    assert AUTH["Authorization"] not in logs.text


def test_a_redactor_answers_the_same_for_texts_it_has_seen() -> None:
    redact = Redactor(["configured-secret-value"])
    texts = [
        "GET /v1/projects/{project_id}/ads/adsets",
        "Bearer lp_live_abcdef123456",
        "uses configured-secret-value here",
        "token mentioned, nothing to hide",
    ]
    first = [redact(text) for text in texts]
    assert first == [redact(text) for text in texts]
    assert first[0] == texts[0] and first[3] == texts[3]
    assert "lp_live_abcdef123456" not in first[1]
    assert "configured-secret-value" not in first[2]
