"""TikTok ad-group statuses: the one table used by response mapping, filter push-down and the
sandbox's seed data.

Every ``secondary_status`` of platforms.md section 2.4 appears below with the ``primary_status``
TikTok files it under and our normalized status. Rows without a known ``secondary_status``
fall back on ``operation_status`` (the on/off switch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gateway.platforms.base import AdSetStatus
from gateway.platforms.payload import JsonObject, PayloadError, opt_str

_A = AdSetStatus


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One ``secondary_status``: its TikTok primary status and our status."""

    secondary: str
    primary: str
    ours: AdSetStatus


# Why each value lands where it does:
# - active: delivering, or switched on and waiting on something outside the ad group itself
#   (budget, balance, schedule, creatives, assets, account paperwork): the user's intent is "on".
# - in_review / rejected: the ad group (or its advertiser) awaits, or failed, review.
# - archived: ended or terminated for good (schedule over, frozen, R&F order closed).
# - paused / deleted: switched off or deleted, on the ad group or its campaign.
_ROWS: tuple[StatusRow, ...] = (
    # primary STATUS_DELIVERY_OK
    StatusRow("ADGROUP_STATUS_DELIVERY_OK", "STATUS_DELIVERY_OK", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_REVIEW_PARTIALLY_APPROVED", "STATUS_DELIVERY_OK", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_PARTIAL_AUDIT_DELIVERY_OK", "STATUS_DELIVERY_OK", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_SEARCH_KEYWORDS_PARTIAL_APPROVED", "STATUS_DELIVERY_OK", _A.ACTIVE),
    # A shadow copy is re-reviewed while the approved version keeps delivering.
    StatusRow("ADGROUP_STATUS_SHADOW_ADGROUP_REAUDIT", "STATUS_DELIVERY_OK", _A.ACTIVE),
    # primary STATUS_NOT_DELIVERY: enabled but not delivering
    StatusRow("ADGROUP_STATUS_NOT_START", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_LIVE_NOT_START", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_ADGROUP_PRE_ONLINE", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_CREATE", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_BUDGET_EXCEED", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_CAMPAIGN_EXCEED", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_BALANCE_EXCEED", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_TRANSCODING_FAIL", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    # Part of the ads were approved; the approved part is simply not spending yet.
    StatusRow("ADGROUP_STATUS_PARTIAL_AUDIT_NO_DELIVERY", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_INDUSTRY_QUALIFICATION_MISSING", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_INDUSTRY_QUALIFICATION_EXPIRED", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_ASSET_AUTHORIZATION_LOST", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_PIXEL_UNBIND", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_ADGROUP_QUOTA_LIMIT", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_IDENTITY_USED_BY_GMV_MAX_AD", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_SEARCH_KEYWORDS_NOT_AVAILABLE", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    # Advertiser-level blocks: the ad group itself is still switched on.
    StatusRow("ADVERTISER_CONTRACT_PENDING", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADVERTISER_ACCOUNT_PUNISH", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADVERTISER_ACCOUNT_INVALID", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    # Reach & Frequency orders waiting on creatives, balance or their booked schedule.
    StatusRow("ADGROUP_STATUS_RF_NO_VALID_CREATIVE", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_RF_NO_DELIVERY_CREATIVE", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_RF_SHORT_BALANCE", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_RF_BOOKING", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    StatusRow("ADGROUP_STATUS_RF_SCHEDULE", "STATUS_NOT_DELIVERY", _A.ACTIVE),
    # review
    StatusRow("ADGROUP_STATUS_AUDIT", "STATUS_NOT_DELIVERY", _A.IN_REVIEW),
    StatusRow("ADGROUP_STATUS_REAUDIT", "STATUS_NOT_DELIVERY", _A.IN_REVIEW),
    StatusRow("ADGROUP_STATUS_ADVERTISER_AUDIT", "STATUS_NOT_DELIVERY", _A.IN_REVIEW),
    StatusRow("ADGROUP_STATUS_SEARCH_KEYWORDS_IN_REVIEW", "STATUS_NOT_DELIVERY", _A.IN_REVIEW),
    StatusRow("ADGROUP_STATUS_AUDIT_DENY", "STATUS_NOT_DELIVERY", _A.REJECTED),
    StatusRow("ADGROUP_STATUS_ADVERTISER_AUDIT_DENY", "STATUS_NOT_DELIVERY", _A.REJECTED),
    StatusRow("ADGROUP_STATUS_INDUSTRY_QUALIFICATION_DENY", "STATUS_NOT_DELIVERY", _A.REJECTED),
    StatusRow("ADGROUP_STATUS_RF_AD_AUDIT_DENY", "STATUS_NOT_DELIVERY", _A.REJECTED),
    # ended for good
    StatusRow("ADGROUP_STATUS_FROZEN", "STATUS_NOT_DELIVERY", _A.ARCHIVED),
    StatusRow("ADGROUP_STATUS_TIME_DONE", "STATUS_TIME_DONE", _A.ARCHIVED),
    StatusRow("ADGROUP_STATUS_RF_TIME_DONE", "STATUS_TIME_DONE", _A.ARCHIVED),
    StatusRow("ADGROUP_STATUS_RF_CLOSED_OTHERS", "STATUS_RF_CLOSED", _A.ARCHIVED),
    StatusRow("ADGROUP_STATUS_RF_TERMINATE", "STATUS_RF_CLOSED", _A.ARCHIVED),
    StatusRow("ADGROUP_STATUS_RF_WITHDRAW_ORDER", "STATUS_RF_CLOSED", _A.ARCHIVED),
    StatusRow("ADGROUP_STATUS_RF_DEDUCTION_FAILED", "STATUS_RF_CLOSED", _A.ARCHIVED),
    StatusRow("ADGROUP_STATUS_RF_ADGROUP_INVALID", "STATUS_RF_CLOSED", _A.ARCHIVED),
    # switched off / deleted
    StatusRow("ADGROUP_STATUS_DISABLE", "STATUS_DISABLE", _A.PAUSED),
    StatusRow("ADGROUP_STATUS_CAMPAIGN_DISABLE", "STATUS_DISABLE", _A.PAUSED),
    StatusRow("ADGROUP_STATUS_DELETE", "STATUS_DELETE", _A.DELETED),
    StatusRow("ADGROUP_STATUS_CAMPAIGN_DELETE", "STATUS_DELETE", _A.DELETED),
)

#: ``secondary_status`` -> its row.
SECONDARY_STATUSES: Mapping[str, StatusRow] = MappingProxyType({r.secondary: r for r in _ROWS})

#: ``operation_status`` fallback when ``secondary_status`` is absent or unknown.
OPERATION_STATUSES: Mapping[str, AdSetStatus] = MappingProxyType(
    {"ENABLE": _A.ACTIVE, "DISABLE": _A.PAUSED, "FROZEN": _A.ARCHIVED}
)

#: Our status -> TikTok values: every ``secondary_status``, then the ``operation_status``
#: used when the secondary one is missing or unknown.
STATUS_TABLE: Mapping[AdSetStatus, tuple[str, ...]] = MappingProxyType(
    {
        ours: tuple(r.secondary for r in _ROWS if r.ours is ours)
        + tuple(op for op, s in OPERATION_STATUSES.items() if s is ours)
        for ours in AdSetStatus
    }
)

#: Every ``primary_status`` filter value -> the secondary statuses it selects.
PRIMARY_STATUS_FILTERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "STATUS_ALL": frozenset(SECONDARY_STATUSES),
        "STATUS_NOT_DELETE": frozenset(r.secondary for r in _ROWS if r.primary != "STATUS_DELETE"),
        **{
            primary: frozenset(r.secondary for r in _ROWS if r.primary == primary)
            for primary in dict.fromkeys(r.primary for r in _ROWS)
        },
    }
)

#: What TikTok does when ``filtering`` names no ``primary_status``.
DEFAULT_PRIMARY_STATUS = "STATUS_NOT_DELETE"


def _exact_pushdowns() -> Mapping[frozenset[AdSetStatus], str]:
    """Sets of our statuses that one ``primary_status`` value selects exactly: the rows it
    returns are precisely the rows our table maps into the set, no more and no fewer."""
    out: dict[frozenset[AdSetStatus], str] = {}
    for value, secondaries in PRIMARY_STATUS_FILTERS.items():
        ours = frozenset(SECONDARY_STATUSES[s].ours for s in secondaries)
        if all((r.secondary in secondaries) == (r.ours in ours) for r in _ROWS):
            out.setdefault(ours, value)
    return MappingProxyType(out)


_PUSHDOWNS = _exact_pushdowns()


def primary_status_filter(statuses: frozenset[AdSetStatus] | None) -> str | None:
    """The ``primary_status`` value selecting exactly ``statuses`` (None = all), or None when
    no single value does and the caller must request ``STATUS_ALL`` and filter locally."""
    if statuses is None:
        return "STATUS_ALL"
    return _PUSHDOWNS.get(statuses)


def status_of(adgroup: JsonObject) -> tuple[AdSetStatus, str]:
    """(our status, the raw TikTok value it came from) for a raw ad group.

    ``secondary_status`` decides when we know it; otherwise ``operation_status`` does, and an
    unknown switch value counts as paused (not known to deliver) rather than failing the page.
    """
    secondary = opt_str(adgroup, "secondary_status")
    if secondary is not None and secondary in SECONDARY_STATUSES:
        return SECONDARY_STATUSES[secondary].ours, secondary
    operation = opt_str(adgroup, "operation_status")
    if operation is None:
        if secondary is not None:
            return AdSetStatus.PAUSED, secondary
        raise PayloadError("ad group has neither secondary_status nor operation_status")
    return OPERATION_STATUSES.get(operation, AdSetStatus.PAUSED), operation
