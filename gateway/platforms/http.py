"""The one place where platform clients touch httpx: send, parse JSON, translate transport
failures, read a wait from headers. Status and envelope classification stays with each
platform."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from gateway.errors import MalformedResponseError, UpstreamUnavailableError


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
