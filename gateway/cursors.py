"""Opaque, HMAC-SHA256-signed pagination cursors.

A cursor is bound to a scope (project, filters and the ordered accounts they select) and
carries the accounts still to read with their upstream resume tokens, and the per-account
totals learned on the first page. Anything that does not verify, or belongs to another scope,
decodes to None: the contract says such a cursor means "first page".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

_VERSION = 1
_SIG_BYTES = 16


@dataclass(frozen=True, slots=True)
class Stop:
    """An account still to be read: its index in the scope, its resume ``token`` (None = from
    its beginning) and how many of its rows were already returned."""

    index: int
    token: str | None = None
    consumed: int = 0


@dataclass(frozen=True, slots=True)
class Position:
    """Where a walk stands: the accounts still to read, in order (the first is the current
    one; accounts skipped after a failure come last), and each account's total (None =
    unknown). An empty queue is the end of the list."""

    queue: tuple[Stop, ...]
    totals: tuple[int | None, ...]


def scope_fingerprint(parts: Sequence[str]) -> str:
    """A short digest of the strings that define a walk's scope."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def encode_cursor(secret: bytes, scope: str, position: Position) -> str:
    """Sign ``position`` for ``scope``."""
    body = orjson.dumps(
        {
            "v": _VERSION,
            "s": scope,
            "q": [[stop.index, stop.token, stop.consumed] for stop in position.queue],
            "n": list(position.totals),
        }
    )
    signature = hmac.new(secret, body, hashlib.sha256).digest()[:_SIG_BYTES]
    return f"{_b64(body)}.{_b64(signature)}"


def decode_cursor(secret: bytes, scope: str, cursor: str) -> Position | None:
    """The position in ``cursor``, or None when it is forged, malformed or foreign."""
    try:
        body_text, sig_text = cursor.split(".", 1)
        body = _unb64(body_text)
        signature = _unb64(sig_text)
    except (ValueError, binascii.Error):
        return None
    expected = hmac.new(secret, body, hashlib.sha256).digest()[:_SIG_BYTES]
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        data = orjson.loads(body)
        if data["v"] != _VERSION or data["s"] != scope:
            return None
        totals = tuple(t if isinstance(t, int) else None for t in data["n"])
        queue = tuple(
            Stop(int(i), t if isinstance(t, str) else None, int(c)) for i, t, c in data["q"]
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    indexes = [stop.index for stop in queue]
    if len(set(indexes)) != len(indexes):
        return None
    if any(not 0 <= stop.index < len(totals) or stop.consumed < 0 for stop in queue):
        return None
    return Position(queue, totals)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("cursor is not ASCII")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
