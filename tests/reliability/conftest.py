"""The reliability suite: figures, soak mode, and a real sidecar per test.

Each test records its measured figures with the ``figures`` fixture; they are printed in
the terminal summary of every run (``make test`` shows them without ``-s``) and written to
``bench/results/reliability.json``. Figures are reported, never asserted tightly.

``MEDIA_SIDECAR_SOAK=1`` (``make soak``) turns on the long mode: more rounds, more messages.
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
    tr.section(f"reliability figures{' (soak)' if SOAK else ''}")
    for test, values in _FIGURES.items():
        tr.write_line(test)
        for k, v in values.items():
            tr.write_line(f"    {k}: {v}")
    out = ROOT / "bench" / "results"
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "reliability.json").write_text(json.dumps(
            {"soak": SOAK, "at": int(time.time()), "figures": _FIGURES}, indent=1))
    except OSError:
        pass

