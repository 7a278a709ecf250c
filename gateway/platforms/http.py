"""The one place where platform clients send a request: encode the query, send it through
the ``Upstream`` seam, parse JSON, translate transport failures, read a wait from headers.
Status and envelope classification stays with each platform."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import orjson

from gateway.errors import MalformedResponseError, UpstreamUnavailableError
from gateway.observability import events
from gateway.observability.context import current
from gateway.observability.tracing import set_attributes
from gateway.platforms.upstream import ExchangeError, Reply, Upstream


async def fetch_json(
    upstream: Upstream,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str],
    content: bytes | None = None,
    platform: str,
    account_id: str | None,
    bodies: DecodedBodies | None = None,
) -> tuple[Reply, Any]:
    """Send one request and return the answer with its decoded JSON body.

    With ``bodies``, a successful answer byte for byte the same as the last one to the same
    request is not parsed again: its JSON is the one decoded then (see ``DecodedBodies``).

    ``params`` are encoded here, every reserved character percent-encoded as httpx does (a
    space as %20).

    No answer (a timeout, a refused, dropped or broken connection) becomes
    ``UpstreamUnavailableError``; a body that is not JSON becomes ``MalformedResponseError``
    (or ``UpstreamUnavailableError`` on a 5xx, whose body is often an HTML error page).
    """
    full = f"{url}?{_query(params)}" if params else url
    scope = current()
    if scope is None or not scope.tracing.enabled:
        return await _fetch(upstream, method, full, headers, content, platform, account_id, bodies)
    attributes = {"http.request.method": method, "gateway.platform": platform}
    if account_id is not None:
        attributes["gateway.ad_account_id"] = account_id
    with scope.tracing.span(f"{method} {platform}", "client", attributes) as span:
        reply, payload = await _fetch(
            upstream, method, full, headers, content, platform, account_id, bodies
        )
        set_attributes(span, {"http.response.status_code": reply.status_code})
        return reply, payload


async def _fetch(
    upstream: Upstream,
    method: str,
    url: str,
    headers: Mapping[str, str],
    content: bytes | None,
    platform: str,
    account_id: str | None,
    bodies: DecodedBodies | None = None,
) -> tuple[Reply, Any]:
    started = time.perf_counter()
    try:
        reply = await upstream.exchange(method, url, headers, content)
    except ExchangeError as exc:
        if exc.timed_out:
            message = f"{platform} did not answer in time"
        else:
            message = f"{platform} connection failed ({exc})"
        outcome = "timeout" if exc.timed_out else "connection_error"
        events.upstream_call(platform, outcome, time.perf_counter() - started)
        raise UpstreamUnavailableError(message, platform=platform, account_id=account_id) from exc
    events.upstream_call(platform, _outcome(reply.status_code), time.perf_counter() - started)
    try:
        if bodies is not None and 200 <= reply.status_code < 300:
            payload = bodies.decode((method, url, content), reply.content)
        else:
            payload = orjson.loads(reply.content)
    except orjson.JSONDecodeError as exc:
        if reply.status_code >= 500:
            raise UpstreamUnavailableError(
                f"{platform} answered HTTP {reply.status_code}",
                platform=platform,
                account_id=account_id,
            ) from exc
        raise MalformedResponseError(
            f"{platform} sent a body that is not JSON (HTTP {reply.status_code})",
            platform=platform,
            account_id=account_id,
        ) from exc
    return reply, payload


class DecodedBodies:
    """The decoded JSON of the latest successful answer to each of a few recent requests.

    A repeated page (a table reloaded, a dashboard polling) gets the same bytes back from the
    platform; decoding them again was the largest cost of a warm page's upstream call. An
    answer is compared whole with the one kept for its request (a ``memcmp``, microseconds for
    a page), so a changed answer is always decoded and served as it now is. The JSON handed
    out is shared by every caller that got the same bytes, so callers only read it (the
    clients map it into frozen records), and the row memo (``platforms.memo``) knows its rows
    again by identity. Requests are keyed by method, URL (query included) and body; the
    least recently used leave first, so what is kept stays a few pages per client (a Meta
    page of 100 rows is about 70 KB of bytes and 300 KB decoded).

    ``volatile`` names a top-level string member whose value is new in every answer
    (TikTok's envelope ``request_id``): two answers that differ only in that value count as
    the same, and the JSON decoded from the first (holding its value) is handed out again.
    Nothing reads the member of a successful answer.
    """

    def __init__(self, capacity: int = 8, *, volatile: str | None = None) -> None:
        self._capacity = capacity
        self._kept: OrderedDict[tuple[str, str, bytes | None], tuple[bytes, Any]] = OrderedDict()
        self._volatile = None if volatile is None else orjson.dumps(volatile) + b':"'

    def __len__(self) -> int:
        return len(self._kept)

    def decode(self, request: tuple[str, str, bytes | None], body: bytes) -> Any:
        """``orjson.loads(body)``, or the JSON decoded from the same bytes last time."""
        kept = self._kept
        hit = kept.get(request)
        if hit is not None and (hit[0] == body or self._same_but_volatile(hit[0], body)):
            kept.move_to_end(request)
            return hit[1]
        payload = orjson.loads(body)
        kept[request] = (body, payload)
        kept.move_to_end(request)
        if len(kept) > self._capacity:
            kept.popitem(last=False)
        return payload

    def _same_but_volatile(self, kept: bytes, body: bytes) -> bool:
        """Whether ``body`` is ``kept`` with another value of the volatile member: the same
        bytes before the member's value and after it, the member at the top level (one
        ``{`` before it) and its new value a plain string (no escape), so that ``body``
        decodes to ``kept``'s JSON but for that value."""
        name = self._volatile
        if name is None:
            return False
        start = body.find(name)
        if start < 0 or kept.find(name) != start or body.count(b"{", 0, start) != 1:
            return False
        value = start + len(name)
        end, kept_end = body.find(b'"', value), kept.find(b'"', value)
        return (
            end >= 0
            and kept_end >= 0
            and body.find(b"\\", value, end) < 0
            and kept.find(b"\\", value, kept_end) < 0
            and kept[:start] == body[:start]
            and kept[kept_end:] == body[end:]
        )


def _outcome(status: int) -> str:
    """The HTTP-level outcome (TikTok's errors come as 200: their codes are the client's)."""
    if status >= 500:
        return "server_error"
    return "client_error" if status >= 400 else "ok"


def _query(params: Mapping[str, str]) -> str:
    """``urlencode(params, quote_via=quote, safe="")``, each part quoted once: field lists
    and filters are the same on every call, and quoting them cost about 10 us a call."""
    return "&".join(f"{_quoted(name)}={_quoted(value)}" for name, value in params.items())


@lru_cache(maxsize=4096)
def _quoted(text: str) -> str:
    return quote(text, safe="")


def header_seconds(headers: Mapping[str, str], *names: str) -> float | None:
    """The first of ``names`` whose header holds a non-negative number of seconds, or None.

    An HTTP-date or garbage is passed over: a wait we cannot read is no wait."""
    for name in names:
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw.strip())
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None
