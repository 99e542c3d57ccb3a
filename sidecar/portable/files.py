"""Files: the flags every ``os.open`` of ours adds, ``pread``, who owns a path, and the
write-behind hint.

On Windows there is no uid: ``st_uid`` is always 0 and the mode bits only say read-only. A
directory is private there through the ACL it inherits from the user's profile (the default
data, runtime and temp directories all live under it), so the owner-only checks pass.
"""

from __future__ import annotations

import os
import stat
import sys

if sys.platform == "win32":
    # not inherited by children; binary, or the C runtime turns \n into \r\n on write
    FD_FLAGS: int = os.O_NOINHERIT | os.O_BINARY
    # no symlinks to refuse at open on Windows (reparse points are not followed by O_RDONLY)
    NOFOLLOW: int = 0

    def pread(fd: int, length: int, offset: int) -> bytes:
        """Read at ``offset`` (Windows has no pread: seek + read on an fd of our own)."""
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, length)

    def owned_by_me(st: os.stat_result) -> bool:
        return True

    def is_owner_only(st: os.stat_result) -> bool:
        return True

    def user_tag() -> str:
        """A per-user suffix for names in the shared temp dir (per-user on Windows)."""
        return "user"

else:
    FD_FLAGS = os.O_CLOEXEC
    NOFOLLOW = os.O_NOFOLLOW

    def pread(fd: int, length: int, offset: int) -> bytes:
        return os.pread(fd, length, offset)

    def owned_by_me(st: os.stat_result) -> bool:
        return st.st_uid == os.getuid()

    def is_owner_only(st: os.stat_result) -> bool:
        """Ours, and neither group nor others may do anything."""
        return st.st_uid == os.getuid() and not stat.S_IMODE(st.st_mode) & 0o077

    def user_tag() -> str:
        return str(os.getuid())


if sys.platform == "linux":
    def drop_written(fd: int, offset: int, length: int) -> None:
        """Start the write-back of these dirty pages now, without waiting (Linux:
        ``POSIX_FADV_DONTNEED``). Advice only: callers ignore its errors."""
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)

    WRITE_BEHIND_HINT = True
else:
    def drop_written(fd: int, offset: int, length: int) -> None:
        """No such hint here: the final fsync does all the writing."""

    WRITE_BEHIND_HINT = False
