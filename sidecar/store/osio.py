"""The store's OS seam: every blob write, fsync, rename and directory fsync, every spill and
journal write, and every metadata commit passes through here, so a test (or the test-only
``testFault`` method) can make the next N of one operation fail with a chosen errno.

With a ``Trace`` attached, the seam also records what the kernel was actually asked to do,
after the call succeeded: which file an fsync'd descriptor is (read back from
``/proc/self/fd``, not taken from the caller), which directory was fsynced, what was renamed
to what, when the database committed. Tests assert the order of those real calls (blob
fsync → rename → fsync of the blob's own directory → commit), which a fault hook that fires
before the call, whatever its target, cannot show.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from sidecar.portable import durable, files

FAULT_OPS = (
    "blobWrite", "blobFsync", "blobRename", "dirFsync", "dbCommit", "spillWrite",
    "journalWrite",
)


class Faults:
    """Armed failures: op → (errno, remaining count). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, tuple[int, int]] = {}

    def arm(self, op: str, errno_name: str, count: int = 1) -> None:
        if op not in FAULT_OPS:
            raise ValueError(f"unknown fault op {op!r}")
        code = getattr(errno, errno_name, None)
        if not isinstance(code, int):
            raise ValueError(f"unknown errno {errno_name!r}")
        with self._lock:
            if count <= 0:
                self._armed.pop(op, None)
            else:
                self._armed[op] = (code, count)

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def active(self) -> dict[str, int]:
        with self._lock:
            return {op: n for op, (_, n) in self._armed.items() if n > 0}

    def peek(self, op: str) -> int | None:
        """The errno ``op`` would fail with now, without using up the fault."""
        with self._lock:
            armed = self._armed.get(op)
            return armed[0] if armed and armed[1] > 0 else None

    def check(self, op: str) -> None:
        """Raise the armed OSError for ``op`` (using up one), or return."""
        with self._lock:
            armed = self._armed.get(op)
            if not armed or armed[1] <= 0:
                return
            code, left = armed
            if left <= 1:
                del self._armed[op]
            else:
                self._armed[op] = (code, left - 1)
        exc = OSError(code, f"{os.strerror(code)} (injected at {op})")
        exc.injected = True  # type: ignore[attr-defined]  # told apart by injected()
        raise exc


def injected(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by the fault switchboard (a test), not by the kernel."""
    return getattr(exc, "injected", False) is True


@dataclass(frozen=True)
class Call:
    """One call the kernel was asked to make. ``path`` is its target as the kernel sees it
    (for ``replace`` the destination, ``src`` the source); ``op`` the seam operation."""

    kind: str  # "write" | "fsync" | "replace" | "fsyncDir" | "commit"
    op: str
    path: str
    src: str = ""


class Trace:
    """The calls made through a seam, in order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def add(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


def fd_path(fd: int) -> str:
    """The path an open descriptor refers to, asked of the kernel."""
    if sys.platform.startswith("linux"):
        return os.readlink(f"/proc/self/fd/{fd}")
    if sys.platform == "win32":
        return f"fd:{fd}"
    try:
        import fcntl

        path = fcntl.fcntl(fd, getattr(fcntl, "F_GETPATH", 50), b"\0" * 1024)
        return path.rstrip(b"\0").decode(errors="replace")
    except OSError:
        return f"fd:{fd}"


class OsIO:
    """Thin wrappers over os.* that consult ``faults`` first (and record into ``trace``)."""

    def __init__(self, faults: Faults | None = None, trace: Trace | None = None) -> None:
        self.faults = faults or Faults()
        self.trace = trace

    def write_all(self, fd: int, data: bytes | bytearray | memoryview, op: str = "blobWrite"
                  ) -> None:
        view = memoryview(data).cast("B")
        if self.faults.peek(op) is not None:
            # A realistic failure: half the bytes land, then the error.
            os.write(fd, view[: len(view) // 2])
            self.faults.check(op)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if self.trace is not None:
            self.trace.add(Call("write", op, fd_path(fd)))

    def copy_range(self, method: str, src: int, dst: int, offset: int, count: int,
                   *, op: str = "blobWrite") -> int:
        """``files.copy_range``: up to ``count`` bytes at ``offset`` of ``src`` into ``dst``
        (the same offset), by ``method``; how many were copied (0: ``src`` ends there)."""
        if self.faults.peek(op) is not None:
            # A realistic failure: half the bytes land, then the error.
            if count > 1:
                files.copy_range(method, src, dst, offset, count // 2)
            self.faults.check(op)
        n = files.copy_range(method, src, dst, offset, count)
        if self.trace is not None and n:
            self.trace.add(Call("write", op, fd_path(dst)))
        return n

    def fsync(self, fd: int, op: str = "blobFsync") -> None:
        self.faults.check(op)
        durable.fsync_file(fd)
        if self.trace is not None:
            self.trace.add(Call("fsync", op, fd_path(fd)))

    def replace(self, src: Path, dst: Path, op: str = "blobRename") -> None:
        self.faults.check(op)
        os.replace(src, dst)
        if self.trace is not None:
            self.trace.add(Call("replace", op, os.fspath(dst), os.fspath(src)))

    def fsync_dir(self, path: Path, op: str = "dirFsync") -> None:
        self.faults.check(op)
        trace = self.trace
        if trace is None:
            durable.fsync_dir(path)
        else:
            durable.fsync_dir(path, seen=lambda fd: trace.add(Call("fsyncDir", op, fd_path(fd))))

    def commit(self, conn: sqlite3.Connection, what: str) -> None:
        """COMMIT the open transaction on ``conn`` (the database's one durable step)."""
        self.faults.check("dbCommit")
        conn.execute("COMMIT")
        if self.trace is not None:
            self.trace.add(Call("commit", "dbCommit", what))

    def check(self, op: str) -> None:
        self.faults.check(op)
