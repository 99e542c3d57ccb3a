"""Runs the selected cases in order, one line per case, a summary, and optional JUnit XML.

``PASS name`` / ``FAIL name: why`` / ``SKIP name: why``; skips never count as failures
(except fault cases under ``--require-test-hooks``). Exit status 0 only when nothing failed.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import zmq

from sidecar.client.frames import RemoteError
from sidecar.tools.harness.context import Context, Options
from sidecar.tools.harness.junit import write_junit
from sidecar.tools.harness.outcome import CaseFailed, NotApplicable
from sidecar.tools.harness.peer import Peer
from sidecar.tools.harness.registry import Case, all_cases, select
from sidecar.tools.harness.schemas import SchemaBook
from sidecar.tools.harness.target import Target


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # PASS | FAIL | SKIP
    why: str
    seconds: float


def _why(exc: BaseException) -> str:
    if isinstance(exc, CaseFailed | NotApplicable):
        return str(exc)
    if isinstance(exc, RemoteError):
        return f"unexpected error reply from {exc}"
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {frame[0].filename.rsplit('/', 1)[-1]}:{frame[0].lineno}" if frame else ""
    return f"harness error {type(exc).__name__}: {exc}{where}"


def run_case(case: Case, ctx: Context) -> Outcome:
    started = time.monotonic()
    try:
        if case.needs_hooks and not ctx.has_test_hooks:
            raise NotApplicable("server has no test hooks")
        if case.last and not ctx.options.allow_shutdown:
            raise NotApplicable("--keep-server given")
        case.fn(ctx)
    except NotApplicable as exc:
        required = case.needs_hooks and ctx.options.require_test_hooks
        status = "FAIL" if required else "SKIP"
        return Outcome(case.name, status, _why(exc), time.monotonic() - started)
    except Exception as exc:
        return Outcome(case.name, "FAIL", _why(exc), time.monotonic() - started)
    finally:
        ctx.close_peers()
    return Outcome(case.name, "PASS", "", time.monotonic() - started)


def _probe(target: Target, book: SchemaBook, zctx: zmq.Context[zmq.Socket[bytes]],
           options: Options) -> dict[str, object]:
    peer = Peer(zctx, target, book, timeout=options.timeout)
    try:
        return peer.hello()
    finally:
        peer.close()


def run(target: Target, options: Options, *, only: str | None = None,
        junit: Path | None = None, out: TextIO = sys.stdout,
        cases: list[Case] | None = None) -> int:
    """Run the harness; returns the process exit status."""
    book = SchemaBook()
    selected = select(cases if cases is not None else all_cases(), only)
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    outcomes: list[Outcome] = []
    emit: Callable[[str], None] = lambda line: print(line, file=out, flush=True)  # noqa: E731
    try:
        try:
            server = _probe(target, book, zctx, options)
        except Exception as exc:
            outcomes.append(Outcome("session.reachable", "FAIL", _why(exc), 0.0))
            emit(f"FAIL session.reachable: {_why(exc)}")
            selected = []
            server = {}
        ctx = Context(target, book, options, server, zctx)
        try:
            for case in selected:
                outcome = run_case(case, ctx)
                outcomes.append(outcome)
                emit(f"{outcome.status} {outcome.name}"
                     + (f": {outcome.why}" if outcome.why else ""))
        finally:
            ctx.close()
    finally:
        zctx.term()
    passed = sum(o.status == "PASS" for o in outcomes)
    failed = sum(o.status == "FAIL" for o in outcomes)
    skipped = sum(o.status == "SKIP" for o in outcomes)
    emit(f"{passed} passed, {failed} failed, {skipped} skipped")
    if junit is not None:
        write_junit(junit, outcomes_as_rows(outcomes))
    return 1 if failed or not outcomes else 0


def outcomes_as_rows(outcomes: list[Outcome]) -> list[tuple[str, str, str, float]]:
    return [(o.name, o.status, o.why, o.seconds) for o in outcomes]
