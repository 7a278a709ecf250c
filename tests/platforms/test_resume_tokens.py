"""Each platform's resume-token check accepts what its client issues and nothing else."""

from __future__ import annotations

import pytest

from gateway.platforms.apple.phases import make_token, parse_token
from gateway.platforms.base import Platform
from gateway.platforms.meta.paging import Position
from gateway.platforms.tiktok.paging import encode_token
from gateway.platforms.tokens import is_resume_token

ISSUED = [
    (Platform.META_ADS, Position(None, 0).encode()),
    (Platform.META_ADS, Position("QVFIUmN4ZGt2", 37).encode()),
    (Platform.META_ADS, Position("c2J4OjEyMDIxMDAwMDAwMDAwMDEwMQ==", 100_000).encode()),
    (Platform.META_ADS, Position("ab+/_-", 1).encode()),
    (Platform.TIKTOK_ADS, encode_token(0)),
    (Platform.TIKTOK_ADS, encode_token(10_000_000)),
    (Platform.APPLE_ADS, make_token(0, 0, [None, None])),
    (Platform.APPLE_ADS, make_token(1, 4000, [120, None])),
    (Platform.APPLE_ADS, make_token(1, 10_000_000, [None, 7])),
]

REFUSED = [
    (Platform.META_ADS, "x&access_token=evil#|0"),
    (Platform.META_ADS, "QVFI|²"),
    (Platform.META_ADS, "QVFI|100001"),
    (Platform.META_ADS, "QVFI"),
    (Platform.META_ADS, "A" * 1025 + "|0"),
    (Platform.META_ADS, "a|b|1"),
    (Platform.TIKTOK_ADS, "o²"),
    (Platform.TIKTOK_ADS, "o10000001"),
    (Platform.TIKTOK_ADS, "o-1"),
    (Platform.TIKTOK_ADS, "o1&access_token=evil#"),
    (Platform.TIKTOK_ADS, "|0"),
    (Platform.APPLE_ADS, "2:0"),
    (Platform.APPLE_ADS, "0:²"),
    (Platform.APPLE_ADS, "0:10000001"),
    (Platform.APPLE_ADS, "0:1;1,2,3"),
    (Platform.APPLE_ADS, "0:1&access_token=evil#"),
    (Platform.APPLE_ADS, "o5"),
]


@pytest.mark.parametrize(("platform", "token"), ISSUED)
def test_tokens_the_clients_issue_pass(platform: Platform, token: str) -> None:
    assert is_resume_token(platform, token)


@pytest.mark.parametrize(("platform", "token"), REFUSED)
def test_tokens_no_client_issues_are_refused(platform: Platform, token: str) -> None:
    assert not is_resume_token(platform, token)


def test_apple_tokens_round_trip_their_carried_totals() -> None:
    assert parse_token(make_token(1, 5, [12, None]), 2) == (1, 5, [12, None])
