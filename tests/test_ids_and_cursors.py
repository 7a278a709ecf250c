"""Public IDs and signed cursors."""

from __future__ import annotations

import pytest

from gateway.cursors import Position, Stop, decode_cursor, encode_cursor
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


def test_cursor_round_trip_and_rejections() -> None:
    position = Position((Stop(2, "tok|3", 17), Stop(0)), (10, None, 40))
    cursor = encode_cursor(SECRET, "scope", position)
    assert decode_cursor(SECRET, "scope", cursor) == position
    assert decode_cursor(SECRET, "other-scope", cursor) is None
    assert decode_cursor(b"x" * 32, "scope", cursor) is None
    body, sig = cursor.split(".")
    assert decode_cursor(SECRET, "scope", body[:-2] + "AA." + sig) is None
    assert decode_cursor(SECRET, "scope", "") is None
    assert decode_cursor(SECRET, "scope", "é.é") is None
    # a queue naming an account twice or one outside the scope is not a position
    twice = encode_cursor(SECRET, "scope", Position((Stop(1), Stop(1)), (1, 2)))
    assert decode_cursor(SECRET, "scope", twice) is None
    outside = encode_cursor(SECRET, "scope", Position((Stop(5),), (1, 2)))
    assert decode_cursor(SECRET, "scope", outside) is None
    # two instances with the same secret accept each other's cursors
    assert decode_cursor(bytes(SECRET), "scope", cursor) == position
