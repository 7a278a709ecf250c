"""What the listing service takes and gives: page size, filters, sources, rows and pages.

The endpoints (``rest``, ``schema/``) build their answers from these types only; how a page is
assembled stays in ``walk``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from gateway.cursors import Position, encode_cursor
from gateway.errors import InvalidInputError, RateLimitedError, UpstreamError
from gateway.ids import IdKind, derive_id
from gateway.platforms.base import AccountRef, AdSetRecord, AdSetStatus, Platform, Record

if TYPE_CHECKING:
    from gateway.listing.walk import Positions

_DIGITS = re.compile(r"[0-9]{1,4}")  # ASCII only: str.isdigit() accepts "²" and "١٠"


class PageSize(int):
    """A page size the API accepts, checked when made: REST's ``limit``, GraphQL's ``first``
    and the OpenAPI document all take their bounds from here."""

    MIN: ClassVar[int] = 1
    MAX: ClassVar[int] = 200
    DEFAULT: ClassVar[int] = 100

    def __new__(cls, value: int, *, param: str = "limit") -> PageSize:
        if not cls.MIN <= value <= cls.MAX:
            raise cls._invalid(param)
        return super().__new__(cls, value)

    @classmethod
    def of(cls, value: int | None, *, param: str) -> PageSize:
        """``value``, or the default when the client gave none."""
        return cls(cls.DEFAULT if value is None else value, param=param)

    @classmethod
    def parse(cls, raw: str | None, *, param: str) -> PageSize:
        """A page size from query-string text (ASCII digits only)."""
        if raw is None:
            return cls(cls.DEFAULT)
        if not _DIGITS.fullmatch(raw):
            raise cls._invalid(param)
        return cls(int(raw), param=param)

    @classmethod
    def describe(cls) -> str:
        return f"Page size, {cls.MIN}-{cls.MAX} (default {cls.DEFAULT})."

    @classmethod
    def _invalid(cls, param: str) -> InvalidInputError:
        return InvalidInputError(
            f"{param} must be a whole number from {cls.MIN} to {cls.MAX}",
            param=param,
            code="invalid_limit",
        )


@dataclass(frozen=True, slots=True)
class ListFilters:
    """Validated filters; IDs are public IDs of the right kind."""

    campaign_id: str | None = None
    ad_account_id: str | None = None
    platforms: frozenset[Platform] | None = None
    statuses: frozenset[AdSetStatus] | None = None

    def fingerprint_parts(self) -> list[str]:
        return [
            self.campaign_id or "",
            self.ad_account_id or "",
            ",".join(sorted(self.platforms or ())),
            ",".join(sorted(self.statuses or ())),
        ]


@dataclass(frozen=True, slots=True)
class ScopedAccount:
    """An account in a listing's scope, with its public ID."""

    public_id: str
    ref: AccountRef


class AdSetItem(Record, frozen=True):
    """One row of the merged list, with its public IDs.

    Built for every row of every page, so a ``Record`` (a frozen msgspec struct): a frozen
    dataclass took ten times as long to build (each field set through ``object.__setattr__``).
    """

    adset_id: str
    campaign_id: str
    ad_account_id: str
    record: AdSetRecord


#: The kinds of a row's IDs, read once: a member read off its enum class goes through the
#: interpreter's generic attribute lookup (the ``EnumType`` metaclass), hundreds of
#: instructions each time, twice a row.
_ADSET, _CAMPAIGN = IdKind.ADSET, IdKind.CAMPAIGN


def make_item(record: AdSetRecord, ad_account_id: str) -> AdSetItem:
    """A listed row with its public IDs."""
    platform = record.platform
    return AdSetItem(
        derive_id(_ADSET, platform, record.external_id),
        derive_id(_CAMPAIGN, platform, record.campaign_external_id),
        ad_account_id,
        record,
    )


class SourceStatus(enum.StrEnum):
    """How an account answered for this page. A failed or throttled account's rows come later
    in the walk; a refused account (credentials rejected, no access) has left the walk."""

    OK = "ok"
    FAILED = "failed"
    THROTTLED = "throttled"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Source:
    """One account's part in a page: ok, or why its rows are missing."""

    platform: Platform
    ad_account_id: str
    status: SourceStatus
    code: str | None = None
    retry_after: float | None = None
    message: str | None = None

    @classmethod
    def ok(cls, account: ScopedAccount) -> Source:
        return cls(account.ref.platform, account.public_id, SourceStatus.OK)

    @classmethod
    def failure(cls, account: ScopedAccount, error: UpstreamError) -> Source:
        """A failed account: throttled or failed (with the wait the error names), or refused
        (an error that retrying will not cure: no wait)."""
        if isinstance(error, RateLimitedError):
            status = SourceStatus.THROTTLED
        else:
            status = SourceStatus.FAILED if error.retryable else SourceStatus.REFUSED
        return cls(
            account.ref.platform,
            account.public_id,
            status,
            error.code,
            error.retry_after if error.retryable else None,
            error.message,
        )

    @property
    def failed(self) -> bool:
        return self.status is not SourceStatus.OK

    @property
    def throttled(self) -> bool:
        return self.status is SourceStatus.THROTTLED

    def as_json(self) -> dict[str, Any]:
        """The account's part as clients read it (REST ``sources``, error bodies, GraphQL
        error extensions). The message stays in logs: it may name upstream details."""
        return {
            "platform": self.platform.value,
            "adAccountId": self.ad_account_id,
            "status": self.status.value,
            "code": self.code,
            "retryAfter": self.retry_after,
        }


@dataclass
class ListingPage:
    """A page of the merged list, the sources it came from, and where to go on."""

    items: list[AdSetItem]
    total_count: int | None
    has_previous: bool
    sources: list[Source]
    _positions: Positions  # right after each item
    _end: Position
    _secret: bytes
    _scope: str

    @property
    def has_next(self) -> bool:
        return bool(self._end.queue)

    @property
    def next_cursor(self) -> str | None:
        """Cursor of the next page (it comes back for skipped accounts); None at the end."""
        return encode_cursor(self._secret, self._scope, self._end) if self.has_next else None

    def edge_cursor(self, index: int) -> str:
        """Cursor that resumes right after item ``index`` (an empty walk past the end)."""
        return encode_cursor(self._secret, self._scope, self._positions.after(index))
