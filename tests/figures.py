"""Figures a suite measures (reported, never asserted tightly): the ``figures`` fixture, the
soak switch, and a terminal-summary section plus ``bench/results/<suite>.json``.

The reliability and adversarial suites each make one ``FigureBook`` in their conftest.
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


def soak(default: int, long: int) -> int:
    """A count for the default run, or for the soak run."""
    return long if SOAK else default


class Figures:
    """One test's figures, written into its book."""

    def __init__(self, book: dict[str, dict[str, Any]], test: str) -> None:
        self._book = book
        self._test = test

    def __setitem__(self, name: str, value: Any) -> None:
        self._book.setdefault(self._test, {})[name] = value


class FigureBook:
    """The figures of one suite (``name``: the summary section and the results file)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: dict[str, dict[str, Any]] = {}

    def fixture(self) -> Any:
        @pytest.fixture
        def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
            yield Figures(self.entries, request.node.name)

        return figures

    def summary(self, terminalreporter: Any) -> None:
        if not self.entries:
            return
        tr = terminalreporter
        tr.section(f"{self.name} figures{' (soak)' if SOAK else ''}")
        for test, values in self.entries.items():
            tr.write_line(test)
            for k, v in values.items():
                tr.write_line(f"    {k}: {v}")
        out = ROOT / "bench" / "results"
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{self.name}.json").write_text(json.dumps(
                {"soak": SOAK, "at": int(time.time()), "figures": self.entries}, indent=1))
        except OSError:
            pass
