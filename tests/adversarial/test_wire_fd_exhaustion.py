"""Out of file descriptors is not a storage failure: a real EMFILE in the middle of adds
answers ``busy`` (retry later); no item goes ``unsaved`` or ``urlOnly``, storage is never
reported blocked, and the same add is saved once descriptors are free again.

Runs the media service in a child process (its own RLIMIT_NOFILE, so the test runner's is
untouched), exhausting the descriptors with real ``open`` calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.adversarial.conftest import Figures
from tests.support import ROOT

CHILD = r"""
import asyncio, errno, json, os, resource, sys
from pathlib import Path
from sidecar.errors import SidecarError
from tests.service.caller import make_settings, open_caller

async def main(tmp):
    caller = await open_caller(make_settings(Path(tmp)))
    out = {}
    first = await caller.add(b"warm-up", id="warm")
    out["warm"] = first["item"]["status"]
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    held = []
    try:
        while len(held) < 4096:
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as exc:
        out["exhausted_with"] = errno.errorcode[exc.errno]
    out["held"] = len(held)
    codes = []
    for i in range(5):
        try:
            r = await caller.add(os.urandom(70_000), id=f"x{i}")
            codes.append("saved:" + r["item"]["status"])
        except SidecarError as exc:
            codes.append(str(exc.code.value))
    out["while_exhausted"] = codes
    try:
        st = await caller.call("storageStatus")
        out["status_while_exhausted"] = {"blocked": st["blocked"], "writable": st["writable"]}
    except SidecarError as exc:
        out["status_while_exhausted"] = str(exc.code.value)
    for fd in held:
        os.close(fd)
    r = await caller.add(os.urandom(70_000), id="x0")
    out["after"] = r["item"]["status"]
    listed = await caller.call("listMediaItems", projectId="p1")
    out["counts"] = listed["counts"]
    st = await caller.call("storageStatus")
    out["status_after"] = {"blocked": st["blocked"], "writable": st["writable"]}
    await caller.close()
    print(json.dumps(out))

asyncio.run(main(sys.argv[1]))
"""


def test_emfile_during_adds_is_busy_never_unsaved(tmp_path: Path, figures: Figures) -> None:
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    figures["descriptors opened until"] = f"{out['held']} ({out['exhausted_with']})"
    figures["adds while exhausted"] = out["while_exhausted"]
    figures["counts after"] = out["counts"]
    assert out["warm"] == "saved"
    assert out["exhausted_with"] == "EMFILE"
    assert set(out["while_exhausted"]) == {"busy"}, out
    assert out["after"] == "saved"
    counts = out["counts"]
    assert counts["saved"] == 2 and counts["unsaved"] == 0 and counts["urlOnly"] == 0, out
    assert out["status_after"] == {"blocked": False, "writable": True}, out
    assert "Traceback" not in done.stderr
