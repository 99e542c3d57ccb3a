"""Small statistics for the benches: percentiles, medians of repetitions, interleaving.

Every comparison runs its variants interleaved (A B C, A B C, ...) so that drift of the
machine (another process, CPU frequency, page cache) hits all of them alike; a row's figure
is the median over repetitions of each repetition's own figure.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank on the sorted samples."""
    if not samples:
        return float("nan")
    s = sorted(samples)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def interleave(reps: int, variants: dict[str, Callable[[], T]]) -> dict[str, list[T]]:
    """Run each variant once per repetition, in a rotating order; collect the results."""
    out: dict[str, list[T]] = {k: [] for k in variants}
    names = list(variants)
    for r in range(reps):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            out[name].append(variants[name]())
    return out


def paired_ratio(values: Sequence[float], baselines: Sequence[float]) -> float:
    """The median of value/baseline over repetitions run side by side."""
    return median([v / b for v, b in zip(values, baselines, strict=True) if b])
