"""The one place where platform clients touch httpx: send, parse JSON, translate transport
failures, read a wait from headers. Status and envelope classification stays with each
platform."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import orjson

from gateway.errors import MalformedResponseError, UpstreamUnavailableError


def build_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str],
    content: bytes | None = None,
) -> httpx.Request:
    """``client.build_request`` with ``params`` encoded here and the URL parsed once.

    Given ``params``, httpx parses and validates the URL three times per request, a character
    at a time in Python; a page's first call has the same URL every time, and the cache keeps
    it parsed. Every reserved character is percent-encoded, as httpx does (a space as %20).
    """
    full = f"{url}?{urlencode(params, quote_via=quote, safe='')}" if params else url
    return client.build_request(method, _parsed(full), headers=headers, content=content)


@lru_cache(maxsize=1024)
def _parsed(url: str) -> httpx.URL:
    return httpx.URL(url)


async def send_json(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    platform: str,
    account_id: str | None,
) -> tuple[httpx.Response, Any]:
    """Send ``request`` and return the response with its decoded JSON body.

    Timeouts, refused or dropped connections become ``UpstreamUnavailableError``; a body that
    is not JSON becomes ``MalformedResponseError`` (or ``UpstreamUnavailableError`` on a 5xx,
    whose body is often an HTML error page).
    """
    try:
        response = await client.send(request)
    except httpx.TimeoutException as exc:
        raise UpstreamUnavailableError(
            f"{platform} did not answer in time", platform=platform, account_id=account_id
        ) from exc
    except httpx.TransportError as exc:
        raise UpstreamUnavailableError(
            f"{platform} connection failed ({type(exc).__name__})",
            platform=platform,
            account_id=account_id,
        ) from exc
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        if response.status_code >= 500:
            raise UpstreamUnavailableError(
                f"{platform} answered HTTP {response.status_code}",
                platform=platform,
                account_id=account_id,
            ) from exc
        raise MalformedResponseError(
            f"{platform} sent a body that is not JSON (HTTP {response.status_code})",
            platform=platform,
            account_id=account_id,
        ) from exc
    return response, payload


def header_seconds(headers: httpx.Headers, *names: str) -> float | None:
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
