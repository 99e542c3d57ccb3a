"""The harness cases, one module per concern; ``load()`` imports them all, which registers
them in this order (the order they run in)."""

from __future__ import annotations

import importlib

MODULES = (
    "session",
    "auth",
    "frames",
    "methods",
    "errors",
    "library",
    "events",
    "concurrency",
    "binary",
    "playback",
    "downloads",
    "states",
    "faults",
    "contract",
    "shutdown",
)


def load() -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
