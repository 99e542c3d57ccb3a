"""The download's destination file: created exclusively, hashed and written as bytes arrive.

Owns the bytes on our side of the socket. The reader receives into ``buffer`` (one
preallocated block) and hands the filled prefix to ``write``, which hashes it and writes it
with ``os.write``, in the reader's own thread: the block is still in the core's cache when it
is hashed and copied to the page cache. (Measured on the bench: a writer thread with a queue
of buffers costs more CPU than it saves, and larger blocks fall out of cache: 64 KiB inline
was the fastest of 16 KiB-1 MiB, inline or threaded, see bench/bench_download.py.) hashlib
and ``os.write`` release the GIL, so the event loop is never held up by a download.

The hash always covers exactly the bytes in the file: a resumed download keeps appending to
the same hasher, a restart from zero truncates the file and starts a new one. Any ``OSError``
from the file becomes ``SinkWriteError``. The file is never fsynced or renamed here (the store
does that); ``discard`` removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from sidecar.fetch.api import SinkWriteError

BUFFER_SIZE = 64 * 1024


class Sink:
    def __init__(self, path: Path, on_progress: Callable[[int], None] | None = None, *,
                 buffer_size: int = BUFFER_SIZE) -> None:
        self.path = path
        self._on_progress = on_progress
        self._fd = -1
        self._hash = hashlib.sha256()
        self._size = 0
        self.buffer = memoryview(bytearray(buffer_size))

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def open(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise SinkWriteError(exc) from exc

    def write(self, data: memoryview | bytes) -> None:
        """Hash and append ``data``; report the new size to the progress hook."""
        self._hash.update(data)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            raise SinkWriteError(exc) from exc
        self._size += len(data)
        if self._on_progress is not None:
            self._on_progress(self._size)

    def restart(self) -> None:
        """Back to an empty file and a fresh hash (the server sends the whole body again)."""
        try:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
        except OSError as exc:
            raise SinkWriteError(exc) from exc
        self._hash = hashlib.sha256()
        self._size = 0

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        """Close the file (idempotent); it stays on disk."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            try:
                os.close(fd)
            except OSError as exc:
                raise SinkWriteError(exc) from exc

    def discard(self) -> None:
        """Close and remove the file; used on every failure path, so it never raises."""
        with contextlib.suppress(SinkWriteError):
            self.close()
        with contextlib.suppress(OSError):  # gone already, or a read-only directory
            self.path.unlink()
