"""The bench's table and JSON line, its targets in both directions, and its helpers."""

from __future__ import annotations

import json
import math

from bench import figures, peer
from bench.report import Figure, at_least, at_most, json_line, table


def test_an_upper_bound_is_met_at_or_below_it() -> None:
    assert Figure.bounded("a", 1.1, at_most(1.1)).met is True
    assert Figure.bounded("a", 1.2, at_most(1.1)).met is False
    assert Figure.bounded("a", 1.2, at_most(1.1)).target_text() == "≤ 1.1"


def test_a_lower_bound_is_met_at_or_above_it() -> None:
    assert Figure.bounded("rps", 1200, at_least(1200), "req/s").met is True
    low = Figure.bounded("rps", 812.4, at_least(1200), "req/s")
    assert low.met is False
    assert low.target_text() == "≥ 1200"


def test_no_target_and_nan_are_neither_met_nor_missed() -> None:
    assert Figure.bounded("a", 3.0, None).met is None
    assert Figure.bounded("a", math.nan, at_least(5)).met is None


def test_the_table_marks_misses_and_keeps_a_note_in_its_cell() -> None:
    rows = table(
        [
            Figure.bounded("rps_rest_c8", 812.4, at_least(1200), "req/s", "a | b"),
            Figure.bounded("cpu", 1.0, at_most(1.5), "ms"),
            Figure.bounded("skipped", math.nan, None, note="skipped: no node"),
        ]
    ).splitlines()
    assert rows[2] == "| `rps_rest_c8` | 812.4 req/s | ≥ 1200 | **NO** | a \\| b |"
    assert rows[3] == "| `cpu` | 1 ms | ≤ 1.5 | yes |  |"
    assert rows[4] == "| `skipped` | n/a | — | — | skipped: no node |"


def test_the_json_line_has_every_figure_and_null_for_nan() -> None:
    line = json_line([Figure("a", 1.23456), Figure("b", math.nan)])
    assert json.loads(line) == {"a": 1.2346, "b": None}


def test_every_figure_belongs_to_a_group_that_runs() -> None:
    assert {group for group, _ in figures.FIGURES.values()} <= set(figures.GROUPS)
    for group in figures.GROUPS:
        assert figures.names_of(group), group


def test_memory_growth_is_per_thousand_rows_between_checkpoints() -> None:
    readings = [(0, 80.0), (10_000, 110.0), (20_000, 112.0), (30_000, 112.5)]
    assert figures.per_thousand(readings) == [(10_000, 3.0), (20_000, 0.2), (30_000, 0.05)]


def test_the_peer_group_runs_after_shared_with_its_targets() -> None:
    order = list(figures.GROUPS)
    assert order.index("peer") == order.index("shared") + 1
    assert figures.GROUPS["peer"] is peer.peer
    assert figures.FIGURES["peer_rps_ratio"] == ("peer", at_least(2.5))
    assert figures.FIGURES["peer_hive_errors_per_page"] == ("peer", at_most(0))
    assert figures.names_of("peer") == list(peer.PEER_FIGURES)
    assert figures.unmeasured("peer_hive_rss_mb", "skipped: no node").target is None
