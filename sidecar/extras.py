"""Optional dependencies: a feature that needs a package the install left out says so in one
line (which extra to install), never with a traceback.

``pip install media-sidecar`` installs what serve, the debugger and the harness need; the
demo's throw-away CA (``trustme``, which pulls in ``cryptography``) is the ``demo`` extra. A
frozen build (``make dist``) leaves it out too: its message says to run the demo from a pip
install instead.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

# module → the extra that installs it
EXTRAS = {"trustme": "demo"}


class MissingExtra(Exception):
    """A feature's optional dependency is not installed; ``str()`` is the one-line hint."""


def hint(module: str, feature: str) -> str:
    extra = EXTRAS.get(module)
    if getattr(sys, "frozen", False):
        how = ("this self-contained build leaves it out; run it from a pip install: "
               f"pip install 'media-sidecar[{extra}]'" if extra else
               "this self-contained build leaves it out")
    elif extra:
        how = f"install it with: pip install 'media-sidecar[{extra}]'"
    else:
        how = f"install it with: pip install {module}"
    return f"{feature} needs the Python package {module!r}, which is not installed; {how}"


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` or raise ``MissingExtra`` with the hint."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module and not (exc.name or "").startswith(module + "."):
            raise  # the package is there but broken: that is a real error
        raise MissingExtra(hint(module, feature)) from None


def missing_from(exc: ModuleNotFoundError) -> str | None:
    """The known optional top-level module ``exc`` is about, if any."""
    top = (exc.name or "").partition(".")[0]
    return top if top in EXTRAS else None
