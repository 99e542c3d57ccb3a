"""Rows of the bench table: a figure, its baseline from the same run, the ratio, the target.

A ratio is always ``sidecar / baseline`` in the row's unit (the median of paired
per-repetition ratios where the row has them); ``better`` says which way is
good ("lower" for times and memory, "higher" for throughput), so a target reads
``≤ 1.3×`` or ``≥ 0.8×``.
"""

# ruff: noqa: RUF001, RUF002
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float = float("nan")
    better: str = "lower"  # "lower" | "higher"
    target: float | None = None  # on the ratio
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # The median of per-repetition ratios (each repetition's figure over its own baseline),
    # when the variants ran as interleaved pairs: steadier than a ratio of medians when
    # the machine's load drifts during the run.
    paired: float | None = None

    @property
    def ratio(self) -> float:
        if self.paired is not None:
            return self.paired
        if not self.baseline or math.isnan(self.baseline) or math.isnan(self.value):
            return float("nan")
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        if self.target is None or math.isnan(self.ratio):
            return None
        return self.ratio <= self.target if self.better == "lower" else self.ratio >= self.target

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = None if math.isnan(self.ratio) else round(self.ratio, 3)
        d["met"] = self.met
        for k in ("value", "baseline"):
            if isinstance(d[k], float) and math.isnan(d[k]):
                d[k] = None
        return d


def _fmt(v: float, unit: str) -> str:
    if math.isnan(v):
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f} {unit}"
    if abs(v) >= 10:
        return f"{v:.1f} {unit}"
    return f"{v:.3g} {unit}"


def render(rows: list[Row]) -> str:
    """A Markdown table: readable in a terminal and in RESULTS.md alike."""
    head = "| row | sidecar | baseline | ratio | target | met | note |"
    lines = [head, "|---|---:|---|---:|---:|:---:|---|"]
    for r in rows:
        base = f"{r.baseline_name}: {_fmt(r.baseline, r.unit)}" if r.baseline_name else ""
        ratio = "—" if math.isnan(r.ratio) else f"{r.ratio:.2f}×"
        tgt = "" if r.target is None else ("≤ " if r.better == "lower" else "≥ ") + \
            f"{r.target:g}×"
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        lines.append(f"| {r.name} | {_fmt(r.value, r.unit)} | {base} | {ratio} | {tgt} | "
                     f"{met} | {r.note} |")
    return "\n".join(lines)
