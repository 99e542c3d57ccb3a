"""Starting and stopping the demo's sidecar the way a launcher (electron-shim) does.

``python -m sidecar serve`` as a child: the secret goes by environment (never argv), the one
JSON ready line is read from stdout, logs go to a file. Stopping is orderly first
(``shutdown``), then SIGTERM, then SIGKILL, each with a bounded wait.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidecar.portable.process import stop_child


class LaunchError(Exception):
    """The sidecar did not start; the message carries the end of its log."""


@dataclass
class Launched:
    proc: subprocess.Popen[bytes]
    ready: dict[str, Any]
    log_path: Path

    @property
    def pid(self) -> int:
        return int(self.ready["pid"])

    @property
    def connection_file(self) -> Path:
        return Path(str(self.ready["connectionFile"]))

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, grace: float = 10.0) -> int | None:
        """SIGTERM (the sidecar drains and exits 0), then SIGKILL. Returns the exit code."""
        code = stop_child(self.proc, grace)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def launch(data_dir: Path, runtime_dir: Path, log_path: Path, *, env: dict[str, str],
           extra_args: tuple[str, ...] = (), timeout: float = 20.0) -> Launched:
    """Spawn the sidecar and wait for its ready line (at most ``timeout`` seconds)."""
    full_env = {**os.environ, **env, "MEDIA_SIDECAR_SECRET": secrets.token_hex(32)}
    full_env.pop("MEDIA_SIDECAR_DATA_DIR", None)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(data_dir),
             "--runtime-dir", str(runtime_dir), *extra_args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=full_env)
    stdout = proc.stdout
    assert stdout is not None
    line: list[bytes] = []

    def read_ready() -> None:
        line.append(stdout.readline())

    reader = threading.Thread(target=read_ready, daemon=True, name="sidecar-ready")
    reader.start()
    reader.join(timeout)
    if not line or not line[0]:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        raise LaunchError(f"the sidecar did not print its ready line within {timeout:g} s "
                          f"(exit {proc.returncode}); its log:\n{_tail(log_path)}")
    try:
        ready = json.loads(line[0])
    except ValueError as exc:
        proc.kill()
        proc.wait(5)
        raise LaunchError(f"the sidecar's first line is not JSON: {line[0]!r}") from exc
    if ready.get("event") != "ready":
        proc.kill()
        proc.wait(5)
        raise LaunchError(f"unexpected first line: {ready!r}")
    return Launched(proc, ready, log_path)
