"""An exclusive lock on an open file, released by the OS when the process dies (so a killed
sidecar never leaves a stale lock): ``flock`` on POSIX, ``msvcrt.locking`` on Windows.

Windows locks a byte range and forbids others to read it, so the byte locked there lies far
beyond the pid the lock file holds (locking beyond the end of a file is allowed).
"""

from __future__ import annotations

import os
import sys

_WIN_LOCK_OFFSET = 1 << 30


def try_lock(fd: int) -> bool:
    """Take the lock without waiting: True if taken, False if another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:  # EACCES / EDEADLOCK: locked by another process
            return False
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
