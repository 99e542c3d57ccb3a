"""The mission tour end to end: ``python -m sidecar demo`` exits 0, shows every step, and
leaves nothing behind (no mount, no temp dir, no sidecar)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT, is_root

KEY_LINES = (
    "Setting the stage",
    "Step 1 · A video is generated and saved from its FAL URL",
    "✓ saved and durable",
    "the bytes on disk are exactly FAL's (sha256 matches)",
    "Step 2 · The disk fills up",
    "the reply says unsaved, honestly",
    "the error is the disk's: ENOSPC",
    "itemUnsaved event received",
    "what the app's toast shows",
    "You have 1 unsaved item",
    "Step 3 · Space returns: Retry saves it",
    "no unsaved items left",
    "Step 4 · Storage is blocked",
    "kept as urlOnly (not durable), not lost",
    "the error is the disk's: EROFS",
    "storageStatus says blocked",
    "Step 5 · Storage is writable again: download it later",
    "Step 6 · FAL deleted an old file: the link has expired",
    "the reply is the error url_expired",
    "the item is now expired",
    "Step 7 · The library, by project",
    "other-film's trailer is not shown in my-film",
    "Step 8 · The Content-Security-Policy the shim installs",
    "media-src allows fal.media and *.fal.media",
    "All 8 steps behaved as promised",
)


def run_demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # where the demo makes its temp dirs
    return subprocess.run([sys.executable, "-m", "sidecar", "demo", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=110, check=False)


def leftovers(tmp_path: Path) -> list[str]:
    mounts = [line for line in Path("/proc/mounts").read_text().splitlines()
              if str(tmp_path) in line]
    return mounts + [p.name for p in tmp_path.iterdir() if p.name.startswith("media-sidecar")]


def check(res: subprocess.CompletedProcess[str]) -> None:
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    for line in KEY_LINES:
        assert line in res.stdout, f"missing {line!r} in:\n{res.stdout}"
    assert "✗ expected" not in res.stdout


@pytest.mark.slow
def test_the_demo_shows_every_promise_and_exits_0(tmp_path: Path) -> None:
    res = run_demo(tmp_path)
    check(res)
    if is_root():
        assert "REAL failures" in res.stdout  # a real tmpfs: the kernel's ENOSPC and EROFS
    else:
        assert "SIMULATED failures (not root" in res.stdout
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_the_demo_simulates_storage_failures_when_asked(tmp_path: Path) -> None:
    res = run_demo(tmp_path, "--simulate")
    check(res)
    assert "SIMULATED failures" in res.stdout and "testFault" in res.stdout
    assert leftovers(tmp_path) == []


def test_without_root_the_demo_says_it_simulates(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from sidecar.tools.demo import storage

    monkeypatch.setattr(storage.os, "geteuid", lambda: 1000)
    disk = storage.choose_disk(tmp_path / "library", simulate=False)
    assert isinstance(disk, storage.SimulatedDisk)
    assert disk.sidecar_args == ("--enable-test-hooks",)
    assert "SIMULATED failures (not root" in disk.how()
    assert "ENOSPC / EROFS" in disk.how()
    assert (tmp_path / "library").is_dir()
