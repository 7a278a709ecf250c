"""Meta's status vocabularies as the Marketing API documents them, independent of our client.

The sandbox answers like Meta, not like our client: these tables are transcribed from the
reference pages and the official SDK, and ``tests/sandbox/test_status_tables.py`` diffs them
against the client's table so that a disagreement is a reviewed event.

Sources:
- AdSet node ``effective_status``: facebook-python-business-sdk ``adobjects/adset.py``
  (``AdSet.EffectiveStatus``).
- Campaign node ``effective_status``: the same SDK's ``adobjects/campaign.py``.
- The ad account's ``/adsets`` edge, parameter ``effective_status``: the "Ad Account Adsets"
  reference ("list<enum{ACTIVE, PAUSED, DELETED, PENDING_REVIEW, DISAPPROVED, PREAPPROVED,
  PENDING_BILLING_INFO, CAMPAIGN_PAUSED, ARCHIVED, ADSET_PAUSED}>"): the ad-level values are
  accepted, the ad-set-only IN_PROCESS and WITH_ISSUES are not.
- A campaign's ``/adsets`` edge and the ``/campaigns`` edge list IN_PROCESS and WITH_ISSUES
  too (the ad-campaign-group/adsets and ad-campaign reference pages).
- ``filtering`` on ``adset.effective_status`` / ``campaign.effective_status``: connectors
  (Airbyte's Facebook source) send the node values there, IN_PROCESS and WITH_ISSUES included.
- Edge reads hide ARCHIVED and DELETED objects unless a status filter names them
  ("Manage your ad object's status").
"""

from __future__ import annotations

#: What an ad set reports in ``effective_status``.
ADSET_EFFECTIVE_STATUSES: tuple[str, ...] = (
    "ACTIVE",
    "PAUSED",
    "DELETED",
    "CAMPAIGN_PAUSED",
    "ARCHIVED",
    "IN_PROCESS",
    "WITH_ISSUES",
)

#: What a campaign reports in ``effective_status``.
CAMPAIGN_EFFECTIVE_STATUSES: tuple[str, ...] = (
    "ACTIVE",
    "PAUSED",
    "DELETED",
    "ARCHIVED",
    "IN_PROCESS",
    "WITH_ISSUES",
)

#: Values only ads report; the edges' filters accept them all the same.
AD_ONLY_STATUSES: tuple[str, ...] = (
    "PENDING_REVIEW",
    "DISAPPROVED",
    "PREAPPROVED",
    "PENDING_BILLING_INFO",
    "ADSET_PAUSED",
)

#: ``effective_status`` parameter of ``/act_{id}/adsets``, in the reference's order.
ACCOUNT_ADSETS_PARAM: frozenset[str] = frozenset(
    {
        "ACTIVE", "PAUSED", "DELETED", "PENDING_REVIEW", "DISAPPROVED", "PREAPPROVED",
        "PENDING_BILLING_INFO", "CAMPAIGN_PAUSED", "ARCHIVED", "ADSET_PAUSED",
    }
)  # fmt: skip

#: Every value a status filter may name elsewhere: the campaign's ``/adsets`` edge, the
#: ``/campaigns`` edge and ``filtering`` rules.
ANY_FILTER_STATUS: frozenset[str] = ACCOUNT_ADSETS_PARAM | {"IN_PROCESS", "WITH_ISSUES"}

#: Hidden from edge reads unless a status filter names them.
HIDDEN_BY_DEFAULT: frozenset[str] = frozenset({"ARCHIVED", "DELETED"})
