"""What each platform package hands the rest of the gateway: one factory and its defaults.

A platform package (``gateway/platforms/<name>/``) exposes ``FACTORY``, a ``PlatformFactory``
that knows where the real API lives, how long to wait for it, which credentials an account
needs, and how to build the client from (possibly configured) settings. Nothing outside the
package repeats any of it: configuration starts from ``FACTORY.defaults`` and the app builds
clients with ``FACTORY.client``; ``registry`` finds the factory of a ``Platform``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from gateway.platforms.base import AdPlatform, Platform
from gateway.platforms.upstream import Upstream


@dataclass(frozen=True, slots=True)
class PlatformSettings:
    """Where one platform's API lives, and how long to wait for it (seconds).

    ``api_version`` and ``token_url`` are for the platforms that have one (Meta's Graph API
    version, Apple's OAuth endpoint). The waits given here suit every platform so far; a
    factory whose API needs others states them in its ``defaults``."""

    base_url: str
    api_version: str | None = None
    token_url: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    pool_timeout: float = 5.0
    #: Overall time for one upstream call, retries included.
    deadline: float = 25.0
    max_attempts: int = 3
    #: Calls per ad account across all instances; None: no budget of our own (the
    #: platform's throttling still applies).
    budget: CallBudget | None = None


@dataclass(frozen=True, slots=True)
class CallBudget:
    """At most ``calls`` upstream calls per ad account every ``per_seconds``, shared by every
    instance (a token bucket: the calls may come in a burst, then at the steady rate)."""

    calls: int
    per_seconds: float


ClientT = TypeVar("ClientT", bound=AdPlatform, covariant=True)


@dataclass(frozen=True, slots=True)
class PlatformFactory(Generic[ClientT]):
    """Builds one platform's client, and owns the settings it starts from.

    ``credentials`` names the keys every configured account of the platform must carry;
    ``build`` makes a client over an HTTP client from settings already merged with the
    defaults."""

    platform: Platform
    defaults: PlatformSettings
    credentials: tuple[str, ...]
    build: Callable[[Upstream, PlatformSettings], ClientT]

    def client(self, http: Upstream, settings: PlatformSettings | None = None) -> ClientT:
        """A client over ``http``, with ``settings`` (the defaults when None)."""
        return self.build(http, self.defaults if settings is None else settings)
