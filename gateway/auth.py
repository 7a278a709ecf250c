"""Bearer API keys -> Principal. Keys are known only by SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.config import Settings
from gateway.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from gateway.store import Store

READ_SCOPE = "ads:read"
KEY_PREFIX = "lp_live_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the project their key belongs to, and its scopes."""

    project_id: str
    scopes: frozenset[str]


def digest_key(key: str) -> str:
    """The hex SHA-256 digest under which a key is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random API key (shown once, stored only as a digest)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


class Authenticator:
    """Resolves an ``Authorization`` header to a Principal."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._store = store
        self._configured: dict[str, Principal] = {}
        for project in settings.projects:
            for key in project.api_keys:
                self._configured[key.sha256] = Principal(project.id, key.scopes)

    def add(self, key_digest: str, principal: Principal) -> None:
        """Accept another key at run time (the sandbox demo key)."""
        self._configured[key_digest] = principal

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller behind a ``Bearer`` header, or AuthenticationError."""
        if not authorization:
            raise AuthenticationError("missing Authorization: Bearer <API key>")
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise AuthenticationError("Authorization must be 'Bearer <API key>'")
        digest = digest_key(key)
        principal = self._configured.get(digest)
        stored_digest = digest if principal is not None else None
        if principal is None:
            stored = self._store.find_key(digest)
            if stored is not None:
                principal = Principal(stored.project_id, stored.scopes)
                stored_digest = stored.digest
        # The lookup is by digest; compare once more in constant time against what was found.
        if principal is None or stored_digest is None:
            raise AuthenticationError("unknown API key")
        if not hmac.compare_digest(stored_digest, digest):
            raise AuthenticationError("unknown API key")
        return principal


def authorize(principal: Principal, project_id: str, known_projects: Iterable[str]) -> None:
    """Check the key may read ads of ``project_id``.

    A project that does not exist and one that belongs to another key both give NotFoundError,
    so a key learns nothing about other projects.
    """
    if project_id != principal.project_id or project_id not in set(known_projects):
        raise NotFoundError("no such project")
    if READ_SCOPE not in principal.scopes:
        raise PermissionDeniedError(f"this API key lacks the {READ_SCOPE} scope")
