"""Public IDs are stored and handed out: the derivation must give exactly the IDs it always gave.

The reference below is the original definition (SHA-256, the top 130 bits of the digest as 26
Crockford base32 digits, most significant first), kept here so that any faster derivation is
checked against it over many inputs.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ids import CROCKFORD, DERIVED_IDS, ID_LENGTH, IdKind, derive_id
from gateway.platforms.base import Platform


def reference_id(kind: IdKind, platform: str, external_id: str) -> str:
    digest = hashlib.sha256(f"{kind.value}\x1f{platform}\x1f{external_id}".encode()).digest()
    number = int.from_bytes(digest[:17], "big") >> (17 * 8 - ID_LENGTH * 5)
    chars = []
    for _ in range(ID_LENGTH):
        chars.append(CROCKFORD[number & 31])
        number >>= 5
    return f"{kind.value}_{''.join(reversed(chars))}"


# IDs as the gateway has always derived them (and stored, and handed to clients).
PINNED = [
    (IdKind.ADSET, Platform.META_ADS, "120210000000000101", "adg_C21VV60M1328G0RC6TBA98NRYF"),
    (IdKind.CAMPAIGN, Platform.TIKTOK_ADS, "1780000000002654", "cmp_7JX73EEN72G8BMVMNXBX3ZTKS2"),
    (IdKind.AD_ACCOUNT, Platform.APPLE_ADS, "4001001", "aa_PGXSA0W3D91XZW59PE069H3316"),
    (IdKind.PROJECT, "meta_ads", "", "prj_X5815C7F82GWNVTRTW80Q5X2JQ"),
    (IdKind.ADSET, "apple_ads", "é—✓ 𝄞", "adg_G19B5R4M4KW8WMGQB5NGPC1NK8"),
]


@pytest.mark.parametrize(("kind", "platform", "external_id", "expected"), PINNED)
def test_known_ids_do_not_change(
    kind: IdKind, platform: str, external_id: str, expected: str
) -> None:
    assert reference_id(kind, platform, external_id) == expected
    assert derive_id(kind, platform, external_id) == expected


@settings(max_examples=3000, deadline=None)
@given(
    kind=st.sampled_from(IdKind),
    platform=st.sampled_from(Platform) | st.text(max_size=12),
    external_id=st.text(max_size=40) | st.integers(min_value=0).map(str),
)
def test_derivation_matches_the_reference(kind: IdKind, platform: str, external_id: str) -> None:
    assert derive_id(kind, platform, external_id) == reference_id(kind, platform, external_id)


def test_a_platform_given_as_text_or_enum_gives_the_same_id() -> None:
    # Callers pass either (records hold the enum, the ID map holds text).
    for platform in Platform:
        assert derive_id(IdKind.ADSET, platform, "42") == derive_id(
            IdKind.ADSET, platform.value, "42"
        )


def test_remembered_ids_are_bounded_and_an_evicted_one_is_derived_the_same() -> None:
    first = derive_id(IdKind.ADSET, Platform.META_ADS, "120210000000000101")
    for n in range(DERIVED_IDS + 10):
        derive_id(IdKind.ADSET, Platform.META_ADS, f"bound-{n}")
    info = derive_id.cache_info()
    assert info.maxsize == DERIVED_IDS and info.currsize == DERIVED_IDS
    misses = info.misses
    again = derive_id(IdKind.ADSET, Platform.META_ADS, "120210000000000101")
    assert derive_id.cache_info().misses == misses + 1  # evicted: derived afresh
    assert again == first == PINNED[0][3]
