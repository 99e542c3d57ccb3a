"""How a case ends other than by passing: it failed (the server broke the contract), or it
does not apply to this server (e.g. no test hooks)."""

from __future__ import annotations


class CaseFailed(Exception):
    """The server did something the contract forbids; the message says what."""


class NotApplicable(Exception):
    """The case cannot run against this server; reported as SKIP, not a failure."""


def check(ok: bool, why: str) -> None:
    """Fail the case with ``why`` unless ``ok``."""
    if not ok:
        raise CaseFailed(why)
