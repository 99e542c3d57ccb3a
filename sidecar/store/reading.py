"""Reading an item's bytes for playback, wherever they are at the moment of the call.

An item's bytes may be in three places: its blob (saved, or unsaved when only the row
failed), a spill file, or memory (both: held for the retry of an unsaved item). The bytes
are content-addressed, so every copy of one sha256 holds the same bytes, and a read may
take them from whichever copy exists *now*. That is what lets an item saved while it plays
keep playing: the save installs the blob before it releases the held copy, so a read that
finds the held copy gone finds the blob.

Reads take no item lock (a long retry must not stall playback) and never hold more than the
requested range in memory. Copies are tried memory → spill → blob; a copy that vanishes
between the lookup and the open (a release, a removal) is skipped. An opened file stays
readable after an unlink, so a read that has opened its copy always completes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from protocol.vocabulary import ByteLocation, ErrorType
from sidecar.portable.files import FD_FLAGS, NOFOLLOW, pread
from sidecar.store.blobs import BlobStore
from sidecar.store.classify import StorageError
from sidecar.store.holding import Holding
from sidecar.store.records import BLOB_HOLDERS, ItemRecord

_VANISHED = frozenset({errno.ENOENT, errno.ESTALE})


@dataclass(frozen=True)
class Location:
    """Where an item's bytes are: ``path`` is set exactly when ``kind`` is ``file``."""

    kind: ByteLocation
    path: Path | None = None


@dataclass(frozen=True)
class Chunk:
    """``data`` is the bytes ``[offset, offset + len(data))`` of an item; ``digest`` their
    sha256 (computed here, off the event loop, for signing the reply)."""

    offset: int
    data: bytes | bytearray | memoryview
    digest: bytes


class NoBytes(Exception):
    """The item has no local bytes (urlOnly, expired, or its held copy was lost)."""


class RangeReader:
    def __init__(self, blobs: BlobStore, holding: Holding) -> None:
        self._blobs = blobs
        self._holding = holding

    def locate(self, rec: ItemRecord) -> Location:
        """Where ``rec``'s bytes are now: a file holding exactly them, memory, or nowhere."""
        sha, size = rec.sha256, rec.size
        if rec.status not in BLOB_HOLDERS or sha is None or size is None:
            return Location(ByteLocation.NONE)
        held = self._holding.get(sha)
        if held is not None:
            if held.data is not None:
                return Location(ByteLocation.MEMORY)
            path = held.path
            if path is not None and _is_file_of(path, size):
                return Location(ByteLocation.FILE, path)
        blob = self._blobs.path_for(sha)
        if _is_file_of(blob, size):
            return Location(ByteLocation.FILE, blob)
        held = self._holding.get(sha)  # saved meanwhile? a blob found late is still the blob
        if held is not None and held.data is not None:
            return Location(ByteLocation.MEMORY)
        return Location(ByteLocation.NONE)

    def read(self, rec: ItemRecord, offset: int, length: int) -> Chunk:
        """The bytes ``[offset, min(offset + length, size))``. Raises NoBytes when no copy
        exists, StorageError when a copy cannot be read (an I/O error)."""
        sha, size = rec.sha256, rec.size
        if rec.status not in BLOB_HOLDERS or sha is None or size is None:
            raise NoBytes(rec.status)
        end = min(offset + length, size)
        held = self._holding.get(sha)
        if held is not None:
            data = held.data  # a reference: stays valid even if the copy is released now
            if data is not None:
                view = memoryview(data)[offset:end]
                return Chunk(offset, view, hashlib.sha256(view).digest())
            if held.path is not None:
                chunk = _read_file(held.path, size, offset, end)
                if chunk is not None:
                    return chunk
        chunk = _read_file(self._blobs.path_for(sha), size, offset, end)
        if chunk is not None:
            return chunk
        # The item was saved, spilled or removed between the lookups: one more look.
        held = self._holding.get(sha)
        if held is not None and (data := held.data) is not None:
            view = memoryview(data)[offset:end]
            return Chunk(offset, view, hashlib.sha256(view).digest())
        if held is not None and held.path is not None:
            chunk = _read_file(held.path, size, offset, end)
            if chunk is not None:
                return chunk
        raise NoBytes(rec.status)


def _is_file_of(path: Path, size: int) -> bool:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == size


def _read_file(path: Path, size: int, start: int, end: int) -> Chunk | None:
    """The bytes [start, end) of the file at ``path``, or None when it is gone (or is not a
    regular file of ``size`` bytes: not a copy of this item)."""
    try:
        fd = os.open(path, os.O_RDONLY | FD_FLAGS | NOFOLLOW)
    except OSError as exc:
        if exc.errno in _VANISHED or exc.errno == errno.ELOOP:
            return None
        raise _read_error(exc, path) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            return None
        buf = bytearray()
        while len(buf) < end - start:
            part = pread(fd, end - start - len(buf), start + len(buf))
            if not part:
                return None  # truncated under us: not a complete copy
            buf += part
        return Chunk(start, buf, hashlib.sha256(buf).digest())
    except OSError as exc:
        raise _read_error(exc, path) from exc
    finally:
        os.close(fd)


def _read_error(exc: OSError, path: Path) -> StorageError:
    name = errno.errorcode.get(exc.errno or 0)
    return StorageError(f"cannot read the item's bytes ({path.name[:12]}): {exc.strerror}",
                        op="read", errno_name=name, blocked=False,
                        error_type=ErrorType.STORAGE_IO_ERROR)
