"""Bearer API keys -> Principal. Keys are known only by SHA-256 digest.

Two kinds of key are accepted: keys declared in the configuration by digest (any format), and
keys issued into the store (``gateway keys create``; see ``apikeys.py``). Store lookups are
cached for ``cache_ttl`` seconds (found or not), so a key created or revoked by another
instance or the CLI takes effect here within that time, and a steady client costs no query.
Last use is written in the background, at most once per ``touch_interval`` per key and
instance, never on the request's path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cachetools import TTLCache

from gateway.apikeys import KEY_PREFIX, digest_key, key_id_of, new_key
from gateway.config import Settings
from gateway.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    StoreUnavailableError,
)
from gateway.observability.context import current, note_caller
from gateway.store import KeyRecord, Store

__all__ = [
    "KEY_PREFIX",
    "READ_SCOPE",
    "Authenticator",
    "Principal",
    "authorize",
    "digest_key",
    "new_key",
]

log = logging.getLogger("gateway.auth")

READ_SCOPE = "ads:read"
CACHE_TTL = 5.0
TOUCH_INTERVAL = 60.0
_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the project their key belongs to, its scopes, and the key's public id
    (for logs; ``sha256:`` and the start of the digest for a configured key of another
    format)."""

    project_id: str
    scopes: frozenset[str]
    key_id: str | None = None


class Authenticator:
    """Resolves an ``Authorization`` header to a Principal."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        cache_ttl: float = CACHE_TTL,
        touch_interval: float = TOUCH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._now = now
        self._configured: dict[str, Principal] = {}
        for project in settings.projects:
            for key in project.api_keys:
                self._configured[key.sha256] = Principal(project.id, key.scopes)
        self._lookups: TTLCache[str, KeyRecord | None] = TTLCache(
            _CACHE_SIZE, cache_ttl, timer=clock
        )
        self._touched: TTLCache[str, bool] = TTLCache(_CACHE_SIZE, touch_interval, timer=clock)
        self._used: dict[str, datetime] = {}
        self._toucher: asyncio.Task[None] | None = None

    def add(self, key_digest: str, principal: Principal) -> None:
        """Accept another key at run time (the sandbox demo key)."""
        self._configured[key_digest] = principal

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller behind a ``Bearer`` header, or AuthenticationError (StoreUnavailableError
        when issued keys cannot be read). The request's log line names its project and key id.

        Within a request the same header is resolved once: the rate limit and the endpoint
        both ask, and the second gets the first answer (a refusal is not kept: it is asked
        again, and answered the same)."""
        request = current()
        if (
            request is not None
            and request.authenticated is not None
            and request.authenticated[0] == authorization
        ):
            return request.authenticated[1]
        principal = await self._principal(authorization)
        note_caller(principal.project_id, principal.key_id)
        if request is not None and authorization is not None:
            request.authenticated = (authorization, principal)
        return principal

    async def _principal(self, authorization: str | None) -> Principal:
        if not authorization:
            raise AuthenticationError("missing Authorization: Bearer <API key>")
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise AuthenticationError("Authorization must be 'Bearer <API key>'")
        digest = digest_key(key)
        configured = self._configured.get(digest)
        if configured is not None:
            key_id = configured.key_id or key_id_of(key) or f"sha256:{digest[:12]}"
            return Principal(configured.project_id, configured.scopes, key_id)
        record = await self._lookup(digest)
        if record is None:
            raise AuthenticationError("unknown API key")
        now = self._now()
        refusal = record.refusal(now)
        if refusal is not None:
            raise AuthenticationError(refusal)
        self._note_use(record.key_id, now)
        return Principal(record.project_id, record.scopes, record.key_id)

    async def aclose(self) -> None:
        """Write the last-used times still pending."""
        if self._toucher is not None:
            await self._toucher

    async def _lookup(self, digest: str) -> KeyRecord | None:
        if digest in self._lookups:
            return self._lookups[digest]
        record = await self._store.find_key(digest)
        self._lookups[digest] = record
        return record

    def _note_use(self, key_id: str, now: datetime) -> None:
        if key_id in self._touched:
            return
        self._touched[key_id] = True
        self._used[key_id] = now
        if self._toucher is None or self._toucher.done():
            self._toucher = asyncio.get_running_loop().create_task(self._write_uses())

    async def _write_uses(self) -> None:
        while self._used:
            used, self._used = self._used, {}
            try:
                await self._store.touch_keys(used)
            except StoreUnavailableError as exc:
                # Last use is informational: losing one update must not fail anything.
                log.warning("last-used times of %d key(s) not written: %s", len(used), exc.detail)


def authorize(principal: Principal, project_id: str, known_projects: Iterable[str]) -> None:
    """Check the key may read ads of ``project_id``.

    A project that does not exist and one that belongs to another key both give NotFoundError,
    so a key learns nothing about other projects.
    """
    if project_id != principal.project_id or project_id not in set(known_projects):
        raise NotFoundError("no such project")
    if READ_SCOPE not in principal.scopes:
        raise PermissionDeniedError(f"this API key lacks the {READ_SCOPE} scope")
