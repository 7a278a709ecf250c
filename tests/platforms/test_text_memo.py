"""TextMemo: results kept by text keys only, within a bound."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.platforms.payload import JsonObject, PayloadError, TextMemo


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, obj: JsonObject) -> str:
        self.calls += 1
        value: Any = obj.get("status")
        if value is not None and not isinstance(value, str):
            raise PayloadError("status: expected a string")
        return f"mapped {value}"


def test_text_keys_are_computed_once_and_the_table_stays_within_its_limit() -> None:
    compute = Counting()
    memo = TextMemo(compute, limit=2)
    for _ in range(3):
        assert memo.get(("A",), {"status": "A"}) == "mapped A"
        assert memo.get((None,), {}) == "mapped None"
    assert compute.calls == 2
    assert memo.get(("B",), {"status": "B"}) == "mapped B"
    assert memo.get(("B",), {"status": "B"}) == "mapped B"
    assert compute.calls == 4  # past the limit: computed every time


@pytest.mark.parametrize("odd", [["A"], {"x": 1}, 7])
def test_a_field_of_another_type_reaches_the_function_every_time(odd: Any) -> None:
    compute = Counting()
    memo = TextMemo(compute)
    for _ in range(2):
        with pytest.raises(PayloadError):
            memo.get((odd,), {"status": odd})
    assert compute.calls == 2
