"""The document cache is bounded by memory, least recently used out; tokens are counted with
comments included and no further than needed."""

from __future__ import annotations

from graphql import parse

from gateway.schema.documents import BYTES_PER_CHAR, DocumentCache, Prepared, count_tokens


def prepared(text: str) -> Prepared:
    return Prepared(parse(text))


def test_the_cache_keeps_documents_within_its_bytes_dropping_the_least_recently_used() -> None:
    texts = [f"query Q{i} {{ __typename }}" + " " * (100 - 24) for i in range(10)]
    cache = DocumentCache(max_bytes=len(texts[0]) * BYTES_PER_CHAR * 3)
    for text in texts[:3]:
        cache.put(text, prepared(text))
    assert cache.get(texts[0]) is not None  # now the most recently used
    cache.put(texts[3], prepared(texts[3]))
    assert len(cache) == 3
    assert cache.bytes <= cache.max_bytes
    assert cache.get(texts[1]) is None  # the least recently used went first
    assert all(cache.get(t) is not None for t in (texts[0], texts[2], texts[3]))


def test_a_document_larger_than_the_whole_cache_is_not_kept() -> None:
    cache = DocumentCache(max_bytes=10)
    cache.put("query { __typename }", prepared("query { __typename }"))
    assert len(cache) == 0
    assert cache.bytes == 0


def test_tokens_include_comments_and_counting_stops_past_the_limit() -> None:
    assert count_tokens("query { __typename }", 100) == 4
    assert count_tokens("# one\nquery { __typename } # two", 100) == 6
    assert count_tokens("#c\n" * 10_000, 50) == 51
