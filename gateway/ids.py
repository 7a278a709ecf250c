"""Public IDs: a type prefix and 26 Crockford base32 characters.

IDs are derived from (kind, platform, external id) with SHA-256, so every instance computes the
same ID with no coordination; the store keeps the reverse map.
"""

from __future__ import annotations

import enum
import functools
import hashlib

from gateway.errors import InvalidInputError

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_SET = frozenset(CROCKFORD)
ID_LENGTH = 26


class IdKind(enum.StrEnum):
    """What an ID names, as its prefix."""

    PROJECT = "prj"
    AD_ACCOUNT = "aa"
    CAMPAIGN = "cmp"
    ADSET = "adg"


@functools.lru_cache(maxsize=65_536)
def derive_id(kind: IdKind, platform: str, external_id: str) -> str:
    """The stable public ID of a platform object (memoized: pages repeat campaigns)."""
    digest = hashlib.sha256(f"{kind}\x1f{platform}\x1f{external_id}".encode()).digest()
    number = int.from_bytes(digest[:17], "big") >> (17 * 8 - ID_LENGTH * 5)
    chars = []
    for _ in range(ID_LENGTH):
        chars.append(CROCKFORD[number & 31])
        number >>= 5
    return f"{kind}_{''.join(reversed(chars))}"


def kind_of(value: str) -> IdKind | None:
    """The kind named by an ID's prefix, or None."""
    prefix, sep, _ = value.partition("_")
    if not sep:
        return None
    try:
        return IdKind(prefix)
    except ValueError:
        return None


def check_id(value: str, kind: IdKind, *, param: str) -> str:
    """Validate an ID's prefix and alphabet; return it upper-cased after the prefix.

    An ID of the right kind and alphabet that matches nothing is not an error (it lists
    nothing), so the length is not enforced: clients shorten IDs in examples.
    """
    prefix, sep, body = value.partition("_")
    if not sep or prefix != kind.value:
        raise InvalidInputError(
            f"{param} must be an ID starting with {kind.value}_", param=param, code="invalid_id"
        )
    body = body.upper()
    if not body or len(body) > ID_LENGTH or not set(body) <= _CROCKFORD_SET:
        raise InvalidInputError(
            f"{param} must be {kind.value}_ followed by up to {ID_LENGTH} Crockford base32 "
            "characters (0-9, A-Z without I, L, O, U)",
            param=param,
            code="invalid_id",
        )
    return f"{prefix}_{body}"
