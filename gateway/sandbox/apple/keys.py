"""Deterministic EC P-256 key pairs for the sandbox's API users.

Keys derive from fixed integers so every seed build yields the same credentials; they are
test fixtures, never secrets.
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: Fixed private scalars (any integer in [1, n-1] of P-256 works).
_SCALARS = (
    0x5EED_A991_E001_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0001,
    0x5EED_A991_E002_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0002,
    0x5EED_A991_E003_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0003,
)


@functools.cache
def private_key(index: int) -> ec.EllipticCurvePrivateKey:
    """The ``index``-th fixed key pair (0-based)."""
    return ec.derive_private_key(_SCALARS[index], ec.SECP256R1())


@functools.cache
def private_pem(index: int) -> str:
    """The ``index``-th private key as the PEM an Apple Ads API user downloads."""
    return (
        private_key(index)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode("ascii")
    )


def public_key(index: int) -> ec.EllipticCurvePublicKey:
    """The public half of the ``index``-th key (what the user uploads to Apple)."""
    return private_key(index).public_key()


def key_count() -> int:
    return len(_SCALARS)
