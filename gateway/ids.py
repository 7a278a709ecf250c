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


#: Every pair of Crockford digits, indexed by the 10 bits they spell: an ID body is 13 pairs.
_PAIRS: tuple[str, ...] = tuple(high + low for high in CROCKFORD for low in CROCKFORD)
#: The digest's top 130 bits (26 digits of 5 bits) of its first 17 bytes.
_SPARE_BITS = 17 * 8 - ID_LENGTH * 5
#: ``int.from_bytes`` read once: reading it off the class makes a new bound method each time.
_from_bytes = int.from_bytes
#: IDs remembered by ``derive_id``: about 230 bytes each (key, ID and the cache's link), so
#: 2 MB when full. A page of 200 rows derives at most 400 (ad set and campaign), so this holds
#: the last twenty pages: warm pages repeat recent rows. Deriving one afresh costs about 2 us.
DERIVED_IDS = 8_192


@functools.lru_cache(maxsize=DERIVED_IDS)
def derive_id(kind: IdKind, platform: str, external_id: str) -> str:
    """The stable public ID of a platform object (memoized: pages repeat rows and campaigns).

    The body is the top 130 bits of SHA-256("kind\\x1fplatform\\x1fexternal_id") as 26 Crockford
    digits, most significant first. They are read ten bits (two digits) at a time from one
    integer, in one expression: a loop of 26 shifts cost three times as much. ``str.join``
    and ``+`` read an enum member's text directly (an f-string would call ``Enum.__format__``).
    """
    n = (
        _from_bytes(
            hashlib.sha256("\x1f".join((kind, platform, external_id)).encode()).digest()[:17],
            "big",
        )
        >> _SPARE_BITS
    )
    p = _PAIRS
    return kind + (
        f"_{p[n >> 120]}{p[n >> 110 & 1023]}{p[n >> 100 & 1023]}{p[n >> 90 & 1023]}"
        f"{p[n >> 80 & 1023]}{p[n >> 70 & 1023]}{p[n >> 60 & 1023]}{p[n >> 50 & 1023]}"
        f"{p[n >> 40 & 1023]}{p[n >> 30 & 1023]}{p[n >> 20 & 1023]}{p[n >> 10 & 1023]}"
        f"{p[n & 1023]}"
    )


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
