"""Where a save's bytes come from, and reading them: in memory, an opened local file, a
finished download; their chunks, their first bytes (for sniffing the type) and their sha256.

``pread_chunks`` is the one read loop over a descriptor: an import's source file, and the
temp file whose bytes the blob store hashes back (``blobs.copy_hashing``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sidecar.portable.files import pread
from sidecar.store.sniff import HEAD_BYTES

if TYPE_CHECKING:  # landing imports blobs, which imports this module
    from sidecar.store.landing import Landed

CHUNK = 1024 * 1024
Chunk = bytes | bytearray | memoryview


class SourceReadError(Exception):
    """Reading the source (a file to import, a held copy) failed: not a storage failure."""

    def __init__(self, message: str, os_error: OSError | None = None) -> None:
        super().__init__(message)
        self.os_error = os_error


@dataclass(frozen=True)
class Inline:
    """Bytes in memory (the request's payload frames); their sha256 is already known.
    ``landed``: the same bytes already in a durable temp file (``sidecar.store.landing``)."""

    chunks: Sequence[Chunk]
    sha256: str
    size: int
    landed: Landed | None = None

    def head(self) -> bytes:
        """The first ``HEAD_BYTES`` of the chunks (for sniffing the type)."""
        parts: list[bytes] = []
        got = 0
        for chunk in self.chunks:
            parts.append(bytes(memoryview(chunk)[:HEAD_BYTES - got]))
            got += len(parts[-1])
            if got >= HEAD_BYTES:
                break
        return b"".join(parts)


@dataclass(frozen=True)
class LocalFile:
    """An opened, validated local file to import: exactly ``size`` bytes (its size at open)
    are read from offset 0, in chunks, never loaded whole; setting ``cancel`` stops the
    read between two chunks (``SourceReadError``)."""

    fd: int
    path: Path
    size: int
    cancel: threading.Event | None = None

    def head(self) -> bytes:
        try:
            return pread(self.fd, HEAD_BYTES, 0)
        except OSError as exc:
            raise SourceReadError(f"cannot read the source: {exc.strerror}", exc) from exc

    def chunks(self) -> Iterator[bytes]:
        return pread_chunks(self.fd, self.size, self.cancel)


@dataclass(frozen=True)
class Downloaded:
    """A complete file the downloader wrote into the store's temp dir."""

    path: Path
    sha256: str
    size: int


Source = Inline | LocalFile | Downloaded


def pread_chunks(fd: int, end: int, cancel: threading.Event | None = None, *,
                 start: int = 0) -> Iterator[bytes]:
    """Exactly the bytes ``[start, end)`` of ``fd``, in chunks of at most CHUNK. The file
    growing meanwhile changes nothing; a file shorter than ``end`` (it shrank), a failed
    read or a set ``cancel`` raises SourceReadError."""
    offset = start
    while offset < end:
        if cancel is not None and cancel.is_set():
            raise SourceReadError("the import was cancelled")
        try:
            data = pread(fd, min(CHUNK, end - offset), offset)
        except OSError as exc:
            raise SourceReadError(f"cannot read the source: {exc.strerror}", exc) from exc
        if not data:
            raise SourceReadError(f"the source shrank while it was read ({offset} of "
                                  f"{end} bytes)")
        offset += len(data)
        yield data


def hash_fd(fd: int, size: int, cancel: threading.Event | None = None) -> tuple[str, int]:
    """The sha256 of the first ``size`` bytes of ``fd`` (and ``size``)."""
    digest = hashlib.sha256()
    for chunk in pread_chunks(fd, size, cancel):
        digest.update(chunk)
    return digest.hexdigest(), size


def file_chunks(path: Path, what: str) -> Iterator[bytes]:
    """A file's bytes in chunks; a failed open or read raises SourceReadError (``what``
    names the file in its message)."""
    try:
        with path.open("rb") as f:
            while data := f.read(CHUNK):
                yield data
    except OSError as exc:
        raise SourceReadError(f"cannot read {what}: {exc.strerror}", exc) from exc


def file_head(path: Path) -> bytes:
    """The first bytes of a file the store owns; empty when it cannot be read (the save or
    retry that follows reports the real failure)."""
    try:
        with path.open("rb") as f:
            return f.read(HEAD_BYTES)
    except OSError:
        return b""


def hashed(chunks: Iterable[Chunk], sha: str, message: str) -> Iterator[Chunk]:
    """``chunks`` passed through; after the last one, SourceReadError(``message``) unless
    they hash to ``sha``."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != sha:
        raise SourceReadError(message)
