"""The seam between the platform clients and the network: one protocol, one reply type.

Every upstream request, in production and in tests alike, is one ``Upstream.exchange``: the
platform clients build it through ``platforms.http.fetch_json`` and read a ``Reply``. Two
implementations stand behind it: ``pool.NetworkUpstream`` (aiohttp, the network) and
``inprocess.TransportUpstream`` (any httpx transport: the in-process sandboxes, test doubles).
``pool.upstream_pool`` picks one.

Both send the same default headers, apply the same timeouts, undo a gzip or deflate body,
keep no cookies, and report a peer that never answered with HTTP as ``ExchangeError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Protocol


def _user_agent() -> str:
    try:
        return f"adset-gateway/{metadata.version('adset-gateway')}"
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "adset-gateway"


#: Sent on every upstream request unless the request names the header itself.
DEFAULT_HEADERS: Mapping[str, str] = {
    "accept": "*/*",
    "accept-encoding": "gzip, deflate",
    "user-agent": _user_agent(),
}


def with_defaults(headers: Mapping[str, str]) -> dict[str, str]:
    """A request's headers as both kinds of ``Upstream`` send them: ``DEFAULT_HEADERS`` under
    ``headers``, every name lower-cased (so the request's own wins whatever its case)."""
    merged = dict(DEFAULT_HEADERS)
    merged.update((name.lower(), value) for name, value in headers.items())
    return merged


@dataclass(frozen=True, slots=True)
class Reply:
    """An upstream answer, read whole: status, headers and the (decoded) body.

    ``headers`` is case-insensitive in every reply an ``Upstream`` makes."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300


class ExchangeError(Exception):
    """No HTTP answer: the connection was refused, dropped or broken, or a timeout passed.

    ``timed_out`` tells a peer that was too slow from one that failed outright; the message
    names the underlying failure, never the request's headers."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class Upstream(Protocol):
    """One platform's way onto the wire, owned by the app and shared by its clients."""

    async def exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> Reply:
        """Send one request and read the whole answer.

        ``url`` is absolute and already percent-encoded (it is sent as given); ``headers``
        are added to ``DEFAULT_HEADERS`` and win over them. Raises ``ExchangeError`` when no
        HTTP answer came back; any HTTP status is a ``Reply``."""
        ...

    async def aclose(self) -> None:
        """Close the connections; the upstream is not used afterwards."""
        ...
