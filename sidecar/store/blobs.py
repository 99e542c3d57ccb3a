"""Content-addressed blob files: ``<data dir>/blobs/ab/<sha256>``, written crash-safely.

Every blob is written to a temp file in ``<data dir>/tmp`` (same filesystem), fsynced,
renamed into place and its directory fsynced; only then may a metadata row point at it.
A blob is never modified after its rename. Failures are raised as classified StorageErrors;
a failed attempt leaves no temp file and no partial blob behind. Retrying never re-fsyncs a
file whose fsync failed (EIO): each attempt writes a fresh temp file from the source.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

from sidecar.portable.files import FD_FLAGS, pread
from sidecar.store.classify import StorageError, classify
from sidecar.store.osio import OsIO

CHUNK = 1024 * 1024
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class SourceReadError(Exception):
    """Reading the source (a file to import, a held copy) failed: not a storage failure."""

    def __init__(self, message: str, os_error: OSError | None = None) -> None:
        super().__init__(message)
        self.os_error = os_error


class BlobStore:
    def __init__(self, data_dir: Path, io: OsIO) -> None:
        self.root = data_dir / "blobs"
        self.tmp_dir = data_dir / "tmp"
        self.io = io

    # layout ---------------------------------------------------------------------------
    def ensure_layout(self) -> None:
        new = not self.root.exists()
        self.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        for i in range(256):
            (self.root / f"{i:02x}").mkdir(exist_ok=True, mode=0o700)
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
    def write_temp(self, chunks: Iterable[bytes | bytearray | memoryview],
                   verify_sha: str | None = None) -> Path:
        """Write ``chunks`` to a fresh fsynced temp file. With ``verify_sha`` the bytes are
        hashed on the way and a mismatch raises SourceReadError (nothing left behind)."""
        tmp = self.temp_path()
        if verify_sha is None:
            self._write_temp(tmp, chunks)
            return tmp
        digest = hashlib.sha256()

        def hashed() -> Iterable[bytes | bytearray | memoryview]:
            for chunk in chunks:
                digest.update(chunk)
                yield chunk
            if digest.hexdigest() != verify_sha:
                raise SourceReadError("the held copy is corrupted (sha256 mismatch)")

        self._write_temp(tmp, hashed())
        return tmp

    def copy_hashing(self, fd: int) -> tuple[Path, str, int]:
        """Copy the open file ``fd`` (from its start) into a fsynced temp file, hashing.
        Read failures raise SourceReadError; write failures a StorageError."""
        tmp = self.temp_path()
        digest = hashlib.sha256()
        size = 0

        def chunks() -> Iterable[bytes]:
            nonlocal size
            offset = 0
            while True:
                try:
                    data = pread(fd, CHUNK, offset)
                except OSError as exc:
                    raise SourceReadError(f"cannot read the source: {exc.strerror}",
                                          exc) from exc
                if not data:
                    return
                offset += len(data)
                size += len(data)
                digest.update(data)
                yield data

        self._write_temp(tmp, chunks())
        return tmp, digest.hexdigest(), size

    def _write_temp(self, tmp: Path, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
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


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _close_unlink(fd: int, path: Path) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
    _unlink(path)


__all__ = ["CHUNK", "BlobStore", "SourceReadError", "StorageError"]
