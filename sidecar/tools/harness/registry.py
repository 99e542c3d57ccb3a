"""The catalogue of cases: each case module registers its functions with ``@case``."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sidecar.tools.harness.context import Context

CaseFn = Callable[["Context"], None]


@dataclass(frozen=True)
class Case:
    name: str
    fn: CaseFn
    doc: str
    needs_hooks: bool = False  # uses testFault: not applicable without --enable-test-hooks
    last: bool = False  # stops the server: runs after every other case


CASES: list[Case] = []


def case(name: str, *, needs_hooks: bool = False, last: bool = False) -> Callable[[CaseFn], CaseFn]:
    def register(fn: CaseFn) -> CaseFn:
        if any(c.name == name for c in CASES):
            raise ValueError(f"two harness cases are called {name}")
        doc = " ".join((fn.__doc__ or "").split())
        CASES.append(Case(name, fn, doc, needs_hooks, last))
        return fn

    return register


def all_cases() -> list[Case]:
    """Every case in registration order, the server-stopping ones at the end."""
    from sidecar.tools.harness.cases import load

    load()
    return sorted(CASES, key=lambda c: c.last)


def select(cases: list[Case], pattern: str | None) -> list[Case]:
    """Cases whose name matches a glob (``auth.*``) or contains ``pattern``."""
    if not pattern:
        return cases
    if any(ch in pattern for ch in "*?["):
        return [c for c in cases if fnmatch.fnmatchcase(c.name, pattern)]
    return [c for c in cases if pattern in c.name]
