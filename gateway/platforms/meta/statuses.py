"""Meta ad-set statuses: the one table used by mapping, filter push-down and the sandbox.

Meta reports an ad set's state in ``effective_status`` (what is actually happening, e.g.
CAMPAIGN_PAUSED) next to ``status``/``configured_status`` (the advertiser's own switch). We map
``effective_status``; an unknown value falls back on the switch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from gateway.platforms.base import AdSetStatus
from gateway.platforms.payload import JsonObject, PayloadError, opt_str

#: Our status -> the ``effective_status`` values that mean it (design.md section 2).
STATUS_TABLE: Mapping[AdSetStatus, tuple[str, ...]] = MappingProxyType(
    {
        AdSetStatus.ACTIVE: ("ACTIVE", "WITH_ISSUES"),
        AdSetStatus.PAUSED: (
            "PAUSED",
            "ADSET_PAUSED",
            "CAMPAIGN_PAUSED",
            "PENDING_BILLING_INFO",
        ),
        AdSetStatus.ARCHIVED: ("ARCHIVED",),
        AdSetStatus.DELETED: ("DELETED",),
        AdSetStatus.IN_REVIEW: ("PENDING_REVIEW", "IN_PROCESS", "PREAPPROVED"),
        AdSetStatus.REJECTED: ("DISAPPROVED",),
    }
)

_BY_EFFECTIVE: Mapping[str, AdSetStatus] = MappingProxyType(
    {value: ours for ours, values in STATUS_TABLE.items() for value in values}
)

#: Every ``effective_status`` value the ad-set edges accept, in table order.
EFFECTIVE_STATUSES: tuple[str, ...] = tuple(_BY_EFFECTIVE)

#: Values Meta hides from edge reads unless a filter names them.
HIDDEN_BY_DEFAULT: frozenset[str] = frozenset({"ARCHIVED", "DELETED"})

#: ``effective_status`` values of campaigns (the campaigns edge accepts the same filter set).
CAMPAIGN_EFFECTIVE_STATUSES: tuple[str, ...] = EFFECTIVE_STATUSES

# The advertiser's own switch, used when effective_status is missing or unknown.
_BY_SWITCH: Mapping[str, AdSetStatus] = MappingProxyType(
    {
        "ACTIVE": AdSetStatus.ACTIVE,
        "PAUSED": AdSetStatus.PAUSED,
        "ARCHIVED": AdSetStatus.ARCHIVED,
        "DELETED": AdSetStatus.DELETED,
    }
)


def status_of(effective_status: str | None, configured_status: str | None) -> AdSetStatus:
    """Our status for Meta's pair of status fields; never fails on unknown values."""
    if effective_status is not None:
        known = _BY_EFFECTIVE.get(effective_status.upper())
        if known is not None:
            return known
    if configured_status is not None:
        return _BY_SWITCH.get(configured_status.upper(), AdSetStatus.PAUSED)
    return AdSetStatus.PAUSED


def status_of_payload(obj: JsonObject) -> tuple[AdSetStatus, str]:
    """(our status, raw platform status) of an ad-set or campaign payload.

    The raw status is ``effective_status`` when present, else the configured switch. A
    payload with none of the three fields is malformed (we always ask for them).
    """
    effective = opt_str(obj, "effective_status")
    configured = opt_str(obj, "configured_status") or opt_str(obj, "status")
    raw = effective or configured
    if raw is None:
        raise PayloadError("effective_status: missing (and no status to fall back on)")
    return status_of(effective, configured), raw


def effective_status_rule(statuses: Iterable[AdSetStatus] | None) -> dict[str, object]:
    """The ``filtering`` rule that pushes ``statuses`` down to an ad-set edge.

    A rule rather than the ``effective_status`` parameter: the ad account's ``/adsets`` edge
    documents that parameter without IN_PROCESS and WITH_ISSUES (two of the AdSet node's own
    values) and rejects them, while ``filtering`` on ``adset.effective_status`` takes them."""
    return {
        "field": "adset.effective_status",
        "operator": "IN",
        "value": effective_status_filter(statuses),
    }


def effective_status_filter(statuses: Iterable[AdSetStatus] | None) -> list[str]:
    """The exact ``effective_status`` values to ask for: every value (ARCHIVED and DELETED
    included, since Meta hides them otherwise) when ``statuses`` is None."""
    if statuses is None:
        return list(EFFECTIVE_STATUSES)
    wanted = set(statuses)
    return [value for value in EFFECTIVE_STATUSES if _BY_EFFECTIVE[value] in wanted]
