"""What was made from a sequence of objects, found again when the very same objects come back.

A repeated page hands the same immutable objects around again: the decoded rows of an answer
whose bytes had not changed, the records mapped from them, the items made from those. Work
done over such a sequence, one step per object, can be taken whole after one comparison of
identities instead (``all(map(operator.is_, ...))`` runs in C, about 15 ns an object).
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SameObjects(Generic[K, V]):
    """The value made last from the sequence kept under each key, given again only for the
    same objects in the same order.

    An entry holds its objects, so their ids cannot be reused while it is kept (a key made of
    an object's ``id`` stays that object's). The keys used least recently leave first, once
    there are ``capacity`` of them or their objects number more than ``max_objects`` (the
    newest entry stays, whatever its size). Values are shared between the callers that get
    them, so they are only ever read."""

    def __init__(self, capacity: int, max_objects: int) -> None:
        self._capacity = capacity
        self._max_objects = max_objects
        self._objects = 0
        self._kept: OrderedDict[K, tuple[tuple[object, ...], V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, key: K, objects: Sequence[object]) -> V | None:
        """The value kept under ``key`` if it was made from ``objects``, else None."""
        kept = self._kept.get(key)
        if (
            kept is None
            or len(kept[0]) != len(objects)
            or not all(map(operator.is_, kept[0], objects))
        ):
            return None
        self._kept.move_to_end(key)
        return kept[1]

    def put(self, key: K, objects: Sequence[object], value: V) -> None:
        """Keep ``value`` as what was made from ``objects``, replacing ``key``'s entry."""
        kept = self._kept
        replaced = kept.pop(key, None)
        if replaced is not None:
            self._objects -= len(replaced[0])
        kept[key] = (tuple(objects), value)
        self._objects += len(objects)
        while len(kept) > self._capacity or (self._objects > self._max_objects and len(kept) > 1):
            self._objects -= len(kept.popitem(last=False)[1][0])
