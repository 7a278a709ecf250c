"""Figures and their output: a Markdown table, then one line of JSON with every figure."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bound:
    """A figure's target: an upper bound, or a lower one when ``at_least`` (throughput)."""

    value: float
    at_least: bool = False


def at_most(value: float) -> Bound:
    return Bound(value)


def at_least(value: float) -> Bound:
    return Bound(value, at_least=True)


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

    @classmethod
    def bounded(
        cls, name: str, value: float, bound: Bound | None, unit: str = "", note: str = ""
    ) -> Figure:
        """A figure whose target is ``bound`` (None: no target)."""
        if bound is None:
            return cls(name, value, unit, note=note)
        return cls(name, value, unit, bound.value, bound.at_least, note)

    def target_text(self) -> str:
        if self.target is None:
            return "—"
        return f"{'≥' if self.at_least else '≤'} {_num(self.target)}"


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
        note = f.note.replace("|", "\\|")  # a pipe would end the cell
        rows.append(f"| `{f.name}` | {value} | {f.target_text()} | {met} | {note} |")
    return "\n".join(rows)


def json_line(figures: Sequence[Figure]) -> str:
    """Every figure by name (rounded), on one line; NaN becomes null."""
    values = {f.name: None if math.isnan(f.value) else round(f.value, 4) for f in figures}
    return json.dumps(values, separators=(",", ":"))
