"""Issued API keys: their format and lifecycle (issue, rotate, revoke).

A key reads ``lp_live_<key id>_<secret>``, like the contract's ``lp_live_01HX9Y6K7EJ4T2_...``:
the key id (14 Crockford base32 characters: 10 of the issue time in milliseconds, so ids sort
by age, and 4 random) is public and names the key in listings and logs; the secret is 256
random bits. Only the SHA-256 of the whole key is stored. SHA-256 rather than a slow password
hash is enough because the secret is random, not chosen by a person.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gateway.ids import CROCKFORD
from gateway.store import KeyRecord, Store

KEY_PREFIX = "lp_live_"
KEY_ID_LENGTH = 14
_TIME_CHARS = 10


def digest_key(key: str) -> str:
    """The hex SHA-256 digest under which a key is stored (and declared in configuration)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key_id(now: datetime | None = None) -> str:
    """A fresh key id: the time in milliseconds, then randomness."""
    millis = int((now or datetime.now(UTC)).timestamp() * 1000)
    chars = [CROCKFORD[(millis >> (5 * i)) & 31] for i in reversed(range(_TIME_CHARS))]
    chars += [secrets.choice(CROCKFORD) for _ in range(KEY_ID_LENGTH - _TIME_CHARS)]
    return "".join(chars)


def new_key(key_id: str | None = None) -> str:
    """A fresh API key (shown once, stored only as a digest)."""
    return f"{KEY_PREFIX}{key_id or new_key_id()}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str | None:
    """The key id inside a key of our format (None for other formats). Not proof of
    anything: only a key whose digest matched may be named by it."""
    if not key.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = key[len(KEY_PREFIX) :].partition("_")
    if not sep or not secret or len(key_id) != KEY_ID_LENGTH:
        return None
    return key_id if all(c in CROCKFORD for c in key_id) else None


async def issue_key(
    store: Store,
    project_id: str,
    scopes: Iterable[str],
    *,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[str, KeyRecord]:
    """Create and store a key; returns the key itself (to show once) and its record."""
    created = now or datetime.now(UTC)
    key_id = new_key_id(created)
    key = new_key(key_id)
    record = KeyRecord(
        key_id=key_id,
        digest=digest_key(key),
        project_id=project_id,
        scopes=frozenset(scopes),
        created_at=created,
        expires_at=expires_at,
    )
    await store.add_key(record)
    return key, record


async def rotate_key(
    store: Store, key_id: str, *, grace: timedelta = timedelta(0), now: datetime | None = None
) -> tuple[str, KeyRecord, KeyRecord] | None:
    """Issue a replacement with the old key's project, scopes and expiry, then revoke the old
    key after ``grace`` (so clients can switch over). None when ``key_id`` is unknown or
    already revoked. Returns the new key, its record, and the old record as revoked."""
    at = now or datetime.now(UTC)
    old = await store.get_key(key_id)
    if old is None or old.refusal(at) is not None:
        return None
    key, record = await issue_key(
        store, old.project_id, old.scopes, expires_at=old.expires_at, now=at
    )
    # The replacement exists before the old key is revoked: a failure in between leaves
    # both working, never neither.
    await store.revoke_key(key_id, at + grace)
    return key, record, replace(old, revoked_at=at + grace)
