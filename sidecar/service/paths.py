"""``addMediaItem.sourcePath``: which local files the sidecar agrees to import, and how.

A path from the wire must be absolute, free of NUL and ``..`` components, and lie
(lexically) under one of the configured import roots. The root itself is configuration and
opened as configured; everything below it is opened with ``open_beneath``: no component may
be a symlink (``openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`` or an ``O_NOFOLLOW`` walk),
so swapping a parent directory for a symlink while the path is opened cannot redirect it.
The file must be a regular file (a FIFO or device is refused: the open never blocks,
``O_NONBLOCK``), with one link only unless ``import_hardlinks`` is set (a hard link inside a
root may be the same inode as a file outside it: the sidecar cannot tell where its other
names are), and no larger than ``import_max_bytes``.

Its size is taken at open (``fstat``): the import reads exactly that many bytes, so a file
that grows while it is read stops at that size and the sha256 covers exactly those bytes (a
file that shrinks fails the import). Anything refused is ``path_not_allowed`` (or
``payload_too_large``); nothing is read or written.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sidecar.errors import PathNotAllowed, PayloadTooLarge
from sidecar.portable.files import DIRECTORY, FD_FLAGS, NONBLOCK
from sidecar.service.beneath import open_beneath
from sidecar.store.classify import OutOfDescriptors

FIELD = "params.sourcePath"


@dataclass(frozen=True)
class Opened:
    """An import source, open: read ``size`` bytes of ``fd`` from offset 0."""

    fd: int
    path: Path
    size: int
    cancel: threading.Event = field(default_factory=threading.Event)


def open_import(raw: str, roots: Sequence[Path], *, max_bytes: int,
                allow_hardlinks: bool = False) -> Opened:
    """Open ``raw`` for reading. The caller closes ``fd``."""
    if "\0" in raw:
        raise PathNotAllowed("sourcePath contains a NUL byte", field=FIELD)
    if not raw.startswith("/"):
        raise PathNotAllowed("sourcePath must be absolute", field=FIELD)
    path = PurePosixPath(raw)
    if ".." in path.parts:
        raise PathNotAllowed("sourcePath must not contain '..'", field=FIELD)
    root, rel = _under_a_root(path, roots)
    try:
        root_fd = os.open(root, os.O_RDONLY | DIRECTORY | FD_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.EMFILE, errno.ENFILE):
            raise OutOfDescriptors("open the import root", errno.errorcode[exc.errno]) from exc
        raise PathNotAllowed(f"the import root cannot be opened: {exc.strerror}",
                             field=FIELD) from None
    try:
        fd = open_beneath(root_fd, rel, os.O_RDONLY | NONBLOCK)
    except OSError as exc:
        if exc.errno in (errno.EMFILE, errno.ENFILE):  # the process's state, not the path's
            raise OutOfDescriptors("open sourcePath", errno.errorcode[exc.errno]) from exc
        raise PathNotAllowed(_why(exc), field=FIELD) from None
    finally:
        os.close(root_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PathNotAllowed("sourcePath is not a regular file", field=FIELD)
        if st.st_nlink > 1 and not allow_hardlinks:
            raise PathNotAllowed(
                f"sourcePath has {st.st_nlink} hard links; files with more than one name "
                "are not imported (MEDIA_SIDECAR_IMPORT_HARDLINKS=1 allows them)", field=FIELD)
        if st.st_size > max_bytes:
            raise PayloadTooLarge(f"sourcePath is {st.st_size} bytes; the limit for local "
                                  f"imports is {max_bytes}", field=FIELD,
                                  data={"limit": max_bytes, "size": st.st_size})
    except OSError as exc:
        os.close(fd)
        raise PathNotAllowed(f"sourcePath cannot be read: {exc.strerror}",
                             field=FIELD) from None
    except BaseException:
        os.close(fd)
        raise
    return Opened(fd, Path(path), st.st_size)


def _under_a_root(path: PurePosixPath, roots: Sequence[Path]) -> tuple[str, str]:
    """(root, path relative to it) for the deepest root ``path`` is lexically under. A root
    is matched as configured and as its real path (both name the same directory)."""
    best: tuple[str, str] | None = None
    for root in roots:
        for form in {str(root), os.path.realpath(root)}:
            try:
                rel = path.relative_to(form)
            except ValueError:
                continue
            if best is None or len(form) > len(best[0]):
                best = (form, str(rel))
    if best is None:
        raise PathNotAllowed("sourcePath is outside the allowed import roots", field=FIELD)
    if best[1] in ("", "."):
        raise PathNotAllowed("sourcePath is not a regular file", field=FIELD)
    return best


def _why(exc: OSError) -> str:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EXDEV):
        return ("sourcePath goes through a symlink (or a non-directory) below the import "
                "root; symlinks are never followed there")
    if exc.errno == errno.ENOENT:
        return "sourcePath does not name an existing file"
    return f"sourcePath cannot be opened: {exc.strerror}"
