"""Content-addressed blob files: ``<data dir>/blobs/ab/<sha256>``, written crash-safely.

Every blob is written to a temp file in ``<data dir>/tmp`` (same filesystem), fsynced,
renamed into place and its directory fsynced; only then may a metadata row point at it.
A blob is never modified after its rename. Failures are raised as classified StorageErrors;
a failed attempt leaves no temp file and no partial blob behind. Retrying never re-fsyncs a
file whose fsync failed (EIO): each attempt writes a fresh temp file from the source.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

from sidecar.portable import files
from sidecar.portable.files import FD_FLAGS, owned_by_me
from sidecar.store.classify import StorageError, classify
from sidecar.store.osio import OsIO, injected
from sidecar.store.sources import CHUNK, Chunk, SourceReadError, hashed, pread_chunks

# How much the kernel copies between two looks at ``cancel`` (and two hash hand-offs).
COPY_STEP = 8 * CHUNK
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class BlobStore:
    def __init__(self, data_dir: Path, io: OsIO) -> None:
        self.root = data_dir / "blobs"
        self.tmp_dir = data_dir / "tmp"
        self.io = io
        # the copy methods tried in order (tests force the fallbacks by shortening this)
        self.copy_methods: tuple[str, ...] = files.COPY_METHODS

    # layout ---------------------------------------------------------------------------
    def ensure_layout(self) -> None:
        """Create the layout (0700 dirs) or check it: every dir a real directory of ours,
        never a symlink (a planted ``blobs`` or ``tmp`` link raises EACCES, nothing is
        written through it)."""
        new = not os.path.lexists(self.root)
        for path in (self.tmp_dir, self.root, *(self.root / f"{i:02x}" for i in range(256))):
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, 0o700)
            _real_dir(path)
        if new:
            self.io.fsync_dir(self.root)
            self.io.fsync_dir(self.root.parent)

    def path_for(self, sha: str) -> Path:
        return self.root / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path_for(sha).is_file()

    def temp_path(self, prefix: str = "blob") -> Path:
        return self.tmp_dir / f"{prefix}-{uuid.uuid4().hex}.tmp"

    # writing --------------------------------------------------------------------------
    def write_temp(self, chunks: Iterable[Chunk], verify_sha: str | None = None, *,
                   prefix: str = "blob") -> Path:
        """Write ``chunks`` to a fresh fsynced temp file. With ``verify_sha`` the bytes are
        hashed on the way and a mismatch raises SourceReadError (nothing left behind)."""
        tmp = self.temp_path(prefix)
        if verify_sha is not None:
            chunks = hashed(chunks, verify_sha, "the held copy is corrupted (sha256 mismatch)")
        self._write_temp(tmp, chunks)
        return tmp

    def copy_hashing(self, fd: int, size: int, cancel: threading.Event | None = None
                     ) -> tuple[Path, str, int]:
        """Copy exactly ``size`` bytes of the open file ``fd`` (from its start) into a
        fsynced temp file and hash what was written. A file that grows after it was opened
        is imported as it was (``size`` bytes); read failures (a shrunk file, ``cancel`` set)
        raise SourceReadError; write failures a StorageError. Nothing is left on failure.

        The kernel copies (``copy_file_range``, else ``sendfile``, else our own pread/write
        loop: ``files.COPY_METHODS``, falling back when refused) in steps of COPY_STEP bytes,
        ``cancel`` checked between steps. The sha256 is read back from the temp file (the
        page cache), so what is stored is what is hashed, by a second thread that follows
        the copy one step behind."""
        tmp = self.temp_path()
        try:
            dst = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | FD_FLAGS, 0o600)
        except OSError as exc:
            raise classify(exc, "create temp file") from exc
        hasher: _Hasher | None = None
        op = "write"
        try:
            hasher = _Hasher(dst)
            self._copy(fd, dst, size, cancel, hasher)
            op = "fsync"
            self.io.fsync(dst)  # while the hash catches up with the last step
            op = "read-back"
            sha = hasher.finish()
        except OSError as exc:
            _abandon(hasher, dst, tmp)
            raise classify(exc, f"blob {op}") from exc
        except BaseException:
            _abandon(hasher, dst, tmp)
            raise
        os.close(dst)
        return tmp, sha, size

    def _copy(self, src: int, dst: int, size: int, cancel: threading.Event | None,
              hasher: _Hasher) -> None:
        methods = list(self.copy_methods)
        offset = 0
        while offset < size:
            if cancel is not None and cancel.is_set():
                raise SourceReadError("the import was cancelled")
            step_end = min(size, offset + COPY_STEP)
            while offset < step_end:
                try:
                    n = self.io.copy_range(methods[0], src, dst, offset, step_end - offset)
                except OSError as exc:
                    if exc.errno in files.COPY_REFUSED and len(methods) > 1 \
                            and not injected(exc):
                        methods.pop(0)  # this kernel/filesystem cannot: the next method
                        continue
                    _blame_source(src, offset, exc)
                    raise
                if n == 0:
                    raise SourceReadError(f"the source shrank while it was read ({offset} "
                                          f"of {size} bytes)")
                offset += n
            hasher.advance(offset)

    def _write_temp(self, tmp: Path, chunks: Iterable[Chunk]) -> None:
        op = "write"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | FD_FLAGS, 0o600)
        except OSError as exc:
            raise classify(exc, "create temp file") from exc
        try:
            for chunk in chunks:
                self.io.write_all(fd, chunk)
            op = "fsync"
            self.io.fsync(fd)
        except OSError as exc:
            _close_unlink(fd, tmp)
            raise classify(exc, f"blob {op}") from exc
        except BaseException:
            _close_unlink(fd, tmp)
            raise
        os.close(fd)

    def sync_file(self, path: Path) -> None:
        """fsync a file written by someone else (the downloader) before installing it."""
        try:
            fd = os.open(path, os.O_RDONLY | FD_FLAGS)
        except OSError as exc:
            raise classify(exc, "open download") from exc
        try:
            self.io.fsync(fd)
        except OSError as exc:
            raise classify(exc, "blob fsync") from exc
        finally:
            os.close(fd)

    def install(self, tmp: Path, sha: str) -> bool:
        """Rename the fsynced temp file into place and fsync its directory. On success the
        temp file is consumed (False: the blob already existed, the temp file is dropped);
        on failure it is left at ``tmp`` for the caller to hold or remove."""
        dst = self.path_for(sha)
        if dst.is_file():
            _unlink(tmp)
            return False
        try:
            self.io.replace(tmp, dst)
        except OSError as exc:
            raise classify(exc, "blob rename") from exc
        try:
            self.io.fsync_dir(dst.parent)
        except OSError as exc:
            # The rename may not be durable (and after EIO nothing is known): take it back
            # (to ``tmp``, where the caller may still read it); the next attempt rewrites
            # the blob from the source.
            try:
                os.replace(dst, tmp)
            except OSError:
                _unlink(dst)
            raise classify(exc, "blob directory fsync") from exc
        return True

    # reading, removing, scanning ------------------------------------------------------
    def delete(self, sha: str) -> bool:
        try:
            os.unlink(self.path_for(sha))
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise classify(exc, "blob delete") from exc
        return True

    def sweep_temps(self) -> list[Path]:
        """Remove every leftover temp file (from a crash); return what was removed."""
        removed: list[Path] = []
        if not self.tmp_dir.is_dir():
            return removed
        for entry in os.scandir(self.tmp_dir):
            path = Path(entry.path)
            if entry.is_file(follow_symlinks=False) or entry.is_symlink():
                _unlink(path)
                removed.append(path)
        return removed

    def scan(self) -> set[str]:
        """The sha256 of every blob file present."""
        found: set[str] = set()
        if not self.root.is_dir():
            return found
        for sub in os.scandir(self.root):
            if not sub.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(sub.path):
                if SHA_RE.match(entry.name) and entry.name.startswith(sub.name):
                    found.add(entry.name)
        return found


class _Hasher:
    """sha256 of a file's prefix ``[0, advance(n))``, read back by a thread of its own
    (pread, CHUNK at a time) while the writer goes on."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._digest = hashlib.sha256()
        self._cond = threading.Condition()
        self._target = 0
        self._closed = False
        self._stopped = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="blob-hash", daemon=True)
        self._thread.start()

    def advance(self, upto: int) -> None:
        with self._cond:
            self._target = upto
            self._cond.notify()

    def finish(self) -> str:
        """Wait for the last byte handed over to be hashed; the hex digest."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest()

    def stop(self) -> None:
        with self._cond:
            self._stopped = self._closed = True
            self._cond.notify()
        self._thread.join()

    def _run(self) -> None:
        done = 0
        try:
            while True:
                with self._cond:
                    while done >= self._target and not self._closed:
                        self._cond.wait()
                    if self._stopped or done >= self._target:
                        return
                    upto = self._target
                for data in pread_chunks(self._fd, upto, start=done):
                    if self._stopped:
                        return
                    self._digest.update(data)
                    done += len(data)
        except SourceReadError as exc:  # the temp file: a storage failure, not the source's
            self._error = exc.os_error or OSError(
                errno.EIO, "the temp file is shorter than was written")
        except BaseException as exc:  # handed to finish()
            self._error = exc


def _abandon(hasher: _Hasher | None, fd: int, tmp: Path) -> None:
    if hasher is not None:
        hasher.stop()
    _close_unlink(fd, tmp)


def _blame_source(src: int, offset: int, exc: OSError) -> None:
    """A kernel copy's error may be the source's or the temp file's: if the source cannot
    be read at ``offset`` it is the source's (SourceReadError), else the caller classifies
    ``exc`` as a storage failure."""
    if injected(exc) or exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
        return
    try:
        files.pread(src, 1, offset)
    except OSError as read_exc:
        raise SourceReadError(f"cannot read the source: {read_exc.strerror}",
                              read_exc) from exc


def _real_dir(path: Path) -> None:
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or not owned_by_me(st):
        raise OSError(errno.EACCES, f"{path} is not a directory of this user (a symlink?)")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _close_unlink(fd: int, path: Path) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
    _unlink(path)


__all__ = ["BlobStore", "SourceReadError", "StorageError"]
