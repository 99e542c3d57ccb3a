"""The store's OS seam: every blob write, fsync, rename and directory fsync, every spill and
journal write, and every metadata commit passes through here, so a test (or the test-only
``testFault`` method) can make the next N of one operation fail with a chosen errno."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

from sidecar.portable import durable

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
        raise OSError(code, f"{os.strerror(code)} (injected at {op})")


class OsIO:
    """Thin wrappers over os.* that consult ``faults`` first."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()

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

    def fsync(self, fd: int, op: str = "blobFsync") -> None:
        self.faults.check(op)
        durable.fsync_file(fd)

    def replace(self, src: Path, dst: Path, op: str = "blobRename") -> None:
        self.faults.check(op)
        os.replace(src, dst)

    def fsync_dir(self, path: Path, op: str = "dirFsync") -> None:
        self.faults.check(op)
        durable.fsync_dir(path)

    def check(self, op: str) -> None:
        self.faults.check(op)
