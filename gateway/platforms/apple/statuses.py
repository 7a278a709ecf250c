"""Apple ad-group status <-> the contract's normalized status: the one table.

Apple v1 ad groups carry an advertiser switch ``status`` (ENABLED, PAUSED), a system verdict
(``systemStatus`` RUNNING / NOT_RUNNING with reasons) and a soft-delete flag ``deleted``.
Only the switch and the flag decide our status: ``deleted: true`` wins, ENABLED is active
whatever Apple's system says (an enabled ad group that is not serving is still "on"), PAUSED is
paused. Apple has no archived, in-review or rejected state for ad groups, so those statuses map
to no Apple value and never match an Apple row.

The same table drives response mapping, filter push-down and the sandbox's seed data.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gateway.platforms.base import AdSetStatus

ENABLED = "ENABLED"
PAUSED = "PAUSED"
#: Reported as platform_status for soft-deleted ad groups (Apple's displayStatus value).
DELETED = "DELETED"

#: ours -> Apple values. ``deleted`` is the flag ``deleted: true``, not a ``status`` value.
STATUS_TABLE: Mapping[AdSetStatus, tuple[str, ...]] = MappingProxyType(
    {
        AdSetStatus.ACTIVE: (ENABLED,),
        AdSetStatus.PAUSED: (PAUSED,),
        AdSetStatus.ARCHIVED: (),
        AdSetStatus.DELETED: ("deleted:true",),
        AdSetStatus.IN_REVIEW: (),
        AdSetStatus.REJECTED: (),
    }
)

#: Apple ``status`` values by our status, for ``status IN [...]`` push-down.
_SWITCH: Mapping[str, AdSetStatus] = MappingProxyType(
    {ENABLED: AdSetStatus.ACTIVE, PAUSED: AdSetStatus.PAUSED}
)
#: Our statuses that exist on live (not deleted) Apple ad groups.
LIVE_STATUSES: frozenset[AdSetStatus] = frozenset(_SWITCH.values())


def apple_status_values(statuses: frozenset[AdSetStatus]) -> list[str]:
    """The Apple ``status`` values of the live statuses in ``statuses``, in table order."""
    return [value for value, ours in _SWITCH.items() if ours in statuses]


def map_status(raw: Mapping[str, Any]) -> tuple[AdSetStatus, str]:
    """(our status, platform status) of an ad-group payload.

    An unknown ``status`` maps to paused: we cannot claim it delivers. The platform status is
    the raw switch, refined with ``displayStatus`` when Apple's verdict differs (for example
    ``ENABLED/ON_HOLD``), or ``DELETED`` for a soft-deleted ad group.
    """
    if raw.get("deleted") is True:
        return AdSetStatus.DELETED, DELETED
    switch = raw.get("status")
    switch_text = switch if isinstance(switch, str) and switch else "UNKNOWN"
    ours = _SWITCH.get(switch_text, AdSetStatus.PAUSED)
    display = raw.get("displayStatus")
    platform_status = switch_text
    if isinstance(display, str) and display and display not in ("RUNNING", switch_text):
        platform_status = f"{switch_text}/{display}"
    return ours, platform_status
