"""``addMediaItem.sourcePath``: which local files the sidecar agrees to import.

A path from the wire must be absolute, free of NUL and ``..`` components, resolve (symlinks
followed) inside one of the configured import roots, and name a regular file. The file is
opened without following a final symlink and checked to be the same inode that was resolved,
so swapping the path after the check does not redirect the read. Anything else is
``path_not_allowed``; nothing is read or written.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path, PurePath

from sidecar.errors import PathNotAllowed
from sidecar.portable.files import FD_FLAGS

FIELD = "params.sourcePath"


def open_import(raw: str, roots: Sequence[Path]) -> tuple[int, Path]:
    """Open ``raw`` for reading; returns (fd, resolved path). The caller closes the fd."""
    if "\0" in raw:
        raise PathNotAllowed("sourcePath contains a NUL byte", field=FIELD)
    if not os.path.isabs(raw):
        raise PathNotAllowed("sourcePath must be absolute", field=FIELD)
    if ".." in PurePath(raw).parts:
        raise PathNotAllowed("sourcePath must not contain '..'", field=FIELD)
    try:
        real = Path(os.path.realpath(raw, strict=True))
    except (OSError, ValueError):
        raise PathNotAllowed("sourcePath does not name an existing file", field=FIELD) from None
    if not any(_inside(real, root) for root in roots):
        raise PathNotAllowed("sourcePath is outside the allowed import roots", field=FIELD)
    flags = os.O_RDONLY | FD_FLAGS | getattr(os, "O_NOFOLLOW", 0) | getattr(
        os, "O_NONBLOCK", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise PathNotAllowed(f"sourcePath cannot be opened: {exc.strerror}",
                             field=FIELD) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PathNotAllowed("sourcePath is not a regular file", field=FIELD)
        again = os.stat(real, follow_symlinks=False)
        if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
            raise PathNotAllowed("sourcePath changed while it was checked", field=FIELD)
    except OSError as exc:
        os.close(fd)
        raise PathNotAllowed(f"sourcePath cannot be read: {exc.strerror}",
                             field=FIELD) from None
    except BaseException:
        os.close(fd)
        raise
    return fd, real


def _inside(path: Path, root: Path) -> bool:
    try:
        real_root = Path(os.path.realpath(root))
    except (OSError, ValueError):
        return False
    return path == real_root or path.is_relative_to(real_root)
