"""Figures and their output: a Markdown table, then one line of JSON with every figure."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured number; ``target`` is an upper bound unless ``at_least``."""

    name: str
    value: float
    unit: str = ""
    target: float | None = None
    at_least: bool = False
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.target is None or math.isnan(self.value):
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target

    def target_text(self) -> str:
        if self.target is None:
            return "—"
        return f"{'>=' if self.at_least else '<='} {_num(self.target)}"


def _num(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def table(figures: Sequence[Figure]) -> str:
    """The Markdown table: figure, value, target, met, how it was measured."""
    rows = [
        "| figure | value | target | met | notes |",
        "|---|---:|---|:-:|---|",
    ]
    for f in figures:
        met = {True: "yes", False: "**NO**", None: "—"}[f.met]
        value = f"{_num(f.value)} {f.unit}".strip()
        rows.append(f"| `{f.name}` | {value} | {f.target_text()} | {met} | {f.note} |")
    return "\n".join(rows)


def json_line(figures: Sequence[Figure]) -> str:
    """Every figure by name (rounded), on one line; NaN becomes null."""
    values = {f.name: None if math.isnan(f.value) else round(f.value, 4) for f in figures}
    return json.dumps(values, separators=(",", ":"))
