"""The harness is honest: every case passes against the real sidecar, fault cases skip (or
fail when required) without test hooks, and each deliberately injected defect makes the
relevant case fail.

The harness runs as its CLI (``python -m sidecar harness``) against a real ``serve``
process; defects are applied in the server's process only (tests/contract/mutants.py).
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sidecar.harness.registry import all_cases
from tests.contract.mutants import CAUGHT_BY, DEFECTS
from tests.support import ROOT, SidecarProcess, spawn_sidecar

MUTANT_BOOT = "from tests.contract.mutants import serve; serve()"


def harness(target: Path, *args: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Run the harness CLI; (exit status, case → (status, why), full stdout)."""
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "harness", "--connection-file", str(target), *args],
        capture_output=True, text=True, timeout=240, cwd=ROOT, check=False)
    outcomes: dict[str, tuple[str, str]] = {}
    for line in done.stdout.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("PASS", "FAIL", "SKIP"):
            name, _, why = rest.partition(": ")
            outcomes[name] = (status, why)
    return done.returncode, outcomes, done.stdout + done.stderr


def _stop(proc: SidecarProcess) -> None:
    proc.stop()
    if proc.proc.stdout is not None:
        proc.proc.stdout.close()


def test_harness_passes_every_case_against_the_real_sidecar(tmp_path: Path) -> None:
    proc = spawn_sidecar(tmp_path, "--enable-test-hooks")
    try:
        junit = tmp_path / "harness.xml"
        code, outcomes, out = harness(proc.connection_file, "--require-test-hooks",
                                      "--junit", str(junit))
        names = [c.name for c in all_cases()]
        assert {n: s for n, (s, _) in outcomes.items() if s != "PASS"} == {}, out
        assert list(outcomes) == names, out
        assert f"{len(names)} passed, 0 failed, 0 skipped" in out
        assert code == 0, out
        assert proc.wait(15) == 0  # the last case shut the server down
        suite = ET.parse(junit).getroot()
        assert (suite.get("tests"), suite.get("failures")) == (str(len(names)), "0")
    finally:
        _stop(proc)


def test_fault_cases_skip_without_test_hooks_and_fail_when_required(tmp_path: Path) -> None:
    proc = spawn_sidecar(tmp_path)
    try:
        code, outcomes, out = harness(proc.connection_file, "--keep-server", "--only", "faults.*")
        assert code == 0, out
        assert outcomes.pop("faults.test_hooks_announced_consistently")[0] == "PASS", out
        assert outcomes and all(o == ("SKIP", "server has no test hooks")
                                for o in outcomes.values()), out
        code, outcomes, out = harness(proc.connection_file, "--keep-server", "--only", "faults.*",
                                      "--require-test-hooks")
        assert code == 1, out
        assert outcomes["faults.retry_all_unsaved_saves_every_item"][0] == "FAIL", out
    finally:
        _stop(proc)


def test_harness_fails_when_no_server_answers(tmp_path: Path) -> None:
    conn = tmp_path / "conn.json"
    conn.write_text('{"endpoint": "tcp://127.0.0.1:9", "secret": "x"}')
    code, outcomes, out = harness(conn, "--timeout", "0.5")
    assert code == 1
    assert list(outcomes) == ["session.reachable"], out
    assert outcomes["session.reachable"][0] == "FAIL", out


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_harness_catches_an_injected_defect(tmp_path: Path, defect: str) -> None:
    proc = spawn_sidecar(tmp_path, "--enable-test-hooks", pre_args=("-c", MUTANT_BOOT, defect))
    try:
        # Short waits: a defect may make the server stay silent where it must answer.
        code, outcomes, out = harness(proc.connection_file, "--timeout", "1",
                                      "--large-mib", "2")
        case, phrase = CAUGHT_BY[defect]
        assert code == 1, out
        status, why = outcomes[case]
        assert status == "FAIL", out
        assert phrase in why, out
    finally:
        _stop(proc)
