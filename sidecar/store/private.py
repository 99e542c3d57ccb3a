"""Private directories: the spill dir defaults to a path under the shared temp dir, so every
directory the store keeps bytes or records in must be a real directory (not a symlink), owned
by this user and closed to others; otherwise nothing is written there."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from sidecar.portable.files import is_owner_only, owned_by_me


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (mode 0700, each missing level) or check the existing one; raises
    OSError(EACCES) when it is a symlink, not a directory, or someone else's."""
    missing: list[Path] = []
    cur = path
    while not os.path.lexists(cur):
        missing.append(cur)
        if cur.parent == cur:
            break
        cur = cur.parent
    for p in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(p, 0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise OSError(errno.EACCES, f"{path} is not a directory (or is a symlink)")
    if not owned_by_me(st):
        raise OSError(errno.EACCES, f"{path} belongs to another user")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


def is_private_dir(path: Path) -> bool:
    """An existing directory we may read and delete in: real, ours, closed to others."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and is_owner_only(st)
