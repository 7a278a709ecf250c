"""JsonMemo: results kept by the JSON text of the value they depend on, within a bound."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.platforms.payload import JsonMemo, JsonObject, PayloadError


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, obj: JsonObject) -> str:
        self.calls += 1
        value: Any = obj.get("geo")
        if isinstance(value, float):
            raise PayloadError("geo: not a number")
        return f"mapped {value!r}"


def test_equal_values_are_computed_once_and_the_table_stays_within_its_limit() -> None:
    compute = Counting()
    memo = JsonMemo(compute, limit=2)
    for _ in range(3):
        assert memo.get(["US", "CA"], {"geo": ["US", "CA"]}) == "mapped ['US', 'CA']"
        assert memo.get({"a": [1]}, {"geo": {"a": [1]}}) == "mapped {'a': [1]}"
    assert compute.calls == 2
    for _ in range(2):
        assert memo.get(["DE"], {"geo": ["DE"]}) == "mapped ['DE']"
    assert compute.calls == 4  # past the limit: computed every time


def test_values_that_write_differently_are_not_taken_for_each_other() -> None:
    compute = Counting()
    memo = JsonMemo(compute)
    assert memo.get([1], {"geo": [1]}) == "mapped [1]"
    assert memo.get([True], {"geo": [True]}) == "mapped [True]"
    assert memo.get(["1"], {"geo": ["1"]}) == "mapped ['1']"
    assert memo.get({"b": 1, "a": 2}, {"geo": {"b": 1, "a": 2}}) == "mapped {'b': 1, 'a': 2}"
    assert memo.get({"a": 2, "b": 1}, {"geo": {"a": 2, "b": 1}}) == "mapped {'a': 2, 'b': 1}"
    assert compute.calls == 5


@pytest.mark.parametrize("odd", [float("inf"), float("nan")])
def test_a_value_written_as_null_reaches_the_function_every_time(odd: float) -> None:
    # orjson writes NaN and the infinities as null: a kept null would answer for them
    compute = Counting()
    memo = JsonMemo(compute)
    for _ in range(2):
        assert memo.get(None, {"geo": None}) == "mapped None"
        with pytest.raises(PayloadError):
            memo.get(odd, {"geo": odd})
    assert compute.calls == 4


def test_a_value_orjson_cannot_write_reaches_the_function_every_time() -> None:
    compute = Counting()
    memo = JsonMemo(compute)
    huge = 2**70
    for _ in range(2):
        assert memo.get(huge, {"geo": huge}) == f"mapped {huge!r}"
    assert compute.calls == 2
