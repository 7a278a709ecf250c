"""TikTok's status vocabularies as the Business API v1.3 documents them, independent of our
client.

The sandbox answers like TikTok, not like our client: these tables are transcribed from the
docs ("Supported secondary statuses for a primary status",
https://business-api.tiktok.com/portal/docs?id=1757239620352002; the ``filtering`` objects of
"Get ad groups" and "Get campaigns", ids 1739314558673922 and 1739315828649986, mirrored in
tiktok-business-api-sdk ``FilteringAdgroupGet.md`` / ``FilteringCampaignGet.md``), and
``tests/sandbox/test_status_tables.py`` diffs them against the client's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_DELIVERY_OK = "STATUS_DELIVERY_OK"
_NOT_DELIVERY = "STATUS_NOT_DELIVERY"

#: Ad-group ``secondary_status`` -> the ``primary_status`` TikTok files it under.
ADGROUP_PRIMARY: Mapping[str, str] = MappingProxyType(
    {
        "ADGROUP_STATUS_DELIVERY_OK": _DELIVERY_OK,
        "ADGROUP_STATUS_REVIEW_PARTIALLY_APPROVED": _DELIVERY_OK,
        "ADGROUP_STATUS_PARTIAL_AUDIT_DELIVERY_OK": _DELIVERY_OK,
        "ADGROUP_STATUS_SEARCH_KEYWORDS_PARTIAL_APPROVED": _DELIVERY_OK,
        "ADGROUP_STATUS_SHADOW_ADGROUP_REAUDIT": _DELIVERY_OK,
        "ADGROUP_STATUS_NOT_START": _NOT_DELIVERY,
        "ADGROUP_STATUS_LIVE_NOT_START": _NOT_DELIVERY,
        "ADGROUP_STATUS_ADGROUP_PRE_ONLINE": _NOT_DELIVERY,
        "ADGROUP_STATUS_CREATE": _NOT_DELIVERY,
        "ADGROUP_STATUS_BUDGET_EXCEED": _NOT_DELIVERY,
        "ADGROUP_STATUS_CAMPAIGN_EXCEED": _NOT_DELIVERY,
        "ADGROUP_STATUS_BALANCE_EXCEED": _NOT_DELIVERY,
        "ADGROUP_STATUS_TRANSCODING_FAIL": _NOT_DELIVERY,
        "ADGROUP_STATUS_PARTIAL_AUDIT_NO_DELIVERY": _NOT_DELIVERY,
        "ADGROUP_STATUS_INDUSTRY_QUALIFICATION_MISSING": _NOT_DELIVERY,
        "ADGROUP_STATUS_INDUSTRY_QUALIFICATION_EXPIRED": _NOT_DELIVERY,
        "ADGROUP_STATUS_ASSET_AUTHORIZATION_LOST": _NOT_DELIVERY,
        "ADGROUP_STATUS_PIXEL_UNBIND": _NOT_DELIVERY,
        "ADGROUP_STATUS_ADGROUP_QUOTA_LIMIT": _NOT_DELIVERY,
        "ADGROUP_STATUS_IDENTITY_USED_BY_GMV_MAX_AD": _NOT_DELIVERY,
        "ADGROUP_STATUS_SEARCH_KEYWORDS_NOT_AVAILABLE": _NOT_DELIVERY,
        "ADVERTISER_CONTRACT_PENDING": _NOT_DELIVERY,
        "ADVERTISER_ACCOUNT_PUNISH": _NOT_DELIVERY,
        "ADVERTISER_ACCOUNT_INVALID": _NOT_DELIVERY,
        "ADGROUP_STATUS_RF_NO_VALID_CREATIVE": _NOT_DELIVERY,
        "ADGROUP_STATUS_RF_NO_DELIVERY_CREATIVE": _NOT_DELIVERY,
        "ADGROUP_STATUS_RF_SHORT_BALANCE": _NOT_DELIVERY,
        "ADGROUP_STATUS_RF_BOOKING": _NOT_DELIVERY,
        "ADGROUP_STATUS_RF_SCHEDULE": _NOT_DELIVERY,
        "ADGROUP_STATUS_AUDIT": _NOT_DELIVERY,
        "ADGROUP_STATUS_REAUDIT": _NOT_DELIVERY,
        "ADGROUP_STATUS_ADVERTISER_AUDIT": _NOT_DELIVERY,
        "ADGROUP_STATUS_SEARCH_KEYWORDS_IN_REVIEW": _NOT_DELIVERY,
        "ADGROUP_STATUS_AUDIT_DENY": _NOT_DELIVERY,
        "ADGROUP_STATUS_ADVERTISER_AUDIT_DENY": _NOT_DELIVERY,
        "ADGROUP_STATUS_INDUSTRY_QUALIFICATION_DENY": _NOT_DELIVERY,
        "ADGROUP_STATUS_RF_AD_AUDIT_DENY": _NOT_DELIVERY,
        "ADGROUP_STATUS_FROZEN": _NOT_DELIVERY,
        "ADGROUP_STATUS_TIME_DONE": "STATUS_TIME_DONE",
        "ADGROUP_STATUS_RF_TIME_DONE": "STATUS_TIME_DONE",
        "ADGROUP_STATUS_RF_CLOSED_OTHERS": "STATUS_RF_CLOSED",
        "ADGROUP_STATUS_RF_TERMINATE": "STATUS_RF_CLOSED",
        "ADGROUP_STATUS_RF_WITHDRAW_ORDER": "STATUS_RF_CLOSED",
        "ADGROUP_STATUS_RF_DEDUCTION_FAILED": "STATUS_RF_CLOSED",
        "ADGROUP_STATUS_RF_ADGROUP_INVALID": "STATUS_RF_CLOSED",
        "ADGROUP_STATUS_DISABLE": "STATUS_DISABLE",
        "ADGROUP_STATUS_CAMPAIGN_DISABLE": "STATUS_DISABLE",
        "ADGROUP_STATUS_DELETE": "STATUS_DELETE",
        "ADGROUP_STATUS_CAMPAIGN_DELETE": "STATUS_DELETE",
    }
)

#: Campaign ``secondary_status`` -> its ``primary_status``.
CAMPAIGN_PRIMARY: Mapping[str, str] = MappingProxyType(
    {
        "CAMPAIGN_STATUS_ENABLE": _DELIVERY_OK,
        "CAMPAIGN_STATUS_DISABLE": "STATUS_DISABLE",
        "CAMPAIGN_STATUS_DELETE": "STATUS_DELETE",
        "CAMPAIGN_STATUS_BUDGET_EXCEED": _NOT_DELIVERY,
        "CAMPAIGN_STATUS_ADVERTISER_AUDIT": _NOT_DELIVERY,
        "CAMPAIGN_STATUS_ADVERTISER_AUDIT_DENY": _NOT_DELIVERY,
        "ADVERTISER_CONTRACT_PENDING": _NOT_DELIVERY,
        "ADVERTISER_ACCOUNT_PUNISH": _NOT_DELIVERY,
        "CAMPAIGN_STATUS_AWAITING_RELEASE": _NOT_DELIVERY,
    }
)

#: ``secondary_status`` filter values that stand for a whole primary status: the older
#: "all" / "not deleted" forms connectors still send.
ADGROUP_PSEUDO_SECONDARY: Mapping[str, str] = MappingProxyType(
    {"ADGROUP_STATUS_ALL": "STATUS_ALL", "ADGROUP_STATUS_NOT_DELETE": "STATUS_NOT_DELETE"}
)
CAMPAIGN_PSEUDO_SECONDARY: Mapping[str, str] = MappingProxyType(
    {"CAMPAIGN_STATUS_ALL": "STATUS_ALL", "CAMPAIGN_STATUS_NOT_DELETE": "STATUS_NOT_DELETE"}
)

#: What TikTok does when ``filtering`` names no status.
DEFAULT_PRIMARY_STATUS = "STATUS_NOT_DELETE"


def primary_filters(table: Mapping[str, str]) -> Mapping[str, frozenset[str]]:
    """Every ``primary_status`` filter value -> the secondary statuses of ``table`` it
    selects (``STATUS_ALL`` and ``STATUS_NOT_DELETE`` included)."""
    out = {
        "STATUS_ALL": frozenset(table),
        "STATUS_NOT_DELETE": frozenset(s for s, p in table.items() if p != "STATUS_DELETE"),
    }
    for primary in ("STATUS_DELETE", "STATUS_DISABLE", _NOT_DELIVERY, _DELIVERY_OK,
                    "STATUS_TIME_DONE", "STATUS_RF_CLOSED"):  # fmt: skip
        out[primary] = frozenset(s for s, p in table.items() if p == primary)
    return MappingProxyType(out)


ADGROUP_PRIMARY_FILTERS = primary_filters(ADGROUP_PRIMARY)
CAMPAIGN_PRIMARY_FILTERS = primary_filters(CAMPAIGN_PRIMARY)
