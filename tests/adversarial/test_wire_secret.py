"""Where the secret can be read from outside the sidecar: ``/proc/<pid>/environ`` and
``/proc/<pid>/cmdline`` (readable by the same user and root for the process's life).

By environment, the secret stays in the initial environment block even though the sidecar
removes it from ``os.environ`` (what docs/PROTOCOL.md says); on stdin (the shim's default,
tested from Node in ``electron-shim/test/spawn.test.ts``) it is in neither.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tests.adversarial.conftest import Figures
from tests.support import ROOT, SidecarProcess, spawn_sidecar


def _proc_files(pid: int) -> tuple[bytes, bytes]:
    return (Path(f"/proc/{pid}/environ").read_bytes(),
            Path(f"/proc/{pid}/cmdline").read_bytes())


def _spawn_stdin(tmp: Path, secret: str) -> SidecarProcess:
    err_path = tmp / "stdin-sidecar.log"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(tmp / "d2"),
             "--runtime-dir", str(tmp / "run2"), "--transport", "tcp", "--secret-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
            env={k: v for k, v in os.environ.items() if k != "MEDIA_SIDECAR_SECRET"})
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(secret + "\n")
    proc.stdin.close()
    ready = json.loads(proc.stdout.readline())
    return SidecarProcess(proc, ready, tmp / "d2", secret, err_path)


def test_what_proc_shows_of_the_secret_by_environment_and_by_stdin(
        tmp_path: Path, figures: Figures) -> None:
    by_env = secrets.token_hex(32)
    sc = spawn_sidecar(tmp_path, "--transport", "tcp", secret=by_env)
    try:
        environ, cmdline = _proc_files(sc.pid)
        conn = json.loads(sc.connection_file.read_text())
        assert conn["secret"] == by_env  # the sidecar did take it from the environment
        env_exposed = by_env.encode() in environ
        assert by_env.encode() not in cmdline
    finally:
        sc.stop()
    by_stdin = secrets.token_hex(32)
    sc2 = _spawn_stdin(tmp_path, by_stdin)
    try:
        environ2, cmdline2 = _proc_files(sc2.pid)
        conn2 = json.loads(sc2.connection_file.read_text())
        assert conn2["secret"] == by_stdin
        assert by_stdin.encode() not in environ2
        assert b"MEDIA_SIDECAR_SECRET" not in environ2
        assert by_stdin.encode() not in cmdline2
    finally:
        sc2.stop()
    figures["secret by environment: in /proc/<pid>/environ"] = env_exposed
    figures["secret on stdin: in /proc/<pid>/environ or cmdline"] = False
    # what docs/PROTOCOL.md says: by environment it stays readable there
    assert env_exposed
