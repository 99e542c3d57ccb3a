"""Process lifecycle: the data-dir lock, the connection file, the ready line, parent watch.

Owner-only everywhere: the runtime directory is 0700, the connection file 0600 (written
to a temp name with O_EXCL and the final mode, then renamed, so it is never readable by
others, even for a moment).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from sidecar.portable.files import owned_by_me
from sidecar.portable.lock import try_lock
from sidecar.portable.process import pid_alive

log = logging.getLogger("sidecar.lifecycle")


class DataDirInUse(Exception):
    """Another sidecar holds the data directory."""


class DataDirLock:
    """An exclusive, non-blocking lock on ``<data dir>/.lock`` (``sidecar.portable.lock``);
    released when the fd closes (so a SIGKILLed sidecar never leaves a stale lock)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not try_lock(fd):
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DataDirInUse(
                f"data dir {self.path.parent} is in use by another media-sidecar "
                f"(pid {holder}); stop it or choose another --data-dir")
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` owner-only, or check an existing one: a real directory (not a link),
    owned by us; its mode is tightened to 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise PermissionError(f"{path} is not a directory (a symlink?)")
    if not owned_by_me(st):
        raise PermissionError(f"{path} is not owned by this user")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


def write_connection_file(path: Path, info: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def remove_file(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def print_ready_line(info: dict[str, object], out: IO[str] | None = None) -> None:
    """The one and only line the sidecar writes to stdout."""
    stream = out or sys.stdout
    stream.write(json.dumps({"event": "ready", **info}, separators=(",", ":")) + "\n")
    stream.flush()


async def watch_parent(original_ppid: int, parent_pid: int | None, interval: float,
                       on_gone: Callable[[str], None]) -> None:
    """Call ``on_gone`` once the parent is gone: our ppid is no longer ``original_ppid``
    (read at process start, so a parent that dies during start-up is seen too), or
    ``parent_pid`` died."""
    while True:
        if os.getppid() != original_ppid:
            on_gone(f"parent process {original_ppid} exited")
            return
        if parent_pid is not None and not pid_alive(parent_pid):
            on_gone(f"watched process {parent_pid} exited")
            return
        await asyncio.sleep(interval)


def started_at_ms() -> int:
    return int(time.time() * 1000)
