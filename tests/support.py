"""Shared test support: a real sidecar process, an in-process server, and `require`.

`require(ok, what)` skips a test whose component is missing, except under CI=true where it
fails: CI installs everything, so a missing component there is a defect, never a skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from sidecar.portable.process import stop_child

ROOT = Path(__file__).resolve().parent.parent


def require(ok: bool, what: str) -> None:
    if ok:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"required component missing under CI: {what}")
    pytest.skip(f"missing: {what}")


def gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return True


def wait_gone(pid: int, limit: float) -> float:
    """Seconds until ``pid`` is gone (polled every 20 ms), or ``inf`` after ``limit``."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if gone(pid):
            return time.monotonic() - start
        time.sleep(0.02)
    return float("inf")


def is_root() -> bool:
    return os.geteuid() == 0


def unmount(path: Path) -> None:
    """Unmount, lazily if busy; quiet when nothing is mounted there."""
    done = subprocess.run(["umount", str(path)], check=False, capture_output=True)
    if done.returncode != 0:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@contextlib.contextmanager
def mounted_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` at ``where`` (root only: it gives real ENOSPC, and a
    read-only bind over it real EROFS); unmounted afterwards, with any bind left on
    ``where/data`` by a failed test."""
    require(is_root(), "root (tmpfs mounts for a real ENOSPC / EROFS)")
    where.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(where)], check=False, capture_output=True, text=True)
    require(done.returncode == 0, f"mounting a tmpfs: {done.stderr.strip()}")
    try:
        yield where
    finally:
        with contextlib.suppress(Exception):
            unmount(where / "data")
        unmount(where)


@dataclass
class SidecarProcess:
    """A real `python -m sidecar serve` child, started and read like a launcher does."""

    proc: subprocess.Popen[str]
    ready: dict[str, object]
    data_dir: Path
    secret: str
    stderr_path: Path
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def connection_file(self) -> Path:
        return Path(str(self.ready["connectionFile"]))

    @property
    def endpoint(self) -> str:
        return str(self.ready["endpoint"])

    @property
    def pid(self) -> int:
        return int(str(self.ready["pid"]))

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait(self, timeout: float = 10.0) -> int:
        code = self.proc.wait(timeout)
        self.close_pipes()
        return code

    def read_rest_of_stdout(self) -> str:
        """What the sidecar printed after its ready line (read once it has exited)."""
        assert self.proc.stdout is not None
        return self.proc.stdout.read()

    def close_pipes(self) -> None:
        if self.proc.stdout is not None and not self.proc.stdout.closed:
            self.extra["stdout_rest"] = self.proc.stdout.read()
            self.proc.stdout.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.close_pipes()

    def stop(self) -> int:
        code = stop_child(self.proc)
        self.close_pipes()
        return code


def spawn_sidecar(tmp: Path, *args: str, data_dir: Path | None = None,
                  env: dict[str, str] | None = None, secret: str | None = None,
                  timeout: float = 20.0, python: str = sys.executable,
                  pre_args: tuple[str, ...] = ("-m", "sidecar")) -> SidecarProcess:
    """Start a sidecar and wait for its ready line; the secret goes by environment."""
    secret = secret or secrets.token_hex(32)
    data_dir = data_dir or tmp / "data"
    run_dir = tmp / f"run-{secrets.token_hex(3)}"
    stderr_path = tmp / f"sidecar-{secrets.token_hex(3)}.log"
    full_env = {**os.environ, "MEDIA_SIDECAR_SECRET": secret, **(env or {})}
    err: IO[str] = stderr_path.open("w")
    proc = subprocess.Popen(
        [python, *pre_args, "serve", "--data-dir", str(data_dir), "--runtime-dir",
         str(run_dir), *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True,
        env=full_env, cwd=ROOT,
    )
    err.close()
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line or proc.poll() is not None:
            break
    if not line:
        proc.kill()
        raise RuntimeError(f"sidecar did not become ready: {stderr_path.read_text()}")
    ready = json.loads(line)
    return SidecarProcess(proc, ready, data_dir, secret, stderr_path)
