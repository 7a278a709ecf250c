"""Resume points encoded only when read."""

from __future__ import annotations

from gateway.platforms.base import LazyTokens


def test_tokens_are_encoded_when_read_and_compare_like_a_list() -> None:
    encoded: list[int] = []

    def encode(offset: int) -> str:
        encoded.append(offset)
        return f"o{offset}"

    tokens = LazyTokens([0, 1, 2, None], encode)
    assert encoded == []  # nothing encoded until a token is read
    assert tokens[1] == "o1" and encoded == [1]
    assert tokens[3] is None
    assert len(tokens) == 4
    assert tokens[1:3] == ["o1", "o2"]
    assert tokens == ["o0", "o1", "o2", None]
    assert tokens != ["o0", "o1", "o2", "o3"]
    assert tokens != "o0o1o2"
