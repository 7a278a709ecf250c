"""The Meta client's resume tokens: Meta's ``after`` cursor of an upstream page start plus
how many rows of that page were already handed out.

``"<after>|<skip>"`` (``after`` empty at the beginning of the account) resumes by asking for
``limit = skip + count`` rows after that cursor and dropping the first ``skip``: one call,
however the previous page was cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import InvalidInputError

_SEPARATOR = "|"
_MAX_SKIP = 100_000


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
    after, sep, skip = token.rpartition(_SEPARATOR)
    if not sep or not skip.isdigit() or int(skip) > _MAX_SKIP or _SEPARATOR in after:
        raise InvalidInputError("not a Meta resume token", param="cursor")
    return Position(after or None, int(skip))
