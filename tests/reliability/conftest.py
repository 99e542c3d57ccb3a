"""The reliability suite: figures, soak mode, and a real sidecar per test.

Each test records its measured figures with the ``figures`` fixture; they are printed in
the terminal summary of every run (``make test`` shows them without ``-s``) and written to
``bench/results/reliability.json``. Figures are reported, never asserted tightly.

``MEDIA_SIDECAR_SOAK=1`` (``make soak``) turns on the long mode: more rounds, more messages.
"""

from __future__ import annotations

from tests.figures import SOAK, FigureBook, Figures, soak

__all__ = ["SOAK", "Figures", "soak"]

_BOOK = FigureBook("reliability")
figures = _BOOK.fixture()
pytest_terminal_summary = _BOOK.summary

