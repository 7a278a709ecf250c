"""Opaque, HMAC-SHA256-signed pagination cursors.

A cursor is bound to a scope (project, filters and the ordered accounts they select) and
carries the accounts still to read with their upstream resume tokens, and the per-account
totals learned on the first page. Anything that does not verify, belongs to another scope, or
holds a position the gateway could not have written decodes to None: the contract says such a
cursor means "first page". Several secrets may verify (the first one signs), so a secret can be
rotated without turning every cursor in flight into a first page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import orjson

_VERSION = 1
_SIG_BYTES = 16
#: Bounds of what a cursor may carry; past them it is not one the gateway wrote.
MAX_CURSOR_CHARS = 65_536
MAX_TOKEN_CHARS = 2_048
MAX_ROWS = 10**9


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
    return seal(secret, body)


def seal(secret: bytes, body: bytes) -> str:
    """``body`` and its signature in the cursor's text form."""
    return f"{_b64(body)}.{_b64(_signature(secret, body))}"


def _signature(secret: bytes, body: bytes) -> bytes:
    mac = _keyed(secret).copy()
    mac.update(body)
    return mac.digest()[:_SIG_BYTES]


@lru_cache(maxsize=16)
def _keyed(secret: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 keyed with ``secret``, to be copied for each message: OpenSSL 3 looks
    the digest up again for every new HMAC, which made keying cost twice the signing of a
    cursor's few hundred bytes. (Secrets are few: the configured ones.)"""
    return hmac.new(secret, digestmod=hashlib.sha256)


def decode_cursor(
    secrets: Sequence[bytes],
    scope: str,
    cursor: str,
    *,
    accounts: int,
    token_ok: Callable[[int, str], bool],
) -> Position | None:
    """The position in ``cursor``, or None when it is forged, malformed or foreign.

    ``secrets`` are every secret that may have signed it (rotation); ``accounts`` is how many
    accounts the scope holds, and ``token_ok(index, token)`` says whether the account at
    ``index`` could have issued ``token``. A signed payload is still checked field by field
    against those bounds: the secret may leak, and a position the walk could not have written
    must not reach a platform or the walk's arithmetic.
    """
    body = _verified_body(secrets, cursor)
    if body is None:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("v") != _VERSION or data.get("s") != scope:
        return None
    totals = _totals(data.get("n"), accounts)
    queue = _queue(data.get("q"), accounts, token_ok)
    if totals is None or queue is None:
        return None
    return Position(queue, totals)


def _verified_body(secrets: Sequence[bytes], cursor: str) -> bytes | None:
    if len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
        return None
    body_text, dot, sig_text = cursor.partition(".")
    if not dot:
        return None
    try:
        body = _unb64(body_text)
        signature = _unb64(sig_text)
    except (ValueError, binascii.Error):
        return None
    for secret in secrets:
        if hmac.compare_digest(signature, _signature(secret, body)):
            return body
    return None


def _count(value: object) -> int | None:
    """``value`` if it is a row count the walk could have written (bool is no int here)."""
    if type(value) is int and 0 <= value <= MAX_ROWS:
        return value
    return None


def _totals(raw: object, accounts: int) -> tuple[int | None, ...] | None:
    if not isinstance(raw, list) or len(raw) != accounts:
        return None
    totals: list[int | None] = []
    for item in raw:
        if item is not None and _count(item) is None:
            return None
        totals.append(_count(item))
    return tuple(totals)


def _queue(
    raw: object, accounts: int, token_ok: Callable[[int, str], bool]
) -> tuple[Stop, ...] | None:
    if not isinstance(raw, list) or len(raw) > accounts:
        return None
    stops: list[Stop] = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 3:
            return None
        index, token, consumed = item
        if type(index) is not int or not 0 <= index < accounts or _count(consumed) is None:
            return None
        if token is not None and not (
            isinstance(token, str) and len(token) <= MAX_TOKEN_CHARS and token_ok(index, token)
        ):
            return None
        stops.append(Stop(index, token, consumed))
    if len({stop.index for stop in stops}) != len(stops):
        return None
    return tuple(stops)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("cursor is not ASCII")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
