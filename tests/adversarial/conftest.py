"""The adversarial suite: attacks from outside the code, each with a time and memory budget.

Each test records its measured figures with the ``figures`` fixture; they are printed in an
"adversarial figures" section of the terminal summary and written to
``bench/results/adversarial.json`` (the README's reliability table quotes them). Figures are
reported, never asserted tightly; budgets are generous bounds that a regression breaks.

``MEDIA_SIDECAR_SOAK=1`` turns on the heavier mode (more races, more rounds).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import ROOT

SOAK = os.environ.get("MEDIA_SIDECAR_SOAK", "").lower() in {"1", "true", "yes"}
_FIGURES: dict[str, dict[str, Any]] = {}


def soak(default: int, long: int) -> int:
    """A count for the default run, or for the soak run."""
    return long if SOAK else default


class Figures:
    def __init__(self, test: str) -> None:
        self._test = test

    def __setitem__(self, name: str, value: Any) -> None:
        _FIGURES.setdefault(self._test, {})[name] = value


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    yield Figures(request.node.name)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    tr = terminalreporter
    tr.section(f"adversarial figures{' (soak)' if SOAK else ''}")
    for test, values in _FIGURES.items():
        tr.write_line(test)
        for k, v in values.items():
            tr.write_line(f"    {k}: {v}")
    out = ROOT / "bench" / "results"
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "adversarial.json").write_text(json.dumps(
            {"soak": SOAK, "at": int(time.time()), "figures": _FIGURES}, indent=1))
    except OSError:
        pass
