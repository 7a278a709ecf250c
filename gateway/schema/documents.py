"""Bounded GraphQL documents: a size and token limit before parsing, and one cache of parsed
and validated documents bounded by their total size.

graphql-core's parser limit skips comments when it counts, and lexing a 30 MB comment froze the
event loop for seconds; so a document is first held to ``MAX_DOCUMENT_CHARS`` (an O(1) check),
then its tokens are counted with every token included (comments too), stopping at the first
one past ``MAX_TOKENS``. Only then is it parsed and validated, and the result kept in an LRU
bounded by the memory its documents hold (a count-bounded cache holds 256 documents however
large they are).

Errors are request errors with ``extensions.code`` ``document_too_large`` or
``too_many_tokens``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, GraphQLSyntaxError, Source, parse
from graphql.language import Lexer, TokenKind
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.schema.limits import coded_error

MAX_DOCUMENT_CHARS = 100_000
MAX_TOKENS = 2000
#: Memory the cache's documents may hold, estimated from their length: a parsed document keeps
#: its text, and its token chain keeps each token's own text again (comments and strings
#: included), about 3 bytes a character in all (measured: +5.8 MB for 20 distinct documents of
#: 100,000 characters).
CACHE_BYTES = 16 * 1024 * 1024
BYTES_PER_CHAR = 3


@dataclass
class Prepared:
    """A parsed document and, once validated, its validation errors."""

    document: DocumentNode
    errors: Sequence[GraphQLError] | None = None


class DocumentCache:
    """Prepared documents by their text, least recently used first out, bounded by the memory
    they are estimated to hold."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, Prepared] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str) -> Prepared | None:
        entry = self._entries.get(text)
        if entry is not None:
            self._entries.move_to_end(text)
        return entry

    def put(self, text: str, entry: Prepared) -> None:
        size = len(text) * BYTES_PER_CHAR
        if size > self.max_bytes or text in self._entries:
            return
        self._entries[text] = entry
        self.bytes += size
        while self.bytes > self.max_bytes:
            evicted, _ = self._entries.popitem(last=False)
            self.bytes -= len(evicted) * BYTES_PER_CHAR


def count_tokens(text: str, limit: int) -> int:
    """Tokens in ``text``, comments included, counting no further than ``limit + 1``."""
    lexer = Lexer(Source(text))
    token = lexer.token
    count = 0
    while token.kind is not TokenKind.EOF and count <= limit:
        token = lexer.read_next_token(token.end)
        if token.kind is not TokenKind.EOF:
            count += 1
    return count


def check_document(text: str) -> None:
    """Raise a coded request error when ``text`` is too large to parse."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise coded_error(
            f"the document is {len(text)} characters long; at most {MAX_DOCUMENT_CHARS} "
            "are allowed",
            "document_too_large",
        )
    try:
        tokens = count_tokens(text, MAX_TOKENS)
    except GraphQLSyntaxError:
        return  # the parser reports it, with its location
    if tokens > MAX_TOKENS:
        raise coded_error(
            f"the document has more than {MAX_TOKENS} tokens (comments count too)",
            "too_many_tokens",
        )


class DocumentLimits(SchemaExtension):
    """Checks each new document's size, then parses and validates it once per cache life."""

    def __init__(self, cache: DocumentCache) -> None:
        super().__init__()
        self._cache = cache
        self._entry: Prepared | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        text = context.query or ""
        if len(text) > MAX_DOCUMENT_CHARS:
            check_document(text)  # before the cache lookup, which would hash the whole text
        entry = self._cache.get(text)
        if entry is None:
            check_document(text)
            entry = Prepared(parse(text, max_tokens=MAX_TOKENS))
            self._cache.put(text, entry)
        self._entry = entry
        context.graphql_document = entry.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        entry = self._entry
        if entry is not None and context.graphql_document is entry.document:
            if entry.errors is None:
                entry.errors = validate_document(
                    context.schema._schema, entry.document, context.validation_rules
                )
            context.pre_execution_errors = list(entry.errors)
        yield
