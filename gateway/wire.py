"""The contract's JSON form of an ad set (REST items), built as plain dicts for orjson."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.listing.types import AdSetItem
from gateway.platforms.base import AdSetRecord
from gateway.repeats import SameObjects

#: How response bodies are encoded: a UTC datetime as RFC 3339 with a ``Z``, to the second
#: (``2026-04-01T00:00:00Z``). orjson writes one in ~0.3 us; formatting it in Python took ~5.
JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_NAIVE_UTC


def dumps(body: Any) -> bytes:
    """A response body as JSON."""
    return orjson.dumps(body, option=JSON_OPTIONS)


def format_time(value: datetime | None) -> str | None:
    """One time as the wire writes it: RFC 3339 in UTC with a ``Z``, to the second, as
    ``dumps`` writes a UTC datetime (GraphQL's ``DateTime``; the plain-field executor leaves
    a UTC datetime for the response's writer and calls this only for other values)."""
    if value is None:
        return None
    # Records hold UTC (``UTC`` itself): only another zone needs the offset asked for.
    if value.tzinfo is not UTC and value.utcoffset():
        value = value.astimezone(UTC)
    return orjson.dumps(value, option=JSON_OPTIONS)[1:-1].decode()


def adset_json(item: AdSetItem) -> dict[str, Any]:
    """One item of ``GET /v1/projects/{projectId}/ads/adsets``, fields in contract order.

    Times stay datetimes (UTC, see ``AdSetRecord``) and lists stay the record's tuples, for
    ``dumps`` to write (orjson writes a tuple as an array). Every cold row is built here, so
    the nested objects are built inline rather than by a call each."""
    r = item.record
    t = r.targeting
    daily, lifetime, age = r.daily_budget, r.lifetime_budget, t.age
    return {
        "adsetId": item.adset_id,
        "campaignId": item.campaign_id,
        "adAccountId": item.ad_account_id,
        "platform": r.platform,
        "externalId": r.external_id,
        "name": r.name,
        "status": r.status,
        "optimizationGoal": r.optimization_goal,
        "billingEvent": r.billing_event,
        "dailyBudget": None
        if daily is None
        else {"amount": daily.amount, "currency": daily.currency},
        "lifetimeBudget": None
        if lifetime is None
        else {"amount": lifetime.amount, "currency": lifetime.currency},
        "startTime": r.start_time,
        "endTime": r.end_time,
        "targetingSummary": {
            "geo": t.geo,
            "age": None if age is None else {"min": age.min, "max": age.max},
            "customAudiences": t.custom_audiences,
            "placements": t.placements,
        },
        "createdAt": r.created_at,
        "metricsSnapshot7d": {},
    }


#: Items ``WrittenItems`` keeps: a few 200-row pages of items of 1-3 KB.
WRITTEN_CAPACITY = 1024
#: ... and at most this many bytes of them (each entry also keeps its record alive), so that
#: items of 8 KB (wide targeting) stop at 384: more than a 200-row page still.
WRITTEN_MAX_BYTES = 3 * 1024 * 1024
#: Pages kept whole (their items at most ``capacity`` in all), their items' bytes shared
#: with the entries while those last: a few pages polled again and again.
WRITTEN_PAGES = 4


class WrittenItems:
    """REST items already written, by the record they were written from.

    The platform clients share a row's record between requests while its upstream JSON stays
    the same (``platforms.memo``), and records are frozen (``platforms.base.Record``), so an
    item written once is the same bytes for as long as its record lives; a changed row is a
    new record. Repeated pages then skip building and encoding the item (about 4 us a row).
    An entry keeps its record alive, so the record's ``id`` cannot be reused while the entry
    exists; the oldest entries go first, once there are ``capacity`` of them or their bytes
    pass ``max_bytes``.

    An item is written out to be kept from the second time its record is shown. The first
    time, it is handed over as the dict ``adset_json`` builds and the body's one ``dumps``
    writes it: a walk shows most rows once, and writing an item on its own (a call, an
    exact-size copy, an entry) cost a cold page about twice what writing it inside the body
    does. The records shown once are noted (held, as entries are) within ``capacity``.

    The last few pages whose items were all kept are kept whole, by the items' identity
    (``repeats.SameObjects``): the same page asked again takes them without a lookup per item.
    """

    def __init__(
        self, capacity: int = WRITTEN_CAPACITY, max_bytes: int = WRITTEN_MAX_BYTES
    ) -> None:
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._bytes = 0
        self._written: OrderedDict[tuple[int, str], tuple[AdSetRecord, orjson.Fragment, int]] = (
            OrderedDict()
        )
        self._shown: OrderedDict[tuple[int, str], AdSetRecord] = OrderedDict()
        self._shown_once = 0  # items handed out to be written in the body, so far
        # The bytes of the last pages whose items were all kept, by their first item.
        self._pages: SameObjects[int, list[orjson.Fragment | dict[str, Any]]] = SameObjects(
            WRITTEN_PAGES, capacity
        )

    def __len__(self) -> int:
        """Items kept as bytes."""
        return len(self._written)

    @property
    def written_bytes(self) -> int:
        """Bytes of JSON held."""
        return self._bytes

    def item(self, item: AdSetItem) -> orjson.Fragment | dict[str, Any]:
        """The item's JSON, to be placed in a body that ``dumps`` writes (see ``items``)."""
        return self.items((item,))[0]

    def items(self, items: Sequence[AdSetItem]) -> list[orjson.Fragment | dict[str, Any]]:
        """Each item's JSON, in order, for a body that ``dumps`` writes: the bytes kept for
        its record, or the item to write (``adset_json``). One loop, with no call per item
        already written (a page repeats most of its rows); none at all for the same items as
        a page whose items were all kept (the list handed out then, only to be read)."""
        if not items:
            return []
        page = self._pages.get(id(items[0]), items)
        if page is not None:
            return page
        written, shown_once = self._written, self._shown_once
        out: list[orjson.Fragment | dict[str, Any]] = []
        for item in items:
            record = item.record
            key = (id(record), item.ad_account_id)
            hit = written.get(key)
            out.append(hit[1] if hit is not None and hit[0] is record else self._miss(key, item))
        if self._shown_once == shown_once:  # every item is bytes: the page is worth keeping
            self._pages.put(id(items[0]), items, out)
        return out

    def _miss(self, key: tuple[int, str], item: AdSetItem) -> orjson.Fragment | dict[str, Any]:
        """An item not kept: written and kept if its record was shown before, else noted."""
        shown = self._shown
        # An entry holds its record alive, so a key found is this record's.
        if shown.pop(key, None) is not None:
            return self._write(key, item)
        shown[key] = item.record
        if len(shown) > self._capacity:
            shown.popitem(last=False)
        self._shown_once += 1
        return adset_json(item)

    def _write(self, key: tuple[int, str], item: AdSetItem) -> orjson.Fragment:
        """Write ``item`` and keep it under ``key``, its record's ``id`` and account ID."""
        # An exact-size copy: orjson returns its whole write buffer (32 KB for a 3 KB item),
        # which the entry would hold for as long as it lives.
        data = memoryview(dumps(adset_json(item))).tobytes()
        fragment = orjson.Fragment(data)
        written = self._written
        # A new key: an entry keeps its record alive, so no other record has its id().
        written[key] = (item.record, fragment, len(data))
        self._bytes += len(data)
        # The item just written stays, even alone over ``max_bytes``: it is being served.
        while len(written) > self._capacity or (self._bytes > self._max_bytes and len(written) > 1):
            self._bytes -= written.popitem(last=False)[1][2]
        return fragment
