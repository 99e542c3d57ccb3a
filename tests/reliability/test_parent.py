"""A sidecar whose parent is SIGKILLed exits on its own, quickly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.reliability.conftest import Figures
from tests.support import ROOT, gone

# The parent: spawns the sidecar as a launcher would, relays its ready line, then idles.
PARENT = """
import os, subprocess, sys, time
proc = subprocess.Popen([sys.executable, "-m", "sidecar", "serve", "--data-dir", sys.argv[1],
                         "--runtime-dir", sys.argv[2]], stdout=subprocess.PIPE, text=True)
print(proc.stdout.readline().strip(), flush=True)
time.sleep(600)
"""


def test_sidecar_exits_soon_after_its_parent_is_killed(tmp_path: Path,
                                                        figures: Figures) -> None:
    env = {**os.environ, "MEDIA_SIDECAR_SECRET": "s" * 64}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "data"),
                               str(tmp_path / "run")], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=ROOT)
    assert parent.stdout is not None
    try:
        ready = json.loads(parent.stdout.readline())
        pid = int(ready["pid"])
        assert not gone(pid)
        os.kill(parent.pid, signal.SIGKILL)
        t0 = time.monotonic()
        parent.wait(10)
        while not gone(pid) and time.monotonic() - t0 < 10:
            time.sleep(0.005)
        elapsed = time.monotonic() - t0
    finally:
        parent.stdout.close()
        if parent.poll() is None:
            parent.kill()
            parent.wait(5)
    still_there = not gone(pid)
    if still_there:
        os.kill(pid, signal.SIGKILL)
    figures["sidecar gone after parent SIGKILL (s)"] = round(elapsed, 3)
    assert not still_there, "the sidecar outlived its parent by 10 s"
    assert elapsed <= 5.0  # a generous liveness bound; the figure above is what matters
