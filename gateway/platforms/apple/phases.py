"""How a listing walks ``POST /v1/adgroups/query``: the phases of a walk and its resume tokens.

Apple v1 hides soft-deleted ad groups unless a filter asks for them, and the ad-group query
accepts ``deleted`` only with ``EQUALS`` (Apple Ads Platform API docs, "Query Ad Groups",
filterable-fields table; the campaign query documents ``EQUALS`` and ``IN``). Filters are
AND-ed ("QueryRequest": "The query combines multiple filters with logical AND"), so
``deleted EQUALS true`` and ``deleted EQUALS false`` together match nothing: no single
ad-group query returns live and deleted rows at once.

Our default listing includes deleted rows, so a walk is a sequence of *phases*, each one exact
upstream query sorted by ``id`` ascending: the live ad groups (``deleted EQUALS false``, plus
``status IN [...]`` when the status filter names only some live statuses), then the deleted
ones (``deleted EQUALS true``). The stable order is "live ad groups by id, then deleted ones by
id". Every status set is pushed down this way, so nothing is ever filtered locally.

Calls: a walk's first page asks the first page of every phase at once (concurrently), so its
``total`` is exact; later pages cost one upstream call, or two when a page crosses from the
live phase into the deleted one.

A resume token is ``"<phase>:<offset>[;<total0>,<total1>]"``: the phase index, the absolute
offset within that phase's result set, and the phase totals Apple reported earlier in the
walk, which let later pages report ``total`` too (refreshed whenever a call sees a newer
``totalCount``).
"""

from __future__ import annotations

import re
from typing import Any

from gateway.errors import InvalidInputError
from gateway.platforms.apple.statuses import LIVE_STATUSES, apple_status_values
from gateway.platforms.base import AdSetQuery, AdSetStatus

Filter = dict[str, Any]


def plan_phases(query: AdSetQuery) -> list[list[Filter]]:
    """The filter list of each phase of a walk; [] when nothing can match."""
    base: list[Filter] = []
    if query.campaign_external_id is not None:
        try:
            campaign_id = int(query.campaign_external_id)
        except ValueError:
            return []  # Apple ids are integers: no ad group has this campaign
        base.append({"field": "campaignId", "operator": "EQUALS", "value": campaign_id})
    statuses = query.statuses
    live = LIVE_STATUSES if statuses is None else statuses & LIVE_STATUSES
    phases: list[list[Filter]] = []
    if live:
        live_filters = [*base, {"field": "deleted", "operator": "EQUALS", "value": False}]
        if live != LIVE_STATUSES:
            # With both live statuses we send no status filter, which also keeps ad groups
            # whose unknown (future) status maps to paused.
            values = apple_status_values(frozenset(live))
            live_filters.append({"field": "status", "operator": "IN", "value": values})
        phases.append(live_filters)
    if statuses is None or AdSetStatus.DELETED in statuses:
        phases.append([*base, {"field": "deleted", "operator": "EQUALS", "value": True}])
    return phases


Totals = list[int | None]

#: A walk has at most two phases (live, then deleted ones).
MAX_PHASES = 2
#: The largest offset a token may carry, far past any organization's ad groups.
MAX_OFFSET = 10_000_000
_COUNT = r"[0-9]{1,10}"
_TOKEN = re.compile(rf"([0-9]):([0-9]{{1,8}})(?:;((?:{_COUNT})?(?:,(?:{_COUNT})?)*))?")


def make_token(phase: int, offset: int, totals: Totals) -> str:
    """The resume token of a position, carrying the phase totals seen so far."""
    token = f"{phase}:{offset}"
    if any(t is not None for t in totals):
        token += ";" + ",".join("" if t is None else str(t) for t in totals)
    return token


def parse_token(token: str | None, phases: int) -> tuple[int, int, Totals]:
    """(phase, offset, carried phase totals) of a resume token; None is the beginning."""
    unknown: Totals = [None] * phases
    if token is None:
        return 0, 0, unknown
    match = _TOKEN.fullmatch(token)
    if match is None or not is_resume_token(token):
        raise InvalidInputError(
            "unreadable Apple Ads resume token", param="cursor", code="invalid_cursor"
        )
    phase_text, offset_text, carried = match.groups()
    totals = [int(t) if t else None for t in carried.split(",")] if carried else []
    return int(phase_text), int(offset_text), totals if len(totals) == phases else unknown


def is_resume_token(token: str) -> bool:
    """Whether ``token`` is one this client could have issued: a phase below MAX_PHASES, an
    offset of at most MAX_OFFSET and at most MAX_PHASES carried totals."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return False
    phase, offset, carried = match.groups()
    return (
        int(phase) < MAX_PHASES
        and int(offset) <= MAX_OFFSET
        and (carried is None or carried.count(",") < MAX_PHASES)
    )
