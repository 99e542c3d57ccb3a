"""Files: the flags every ``os.open`` of ours adds, ``pread``, who owns a path, the
write-behind hint, and the kernel copy (``copy_range``) with the methods this OS offers.

On Windows there is no uid: ``st_uid`` is always 0 and the mode bits only say read-only. A
directory is private there through the ACL it inherits from the user's profile (the default
data, runtime and temp directories all live under it), so the owner-only checks pass.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

if sys.platform == "win32":
    # not inherited by children; binary, or the C runtime turns \n into \r\n on write
    FD_FLAGS: int = os.O_NOINHERIT | os.O_BINARY
    # no symlinks to refuse at open on Windows (reparse points are not followed by O_RDONLY)
    NOFOLLOW: int = 0
    NONBLOCK: int = 0
    DIRECTORY: int = 0

    def fchmod(fd: int, mode: int) -> None:
        """Windows keeps no mode bits but read-only: privacy is the profile's ACL."""

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
    NONBLOCK = os.O_NONBLOCK
    DIRECTORY = os.O_DIRECTORY

    def fchmod(fd: int, mode: int) -> None:
        os.fchmod(fd, mode)

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


# How a range of one file is copied into another, best first. The kernel copies
# (``copy_file_range``: in-kernel, a reflink where the filesystem can; ``sendfile``: in-kernel
# through the page cache) exist on Linux; elsewhere, and whenever the kernel refuses, the bytes
# pass through our buffer (``pread``).
if sys.platform == "linux":
    COPY_METHODS: tuple[str, ...] = ("copy_file_range", "sendfile", "pread")
else:
    COPY_METHODS = ("pread",)
# What a kernel copy answers when it cannot do this pair of files: try the next method.
COPY_REFUSED = frozenset(
    getattr(errno, name) for name in ("EXDEV", "ENOSYS", "EINVAL", "EOPNOTSUPP", "ENOTSUP")
    if hasattr(errno, name))
_BUFFER = 1024 * 1024


def copy_range(method: str, src: int, dst: int, offset: int, count: int) -> int:
    """Copy up to ``count`` bytes at ``offset`` of ``src`` to the same offset of ``dst`` with
    ``method`` (one of COPY_METHODS); return how many were copied (0: ``src`` ends there)."""
    if sys.platform == "linux":
        if method == "copy_file_range":
            return os.copy_file_range(src, dst, count, offset, offset)
        if method == "sendfile":
            os.lseek(dst, offset, os.SEEK_SET)
            return os.sendfile(dst, src, offset, count)
    data = pread(src, min(count, _BUFFER), offset)
    view = memoryview(data)
    os.lseek(dst, offset, os.SEEK_SET)
    while view:
        view = view[os.write(dst, view):]
    return len(data)
