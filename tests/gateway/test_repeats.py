"""SameObjects: a value is given again only for the very same objects in the same order."""

from __future__ import annotations

from gateway.repeats import SameObjects


class Thing:
    """An object whose equality is identity, like the records and items kept by identity."""


def test_the_same_objects_get_the_value_made_from_them() -> None:
    memo: SameObjects[str, str] = SameObjects(4, 100)
    objects = [Thing(), Thing(), Thing()]
    memo.put("page", objects, "made")
    assert memo.get("page", list(objects)) == "made"  # another list, the same objects
    assert memo.get("page", tuple(objects)) == "made"


def test_other_objects_order_or_length_get_nothing() -> None:
    memo: SameObjects[str, str] = SameObjects(4, 100)
    objects = [Thing(), Thing(), Thing()]
    memo.put("page", objects, "made")
    assert memo.get("page", [Thing(), objects[1], objects[2]]) is None
    assert memo.get("page", objects[::-1]) is None
    assert memo.get("page", objects[:2]) is None
    assert memo.get("page", [*objects, Thing()]) is None
    assert memo.get("other", objects) is None


def test_equal_but_distinct_objects_get_nothing() -> None:
    memo: SameObjects[str, str] = SameObjects(4, 100)
    memo.put("page", ["a" * 50, 1000], "made")
    assert memo.get("page", ["".join(["a"] * 50), int("1000")]) is None


def test_the_objects_are_held_and_the_least_recently_used_key_leaves_first() -> None:
    memo: SameObjects[int, str] = SameObjects(2, 100)
    first, second, third = [Thing()], [Thing()], [Thing()]
    memo.put(1, first, "one")
    memo.put(2, second, "two")
    assert memo.get(1, first) == "one"  # now the most recently used
    memo.put(3, third, "three")
    assert len(memo) == 2
    assert memo.get(2, second) is None
    assert memo.get(1, first) == "one" and memo.get(3, third) == "three"
    memo.put(1, second, "replaced")
    assert memo.get(1, first) is None and memo.get(1, second) == "replaced"


def test_the_objects_kept_are_bounded_and_the_newest_entry_stays_whatever_its_size() -> None:
    memo: SameObjects[int, str] = SameObjects(10, 5)
    small, medium, large = [Thing()], [Thing(), Thing(), Thing()], [Thing() for _ in range(8)]
    memo.put(1, small, "small")
    memo.put(2, medium, "medium")
    assert len(memo) == 2  # 4 objects
    memo.put(3, [Thing(), Thing()], "pair")  # 6 objects: the oldest entry leaves
    assert len(memo) == 2 and memo.get(1, small) is None
    memo.put(4, large, "large")
    assert len(memo) == 1 and memo.get(4, large) == "large"
    memo.put(4, small, "replaced")  # a key put again counts its new objects only
    memo.put(5, medium, "medium")
    assert len(memo) == 2 and memo.get(4, small) == "replaced"
