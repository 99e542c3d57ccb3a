"""The harness is honest: every case passes against the real sidecar, fault cases skip (or
fail when required) without test hooks, and each deliberately injected defect makes the
relevant case fail.

The harness runs against real ``serve`` processes: as its CLI (``python -m sidecar harness``)
for the clean runs, in-process (the same runner) for the defective servers, which start in
parallel. Defects are applied in the server's process only (tests/contract/mutants.py).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sidecar.tools.harness.context import Options
from sidecar.tools.harness.registry import all_cases
from sidecar.tools.harness.runner import run as run_harness
from sidecar.tools.harness.target import Target
from tests.contract.mutants import CAUGHT_BY, DEFECTS
from tests.support import ROOT, SidecarProcess, spawn_sidecar

MUTANT_BOOT = "from tests.contract.mutants import serve; serve()"

# A test configuration in which every case applies: test hooks, and downloads allowed from
# the harness's loopback HTTP server (plain http, loopback addresses), retried quickly.
DOWNLOADS_FROM_LOOPBACK = {
    "MEDIA_SIDECAR_ALLOW_HTTP_LOOPBACK": "1",
    "MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES": "1",
    "MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS": "2",
    "MEDIA_SIDECAR_DOWNLOAD_BACKOFF_BASE": "0.05",
    # small enough for the cases that exceed them (download cap, oversize frame)
    "MEDIA_SIDECAR_DOWNLOAD_MAX_BYTES": str(16 * 1024 * 1024),
    "MEDIA_SIDECAR_MAX_FRAME_BYTES": str(48 * 1024 * 1024),
}
ALLOWED_HOSTS = ("--allow-host", "fal.media", "--allow-host", "*.fal.media",
                 "--allow-host", "127.0.0.1")


def spawn_for_harness(tmp_path: Path, pre_args: tuple[str, ...] = ("-m", "sidecar"),
                      ) -> SidecarProcess:
    return spawn_sidecar(tmp_path, "--enable-test-hooks", *ALLOWED_HOSTS,
                         env=DOWNLOADS_FROM_LOOPBACK, pre_args=pre_args)


def harness(target: Path, *args: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Run the harness CLI; (exit status, case → (status, why), full stdout)."""
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "harness", "--connection-file", str(target), *args],
        capture_output=True, text=True, timeout=240, cwd=ROOT, check=False)
    return done.returncode, parse(done.stdout), done.stdout + done.stderr


def parse(stdout: str) -> dict[str, tuple[str, str]]:
    """The harness's ``STATUS name: why`` lines, by case name."""
    outcomes: dict[str, tuple[str, str]] = {}
    for line in stdout.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("PASS", "FAIL", "SKIP"):
            name, _, why = rest.partition(": ")
            outcomes[name] = (status, why)
    return outcomes


def _stop(proc: SidecarProcess) -> None:
    proc.stop()
    if proc.proc.stdout is not None:
        proc.proc.stdout.close()


def test_harness_passes_every_case_against_the_real_sidecar(tmp_path: Path) -> None:
    proc = spawn_for_harness(tmp_path)
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


def test_fault_and_download_cases_skip_against_a_production_configuration(
        tmp_path: Path) -> None:
    proc = spawn_sidecar(tmp_path)  # no test hooks, downloads only from FAL hosts
    try:
        code, outcomes, out = harness(proc.connection_file, "--keep-server", "--only",
                                      "downloads.*")
        assert code == 0, out
        assert outcomes and all(s == "SKIP" and "loopback HTTP server" in why
                                for s, why in outcomes.values()), out
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
    conn.write_text(json.dumps({"endpoint": "tcp://127.0.0.1:9", "secret": "x",
                                "signatureScheme": "hmac-sha256", "pid": 1, "protocol": "1.0.0",
                                "server": "0", "session": "s", "dataDir": str(tmp_path),
                                "startedAt": 1}))
    code, outcomes, out = harness(conn, "--timeout", "0.5")
    assert code == 1
    assert list(outcomes) == ["session.reachable"], out
    assert outcomes["session.reachable"][0] == "FAIL", out


@pytest.fixture(scope="module")
def defective_servers(tmp_path_factory: pytest.TempPathFactory,
                      ) -> Iterator[dict[str, SidecarProcess]]:
    """One server per defect, started in parallel (each start is mostly interpreter time)."""
    def start(defect: str) -> SidecarProcess:
        return spawn_for_harness(tmp_path_factory.mktemp(defect),
                                 pre_args=("-c", MUTANT_BOOT, defect))

    with ThreadPoolExecutor(max_workers=len(DEFECTS)) as pool:
        futures = {d: pool.submit(start, d) for d in sorted(DEFECTS)}
        servers = {d: f.result() for d, f in futures.items()}
    yield servers
    for proc in servers.values():
        _stop(proc)


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_harness_catches_an_injected_defect(defective_servers: dict[str, SidecarProcess],
                                            defect: str) -> None:
    proc = defective_servers[defect]
    out = io.StringIO()
    # In-process (the same runner as the CLI) and with short waits: a defect may make the
    # server stay silent where it must answer.
    code = run_harness(Target.from_connection_file(proc.connection_file),
                       Options(timeout=1.0, large_bytes=2 * 1024 * 1024), out=out)
    outcomes = parse(out.getvalue())
    case, phrase = CAUGHT_BY[defect]
    assert code == 1, out.getvalue()
    status, why = outcomes[case]
    assert status == "FAIL", out.getvalue()
    assert phrase in why, out.getvalue()
