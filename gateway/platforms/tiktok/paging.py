"""Offsets over TikTok's page-number paging, and the client's resume tokens.

A resume token is the absolute offset of the next row in the order TikTok returns for the
pushed-down filters (``adgroup_id`` descending). When rows are also filtered locally the offset
still counts upstream rows, so a resumed walk rescans nothing it has already passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import InvalidInputError

MAX_PAGE_SIZE = 1000
#: The largest offset a token may carry: far past any advertiser's ad groups, and small enough
#: that the page number sent upstream stays an ordinary integer.
MAX_OFFSET = 10_000_000
_TOKEN = re.compile(r"o([0-9]{1,8})")


@dataclass(frozen=True, slots=True)
class Window:
    """One ``adgroup/get/`` request: ``page``/``page_size``, and how many leading rows of
    the answer precede the wanted offset."""

    page: int
    page_size: int
    skip: int

    @property
    def first_offset(self) -> int:
        return (self.page - 1) * self.page_size


def plan_window(offset: int, count: int) -> Window:
    """A page that starts at or before ``offset`` and covers as many of the ``count`` rows
    from there as one request can.

    Picks the smallest page size S in [count, MAX_PAGE_SIZE] whose page holding ``offset``
    also holds ``offset + count - 1``, so one request suffices. When no such S exists the
    page of size ``count`` holding ``offset`` covers a prefix, and the rest starts on a page
    boundary, where the next plan needs no skip: two requests in all.
    """
    if offset < 0 or count < 1:
        raise ValueError("offset must be >= 0 and count >= 1")
    count = min(count, MAX_PAGE_SIZE)
    last = offset + count - 1
    for size in range(count, MAX_PAGE_SIZE + 1):
        if offset // size == last // size:
            return _window(offset, size)
    return _window(offset, count)


def _window(offset: int, size: int) -> Window:
    page = offset // size + 1
    return Window(page=page, page_size=size, skip=offset - (page - 1) * size)


def encode_token(offset: int) -> str:
    """The opaque token for an upstream offset."""
    return f"o{offset}"


def decode_token(token: str | None) -> int:
    """The upstream offset in ``token`` (None = the beginning)."""
    if token is None:
        return 0
    if not is_resume_token(token):
        raise InvalidInputError("not a TikTok resume token", param="cursor", code="invalid_cursor")
    return int(token[1:])


def is_resume_token(token: str) -> bool:
    """Whether ``token`` is one this client could have issued: ``o`` and an offset in
    [0, MAX_OFFSET]."""
    match = _TOKEN.fullmatch(token)
    return match is not None and int(match[1]) <= MAX_OFFSET
