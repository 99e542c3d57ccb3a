"""Process lifecycle: the data-dir lock, the connection file, the ready line, parent watch.

Owner-only everywhere, and no symlink followed for anything the sidecar creates:

* ``restrict_umask`` (first thing at start): umask 077, so every file and directory created
  by the process (SQLite's database, WAL and SHM included) is owner-only whatever the code
  that creates it asks for; each creation also asks for 0600/0700 explicitly.
* ``DataDirLock.acquire`` checks the data dir before anything is written in it: created 0700
  if missing; refused if it is not a directory or belongs to another user; a pre-existing
  dir open to others (e.g. 0755) is tightened to 0700 (with a warning). The ``.lock`` file is
  opened with ``O_NOFOLLOW`` and must be a regular file of ours: a planted symlink is
  refused, never followed.
* ``write_connection_file`` writes into an owner-only directory only (created 0700; an
  existing one must be ours and not writable by others), refuses a path that is a symlink,
  creates a random temp name with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600, and renames
  it into place (a rename replaces a name, it never writes through a link). ``remove_file``
  at exit removes the file only if it is still the inode this process created.

The connection file and the ready line are the models of ``protocol/connection.py``;
they are written here as plain JSON from the ``TypedDict`` s below (start-up does not import
pydantic), and a test checks that what is written is exactly those models.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import secrets
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Literal, TypedDict

from sidecar.portable.files import (
    DIRECTORY,
    FD_FLAGS,
    NOFOLLOW,
    NONBLOCK,
    fchmod,
    owned_by_me,
    user_tag,
)
from sidecar.portable.lock import try_lock
from sidecar.portable.process import pid_alive

log = logging.getLogger("sidecar.lifecycle")

# Files this process created (path -> (st_dev, st_ino)): removed at exit only if unchanged.
_created: dict[Path, tuple[int, int]] = {}


class ConnectionFileFields(TypedDict):
    """``protocol.connection.ConnectionFile``, as written."""

    endpoint: str
    secret: str
    signatureScheme: Literal["hmac-sha256"]
    pid: int
    protocol: str
    server: str
    session: str
    dataDir: str
    startedAt: int


class ReadyFields(TypedDict):
    """``protocol.connection.ReadyLine`` without its ``event`` (always ``"ready"``)."""

    endpoint: str
    pid: int
    protocol: str
    connectionFile: str


class StartRefused(Exception):
    """The sidecar refuses to start (the CLI prints the message and exits 3)."""


class DataDirInUse(StartRefused):
    """Another sidecar holds the data directory."""


class UnsafePath(StartRefused):
    """A path the sidecar would write to is a symlink, someone else's, or open to others."""


def restrict_umask() -> None:
    """Owner-only for everything this process creates from now on."""
    os.umask(0o077)


def check_data_dir(data_dir: Path) -> None:
    """Create the data dir 0700 or check the existing one (see the module doc)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = os.stat(data_dir)  # the configured path itself may be a link to the real dir
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"data dir {data_dir} is not a directory")
    if not owned_by_me(st):
        raise UnsafePath(f"data dir {data_dir} belongs to uid {st.st_uid}, not to this user "
                         f"({user_tag()}); refusing to use it")
    if st.st_mode & 0o077:
        log.warning("data dir %s was mode %o; tightened to 0700", data_dir,
                    stat.S_IMODE(st.st_mode))
        os.chmod(data_dir, 0o700)
    # Now nobody else can add entries; check what is already there, two levels deep (the
    # blob shards, the temp dir): no symlink, nothing of another user's, nothing open.
    for entry in _entries(data_dir):
        _check_entry(entry)
        if entry.is_dir(follow_symlinks=False):
            for inner in _entries(Path(entry.path)):
                if not inner.is_file(follow_symlinks=False):  # blob files: the 0700 dirs guard them
                    _check_entry(inner)


def _entries(path: Path) -> list[os.DirEntry[str]]:
    with os.scandir(path) as it:
        return list(it)


def _check_entry(entry: os.DirEntry[str]) -> None:
    st = entry.stat(follow_symlinks=False)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(f"{entry.path} in the data dir is a symlink; the sidecar never "
                         "follows links in its data dir (remove it)")
    if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
        raise UnsafePath(f"{entry.path} in the data dir is not a file or directory")
    if not owned_by_me(st):
        raise UnsafePath(f"{entry.path} in the data dir belongs to uid {st.st_uid}")
    if st.st_mode & 0o077:
        mode = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        _chmod_nofollow(entry.path, mode, directory=stat.S_ISDIR(st.st_mode))


def _chmod_nofollow(path: str, mode: int, *, directory: bool) -> None:
    flags = os.O_RDONLY | FD_FLAGS | NOFOLLOW | NONBLOCK
    fd = os.open(path, flags | (DIRECTORY if directory else 0))
    try:
        fchmod(fd, mode)
    finally:
        os.close(fd)


class DataDirLock:
    """An exclusive, non-blocking lock on ``<data dir>/.lock`` (``sidecar.portable.lock``);
    released when the fd closes (so a SIGKILLed sidecar never leaves a stale lock)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        check_data_dir(self.path.parent)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | NOFOLLOW | FD_FLAGS | NONBLOCK,
                         0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePath(f"{self.path} is a symlink; refusing to follow it "
                                 "(remove it)") from None
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not owned_by_me(st):
            os.close(fd)
            raise UnsafePath(f"{self.path} is not a regular file of this user; refusing it")
        if st.st_mode & 0o077:
            fchmod(fd, 0o600)
        if not try_lock(fd):
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DataDirInUse(
                f"data dir {self.path.parent} is in use by another media-sidecar "
                f"(pid {holder}); stop it or choose another --data-dir")
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` owner-only, or check an existing one: a real directory (not a link),
    owned by us; its mode is tightened to 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise PermissionError(f"{path} is not a directory (a symlink?)")
    if not owned_by_me(st):
        raise PermissionError(f"{path} is not owned by this user")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


def _check_conn_dir(parent: Path) -> None:
    if not os.path.lexists(parent):
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = os.lstat(parent)
    if stat.S_ISLNK(st.st_mode):
        st = os.stat(parent)  # a link to a dir is judged by the dir it names
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePath(f"the connection file's directory {parent} is not a directory")
    if not owned_by_me(st) or st.st_mode & 0o022:
        raise UnsafePath(f"the connection file's directory {parent} must belong to this user "
                         "and not be writable by others (the file holds the secret)")


def check_connection_file(path: Path | None) -> None:
    """Refuse (``UnsafePath``) a connection file path the sidecar would not write: in a dir
    that is not ours or is writable by others, or a symlink. Called early at start, so the
    refusal comes before anything is bound; ``write_connection_file`` checks again."""
    if path is None:
        return
    _check_conn_dir(path.parent)
    if os.path.islink(path):
        raise UnsafePath(f"connection file {path} is a symlink; refusing to write through it")


def write_connection_file(path: Path, info: ConnectionFileFields) -> None:
    check_connection_file(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | FD_FLAGS,
                 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(info, f, indent=2)
            f.write("\n")
            f.flush()
            st = os.fstat(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _created[path] = (st.st_dev, st.st_ino)


def remove_file(path: Path | None) -> None:
    """Remove a file this process created, if it is still the one it created."""
    if path is None:
        return
    made = _created.pop(path, None)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if made is None or (st.st_dev, st.st_ino) != made:
        log.warning("leaving %s: it is not the file this process wrote", path)
        return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def print_ready_line(info: ReadyFields, out: IO[str] | None = None) -> None:
    """The one and only line the sidecar writes to stdout."""
    stream = out or sys.stdout
    stream.write(json.dumps({"event": "ready", **info}, separators=(",", ":")) + "\n")
    stream.flush()


async def watch_parent(original_ppid: int, parent_pid: int | None, interval: float,
                       on_gone: Callable[[str], None]) -> None:
    """Call ``on_gone`` once the parent is gone: our ppid is no longer ``original_ppid``
    (read at process start, so a parent that dies during start-up is seen too), or
    ``parent_pid`` died."""
    while True:
        if os.getppid() != original_ppid:
            on_gone(f"parent process {original_ppid} exited")
            return
        if parent_pid is not None and not pid_alive(parent_pid):
            on_gone(f"watched process {parent_pid} exited")
            return
        await asyncio.sleep(interval)


def started_at_ms() -> int:
    return int(time.time() * 1000)
