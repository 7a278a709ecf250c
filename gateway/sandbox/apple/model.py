"""The Apple sandbox's data model: API users, ad accounts with their indexes, the seed.

Payloads are stored exactly as the v1 API returns them, with per-account indexes precomputed
so that a query page is a lookup plus a slice. The ad-group switch values are Apple's own
(``AdGroup.status`` in the Apple Ads Platform API reference), not read from our client, so a
client table that drifts from Apple shows up in ``tests/sandbox/test_status_tables.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from gateway.platforms.base import AccountRef

Row = dict[str, Any]

#: The advertiser's switch on an ad group or campaign (``status``); soft deletion is the
#: separate ``deleted`` flag.
ENABLED = "ENABLED"
PAUSED = "PAUSED"
AD_GROUP_STATUSES: tuple[str, ...] = (ENABLED, PAUSED)


def apple_time(moment: datetime) -> str:
    """Apple's wire form: UTC, milliseconds, no offset."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class ApiUser:
    """An Apple Ads API user: OAuth identity, uploaded public key, reachable ad accounts."""

    client_id: str
    team_id: str
    key_id: str
    private_key_pem: str = field(repr=False)
    public_key: ec.EllipticCurvePublicKey = field(repr=False)
    account_ids: frozenset[str]

    @property
    def user_id(self) -> int:
        """The caller's numeric id (``/me``), derived from the client id."""
        return int(self.client_id.replace("-", "")[-8:], 16) % 10**8

    def credentials(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "team_id": self.team_id,
            "key_id": self.key_id,
            "private_key_pem": self.private_key_pem,
        }


@dataclass(slots=True, repr=False)
class AccountData:
    """One ad account's payloads and indexes (ad groups and campaigns sorted by id)."""

    account: Row
    campaigns: list[Row]
    adgroups: list[Row]
    campaigns_by_id: dict[int, Row] = field(default_factory=dict)
    #: (campaignId or None, deleted, status or None) -> ad groups in id order.
    index: dict[tuple[int | None, bool, str | None], list[Row]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.campaigns.sort(key=lambda c: c["id"])
        self.adgroups.sort(key=lambda a: a["id"])
        self.campaigns_by_id = {c["id"]: c for c in self.campaigns}
        for row in self.adgroups:
            for campaign in (None, row["campaignId"]):
                for status in (None, row["status"]):
                    self.index.setdefault((campaign, row["deleted"], status), []).append(row)

    def __repr__(self) -> str:
        # Short on purpose: test runners print fixtures, and the payloads are large.
        return f"AccountData(id={self.account['id']}, adgroups={len(self.adgroups)})"

    def select(self, campaign: int | None, deleted: bool, status: str | None) -> list[Row]:
        """Ad groups matching the indexed filters, in id order (no copy)."""
        return self.index.get((campaign, deleted, status), [])


@dataclass(slots=True, repr=False)
class AppleSeed:
    """Everything the Apple sandbox serves."""

    accounts: list[AccountRef]
    users: dict[str, ApiUser]
    data: dict[str, AccountData]

    def __repr__(self) -> str:
        return f"AppleSeed(accounts={[a.external_id for a in self.accounts]})"

    @property
    def large_account(self) -> AccountRef:
        return self.accounts[0]

    def adset_ids(self, account_external_id: str) -> list[str]:
        """Every ad-group id of the account, in the client's walk order: live ad groups by
        id, then deleted ones by id."""
        rows = self.data[account_external_id].adgroups
        live = [str(r["id"]) for r in rows if not r["deleted"]]
        return live + [str(r["id"]) for r in rows if r["deleted"]]
