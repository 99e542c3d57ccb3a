"""Open a path beneath a directory without following a single symlink, race-free.

``open_beneath(dir_fd, rel, flags)`` resolves ``rel`` (relative, no ``..``) starting at the
open directory ``dir_fd``, and fails with ``ELOOP``/``ENOTDIR``/``EXDEV`` if any component is
a symlink or the walk would leave the directory:

* where the kernel has it (Linux >= 5.6), one ``openat2`` call with
  ``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`` (through ``ctypes``: the
  standard library has no wrapper);
* elsewhere, a component-wise walk: each directory is opened with
  ``O_DIRECTORY | O_NOFOLLOW`` relative to the previous one's fd, the last component with
  ``O_NOFOLLOW``.

Both are race-free against a concurrent swap of any component for a symlink: every step works
on a directory already open (its inode), never on a path that can be re-pointed between a
check and the open.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import sys
from typing import Any

from sidecar.portable.files import DIRECTORY, FD_FLAGS, NOFOLLOW

RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
SYS_OPENAT2 = 437  # the same number on every Linux architecture but alpha
_EAGAIN_TRIES = 16  # openat2 says EAGAIN when a rename raced with the lookup: try again


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


@functools.cache
def _libc_syscall() -> Any:
    fn = ctypes.CDLL(None, use_errno=True).syscall
    fn.restype = ctypes.c_long
    return fn


@functools.cache
def openat2_available() -> bool:
    """Whether this kernel (and any seccomp filter) lets us call openat2; probed once."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fd = _openat2_raw(os.open("/", os.O_RDONLY | os.O_DIRECTORY), ".",
                          os.O_RDONLY | os.O_DIRECTORY, close_dir=True)
    except (OSError, AttributeError):  # ENOSYS (old kernel), EPERM (a seccomp filter)
        return False
    os.close(fd)
    return True


def _openat2_raw(dir_fd: int, rel: str, flags: int, *, close_dir: bool = False) -> int:
    syscall = _libc_syscall()
    how = _OpenHow(flags | FD_FLAGS, 0,
                   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
    path = os.fsencode(rel)
    try:
        for _ in range(_EAGAIN_TRIES):
            fd = int(syscall(ctypes.c_long(SYS_OPENAT2), ctypes.c_int(dir_fd),
                              ctypes.c_char_p(path), ctypes.byref(how),
                              ctypes.c_size_t(ctypes.sizeof(how))))
            if fd >= 0:
                return fd
            code = ctypes.get_errno()
            if code != errno.EAGAIN:
                raise OSError(code, os.strerror(code), rel)
        raise OSError(errno.EAGAIN, "the path kept changing while it was opened", rel)
    finally:
        if close_dir:
            os.close(dir_fd)


def open_beneath(dir_fd: int, rel: str, flags: int, *, use_openat2: bool | None = None
                 ) -> int:
    """An fd for ``rel`` beneath ``dir_fd`` (``flags``: the final open's, e.g. O_RDONLY),
    with no symlink followed anywhere. ``use_openat2``: None picks the best available;
    False forces the portable walk (tests run the race against both)."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise OSError(errno.EINVAL, "not a path beneath the directory", rel)
    if use_openat2 is None:
        use_openat2 = openat2_available()
    if use_openat2:
        return _openat2_raw(dir_fd, "/".join(parts), flags | NOFOLLOW)
    cur = dir_fd
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_RDONLY | DIRECTORY | NOFOLLOW | FD_FLAGS,
                          dir_fd=cur)
            if cur != dir_fd:
                os.close(cur)
            cur = nxt
        return os.open(parts[-1], flags | NOFOLLOW | FD_FLAGS, dir_fd=cur)
    finally:
        if cur != dir_fd:
            os.close(cur)
