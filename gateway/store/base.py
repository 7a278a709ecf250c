"""What the gateway keeps across restarts, as one async interface: issued API keys and the
reverse map of public IDs. SQLite (``sqlite.py``) and PostgreSQL (``postgres.py``) implement
it; ``tests/store/test_contract.py`` runs the same suite against both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import msgspec


class IdTarget(msgspec.Struct, frozen=True, gc=False):
    """What a public ID points at upstream.

    A listing makes one for every new row, so this is a frozen msgspec struct: it builds in a
    sixth of the time of a frozen dataclass (whose ``__init__`` sets each field through
    ``object.__setattr__``). ``gc=False``: it only holds strings."""

    platform: str
    account_external_id: str
    campaign_external_id: str | None
    external_id: str


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An issued API key. ``digest`` is the SHA-256 of the whole key; the key itself is
    never stored. ``revoked_at`` may lie in the future (a rotation's grace period)."""

    key_id: str
    digest: str
    project_id: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def refusal(self, now: datetime) -> str | None:
        """Why the key cannot be used at ``now`` (None when it can)."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return "this API key was revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "this API key has expired"
        return None


class Store(Protocol):
    """The persistent store. Every method may raise ``StoreUnavailableError`` when the
    database cannot be reached; implementations connect and migrate on first use."""

    async def open(self) -> None:
        """Connect and apply the missing schema steps (safe to call again, and from several
        instances at once)."""

    async def close(self) -> None:
        """Write what is pending and disconnect."""

    async def ping(self) -> None:
        """One cheap round trip to the database (readiness); raises ``StoreUnavailableError``
        when it cannot answer."""

    # --- API keys -------------------------------------------------------------------------

    async def add_key(self, key: KeyRecord) -> None:
        """Remember an issued key."""

    async def find_key(self, digest: str) -> KeyRecord | None:
        """The issued key whose whole-key SHA-256 is ``digest``."""

    async def get_key(self, key_id: str) -> KeyRecord | None:
        """The issued key with this public id."""

    async def list_keys(self, project_id: str | None = None) -> list[KeyRecord]:
        """Issued keys (of one project, when given), oldest first."""

    async def revoke_key(self, key_id: str, at: datetime) -> bool:
        """Refuse the key from ``at`` on (an earlier revocation stands). False when no such
        key exists or it was revoked already."""

    async def touch_keys(self, used: Mapping[str, datetime]) -> None:
        """Record last-used times by key id (never moving one backwards)."""

    # --- ID reverse map -------------------------------------------------------------------

    def knows(self, public_id: str) -> bool:
        """Whether ``public_id`` was remembered recently (a cheap check before building an
        entry; False does not mean the database lacks it)."""

    def remember_ids(self, entries: Iterable[tuple[str, IdTarget]]) -> None:
        """Record IDs: visible to ``resolve`` at once, written in the background."""

    async def resolve(self, public_id: str) -> IdTarget | None:
        """What ``public_id`` names, if it was ever seen."""

    async def flush(self) -> None:
        """Wait until remembered IDs are written (or given up on: see ``IdMap``)."""
