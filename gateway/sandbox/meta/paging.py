"""Cursor paging over one account's edge: opaque ``after`` cursors and filtered pages."""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from gateway.sandbox.meta.errors import bad_param
from gateway.sandbox.meta.fields import FieldSpec, project
from gateway.sandbox.meta.seed import Node


def encode_cursor(node_id: str) -> str:
    return base64.urlsafe_b64encode(f"sbx:{node_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    if not text.startswith("sbx:"):
        raise bad_param("The after cursor is invalid")
    return text.removeprefix("sbx:")


class Edge:
    """One account's ad sets or campaigns in list order, indexed for cheap filtered pages."""

    def __init__(self, rows: list[Node], campaign_key: str) -> None:
        self.rows = rows
        self.position = {row["id"]: i for i, row in enumerate(rows)}
        self._by_status: dict[str, list[int]] = {}
        self._by_campaign: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            self._by_status.setdefault(row["effective_status"], []).append(i)
            self._by_campaign.setdefault(row[campaign_key], []).append(i)
        self._cache: dict[tuple[frozenset[str], frozenset[str] | None], Sequence[int]] = {}

    def select(self, statuses: frozenset[str], campaigns: frozenset[str] | None) -> Sequence[int]:
        """Positions of matching rows, ascending (memoized per filter)."""
        key = (statuses, campaigns)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if campaigns is None and statuses >= self._by_status.keys():
            picked: Sequence[int] = range(len(self.rows))
        elif campaigns is None:
            picked = sorted(i for s in statuses for i in self._by_status.get(s, ()))
        else:
            picked = sorted(
                i
                for c in campaigns
                for i in self._by_campaign.get(c, ())
                if self.rows[i]["effective_status"] in statuses
            )
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[key] = picked
        return picked


def page(
    request: Request,
    rows: Edge,
    picked: Sequence[int],
    spec: FieldSpec,
    limit: int,
    summary: bool,
) -> dict[str, Any]:
    """The page of ``picked`` after the request's ``after`` cursor, with Graph's ``paging``
    (``next`` built from the request URL) and, when asked, ``summary.total_count``."""
    start = 0
    after = request.query_params.get("after")
    if after:
        position = rows.position.get(decode_cursor(after))
        if position is None:
            raise bad_param("The after cursor is invalid or refers to a deleted object")
        start = bisect.bisect_right(picked, position)
    chunk = picked[start : start + limit]
    body: dict[str, Any] = {"data": [project(rows.rows[i], spec) for i in chunk]}
    if chunk:
        last = encode_cursor(rows.rows[chunk[-1]]["id"])
        paging: dict[str, Any] = {
            "cursors": {"before": encode_cursor(rows.rows[chunk[0]]["id"]), "after": last}
        }
        if start + limit < len(picked):
            paging["next"] = str(request.url.include_query_params(after=last))
        body["paging"] = paging
    if summary:
        body["summary"] = {"total_count": len(picked)}
    return body
