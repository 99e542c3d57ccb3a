"""The adversarial suite: attacks from outside the code, each with a time and memory budget.

Each test records its measured figures with the ``figures`` fixture; they are printed in an
"adversarial figures" section of the terminal summary and written to
``bench/results/adversarial.json`` (the README's reliability table quotes them). Figures are
reported, never asserted tightly; budgets are generous bounds that a regression breaks.

``MEDIA_SIDECAR_SOAK=1`` turns on the heavier mode (more races, more rounds).
"""

from __future__ import annotations

from tests.figures import SOAK, FigureBook, Figures, soak

__all__ = ["SOAK", "Figures", "soak"]

_BOOK = FigureBook("adversarial")
figures = _BOOK.fixture()
pytest_terminal_summary = _BOOK.summary
