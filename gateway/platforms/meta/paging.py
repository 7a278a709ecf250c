"""The Meta client's resume tokens: Meta's ``after`` cursor of an upstream page start plus
how many rows of that page were already handed out.

``"<after>|<skip>"`` (``after`` empty at the beginning of the account) resumes by asking for
``limit = skip + count`` rows after that cursor and dropping the first ``skip``: one call,
however the previous page was cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import InvalidInputError

_SEPARATOR = "|"
_MAX_SKIP = 100_000
# Meta's ``after`` cursors are base64 text (either alphabet). Anything else did not come from
# Meta, and is never sent to it: not even quoted, as ``x&access_token=...`` would otherwise be.
_TOKEN = re.compile(r"(?P<after>[A-Za-z0-9+/_=-]{0,1024})\|(?P<skip>[0-9]{1,6})")


@dataclass(frozen=True, slots=True)
class Position:
    """Rows ``skip`` onwards after Meta cursor ``after`` (None = the account's start)."""

    after: str | None
    skip: int

    def encode(self) -> str:
        return f"{self.after or ''}{_SEPARATOR}{self.skip}"

    def advanced(self, rows: int) -> Position:
        return Position(self.after, self.skip + rows)


START = Position(None, 0)


def decode_token(token: str | None) -> Position:
    """The position in ``token``; None is the start of the account."""
    if token is None:
        return START
    match = _TOKEN.fullmatch(token)
    if match is None or int(match["skip"]) > _MAX_SKIP:
        raise InvalidInputError("not a Meta resume token", param="cursor", code="invalid_cursor")
    return Position(match["after"] or None, int(match["skip"]))


def is_resume_token(token: str) -> bool:
    """Whether ``token`` is one this client could have issued: base64 ``after`` of at most
    1024 characters, and a skip of at most 100,000 rows."""
    match = _TOKEN.fullmatch(token)
    return match is not None and int(match["skip"]) <= _MAX_SKIP
