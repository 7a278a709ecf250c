"""Public IDs and signed cursors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.cursors import MAX_ROWS, Position, Stop, decode_cursor, encode_cursor, seal
from gateway.errors import InvalidInputError
from gateway.ids import CROCKFORD, ID_LENGTH, IdKind, check_id, derive_id, kind_of

SECRET = b"k" * 32


def test_ids_are_deterministic_prefixed_crockford() -> None:
    first = derive_id(IdKind.ADSET, "meta_ads", "120210000000000101")
    assert first == derive_id(IdKind.ADSET, "meta_ads", "120210000000000101")
    assert first.startswith("adg_")
    body = first.removeprefix("adg_")
    assert len(body) == ID_LENGTH
    assert set(body) <= set(CROCKFORD)
    # kind and platform are part of the identity
    assert first != derive_id(IdKind.CAMPAIGN, "meta_ads", "120210000000000101")
    assert first != derive_id(IdKind.ADSET, "tiktok_ads", "120210000000000101")
    assert kind_of(first) is IdKind.ADSET
    assert kind_of("nope") is None


@pytest.mark.parametrize(
    "value", ["adg_01HXG9", "cmp_01HXG9", "cmp_", "cmp_01HXU9", "cmp_" + "0" * 27]
)
def test_check_id_rejects_wrong_prefix_or_alphabet(value: str) -> None:
    if value == "cmp_01HXG9":
        assert check_id(value, IdKind.CAMPAIGN, param="campaignId") == value
        return
    with pytest.raises(InvalidInputError) as info:
        check_id(value, IdKind.CAMPAIGN, param="campaignId")
    assert info.value.code == "invalid_id"
    assert info.value.param == "campaignId"


def test_check_id_accepts_lower_case() -> None:
    assert check_id("cmp_01hxg9", IdKind.CAMPAIGN, param="c") == "cmp_01HXG9"


def any_token(index: int, token: str) -> bool:
    return True


def decode(cursor: str, *, secrets: tuple[bytes, ...] = (SECRET,), scope: str = "scope") -> Any:
    return decode_cursor(secrets, scope, cursor, accounts=3, token_ok=any_token)


def test_cursor_round_trip_and_rejections() -> None:
    position = Position((Stop(2, "tok|3", 17), Stop(0)), (10, None, 40))
    cursor = encode_cursor(SECRET, "scope", position)
    assert decode(cursor) == position
    assert decode(cursor, scope="other-scope") is None
    assert decode(cursor, secrets=(b"x" * 32,)) is None
    body, sig = cursor.split(".")
    assert decode(body[:-2] + "AA." + sig) is None
    assert decode("") is None
    assert decode("é.é") is None
    # a queue naming an account twice or one outside the scope is not a position
    assert decode(encode_cursor(SECRET, "scope", Position((Stop(1), Stop(1)), (1, 2, 3)))) is None
    assert decode(encode_cursor(SECRET, "scope", Position((Stop(5),), (1, 2, 3)))) is None
    # nor are totals for another number of accounts
    assert decode(encode_cursor(SECRET, "scope", Position((Stop(1),), (1, 2)))) is None
    # nor a token the account's platform could not have issued
    rejecting = decode_cursor(
        (SECRET,), "scope", cursor, accounts=3, token_ok=lambda index, token: index != 2
    )
    assert rejecting is None
    # two instances with the same secret accept each other's cursors
    assert decode(cursor, secrets=(bytes(SECRET),)) == position


def test_every_listed_secret_verifies_and_only_the_given_one_signs() -> None:
    position = Position((Stop(1, "o40", 40),), (None, 90, None))
    old = encode_cursor(b"old-secret-0123456789", "scope", position)
    new_and_old = (b"new-secret-0123456789", b"old-secret-0123456789")
    assert decode(old, secrets=new_and_old) == position
    assert decode(old, secrets=(b"new-secret-0123456789",)) is None


def _valid(position: Position, accounts: int) -> bool:
    indexes = [stop.index for stop in position.queue]
    return (
        len(position.totals) == accounts
        and len(set(indexes)) == len(indexes)
        and all(0 <= i < accounts for i in indexes)
        and all(0 <= stop.consumed <= MAX_ROWS for stop in position.queue)
        and all(t is None or 0 <= t <= MAX_ROWS for t in position.totals)
        and all(t is None or isinstance(t, str) for t in (s.token for s in position.queue))
    )


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_string_is_no_cursor(text: str) -> None:
    assert decode(text) is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=12,
)
COUNTS = st.one_of(st.integers(-3, 5), st.integers(), st.booleans(), st.none(), st.text())
STOPS = st.lists(
    st.one_of(st.tuples(COUNTS, st.one_of(st.none(), st.text(max_size=6), JSON), COUNTS), JSON),
    max_size=4,
)
PAYLOADS = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {
            "v": st.sampled_from([1, 1, 2, True, "1"]),
            "s": st.sampled_from(["scope", "scope", "other"]),
            "q": st.one_of(STOPS, JSON),
            "n": st.one_of(st.lists(COUNTS, min_size=3, max_size=3), JSON),
        }
    ),
)


@settings(max_examples=500, deadline=None)
@given(PAYLOADS)
def test_any_signed_payload_is_a_valid_position_or_none(payload: Any) -> None:
    body = json.dumps(payload).encode()
    position = decode(seal(SECRET, body))
    assert position is None or _valid(position, 3)


@given(secret=st.binary(min_size=16, max_size=80), body=st.binary(max_size=300))
def test_a_cursor_is_its_body_and_the_first_16_bytes_of_its_hmac_sha256(
    secret: bytes, body: bytes
) -> None:
    signature = hmac.new(secret, body, hashlib.sha256).digest()[:16]
    expected = ".".join(
        base64.urlsafe_b64encode(part).rstrip(b"=").decode() for part in (body, signature)
    )
    assert seal(secret, body) == expected
    assert seal(secret, body) == expected  # the keyed HMAC is reused, never changed
