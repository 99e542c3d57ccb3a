"""Durable means the bytes survive a power loss, not just a crash of the process.

- Linux: ``fsync`` flushes the drive's cache too; a rename is durable once its directory is
  fsynced.
- macOS: ``fsync`` only hands the data to the drive, which may keep it in its cache:
  ``fcntl(F_FULLFSYNC)`` is the flush that survives power loss (Apple's "Reducing the risk of
  data loss"), and SQLite needs ``PRAGMA fullfsync`` / ``checkpoint_fullfsync`` to use it.
  A filesystem that does not support it (some network volumes) gets a plain ``fsync``.
- Windows: ``os.fsync`` is ``_commit`` (``FlushFileBuffers``). A directory cannot be opened
  as a file, so there is no directory fsync: NTFS journals its metadata, which makes a
  rename durable once the journal is flushed; ``fsync_dir`` does nothing there.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

DIR_FSYNC = sys.platform != "win32"

# F_FULLFSYNC not supported by this filesystem: fall back to fsync
_NO_FULLFSYNC = frozenset({errno.ENOTSUP, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOTTY})


def sqlite_pragmas(platform: str = sys.platform) -> tuple[str, ...]:
    """The pragmas (after ``synchronous = FULL``) that make a commit durable here."""
    if platform == "darwin":
        return ("PRAGMA fullfsync = ON", "PRAGMA checkpoint_fullfsync = ON")
    return ()


if sys.platform == "darwin":
    import fcntl

    def fsync_file(fd: int) -> None:
        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
        except OSError as exc:
            if exc.errno not in _NO_FULLFSYNC:
                raise
            os.fsync(fd)
else:
    def fsync_file(fd: int) -> None:
        os.fsync(fd)


def fsync_dir(path: Path, seen: Callable[[int], None] | None = None) -> None:
    """Make the entries of ``path`` (a rename into it) durable; nothing on Windows.
    ``seen`` is called with the directory's descriptor once it is fsynced (the store's
    seam reads back which directory the kernel fsynced)."""
    if not DIR_FSYNC:
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fsync_file(fd)
        if seen is not None:
            seen(fd)
    finally:
        os.close(fd)
