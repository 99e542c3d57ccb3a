"""The download's destination file: created exclusively, written and hashed by a writer thread.

Owns the bytes on our side of the socket. The reader fills preallocated buffers
(``acquire``/``commit``); a writer thread hashes each filled buffer and writes it with
``os.write``, while the reader is already receiving into the next one. Both hashlib (for
buffers over 2 KiB) and ``os.write`` release the GIL, so hashing and writing overlap with
receiving, and a buffer is never copied on its way from the socket to the disk. Memory is
bounded by ``BUFFERS * BUFFER_SIZE`` whatever the file size.

The hash always covers exactly the bytes in the file: a resumed download keeps appending to
the same hasher, a restart from zero truncates the file and starts a new one. Any ``OSError``
from the file becomes ``SinkWriteError`` (raised on the reader's side at its next call); the
file is never fsynced or renamed here (the store does that). ``discard`` removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from sidecar.fetch.api import SinkWriteError

BUFFER_SIZE = 1 << 20
BUFFERS = 4


class Sink:
    def __init__(self, path: Path, on_progress: Callable[[int], None] | None = None, *,
                 buffer_size: int = BUFFER_SIZE, buffers: int = BUFFERS) -> None:
        self.path = path
        self._on_progress = on_progress
        self._buffer_size = buffer_size
        self._n_buffers = buffers
        self._fd = -1
        self._hash = hashlib.sha256()
        self._committed = 0  # bytes handed to the writer
        self._written = 0  # bytes hashed and written (writer thread only, until drained)
        self._error: OSError | None = None
        self._dropping = False  # discard(): queued buffers are not worth writing any more
        self._free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        self._full: queue.Queue[tuple[memoryview, int] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._partial: memoryview | None = None  # for feed(): the buffer being filled
        self._partial_n = 0

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise SinkWriteError(exc) from exc
        for _ in range(self._n_buffers):
            self._free.put(memoryview(bytearray(self._buffer_size)))
        self._thread = threading.Thread(target=self._write_loop, name="fetch-sink", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the writer and close the file (idempotent); the file stays."""
        if self._thread is not None:
            self._full.put(None)
            self._thread.join()
            self._thread = None
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            try:
                os.close(fd)
            except OSError as exc:
                raise SinkWriteError(exc) from exc

    def discard(self) -> None:
        """Close and remove the file; used on every failure path, so it never raises."""
        self._dropping = True
        with contextlib.suppress(SinkWriteError):
            self.close()
        with contextlib.suppress(OSError):  # gone already, or a read-only directory
            self.path.unlink()

    # -- the reader's side ----------------------------------------------------------------
    @property
    def size(self) -> int:
        """Bytes handed over so far (equal to the file size once ``drain`` returned)."""
        return self._committed + self._partial_n

    def acquire(self) -> memoryview:
        self._flush_partial()  # keep the order of bytes fed and bytes read directly
        self._raise_if_failed()
        buf = self._free.get()
        self._raise_if_failed()
        return buf

    def commit(self, buf: memoryview, n: int) -> None:
        if n:
            self._committed += n
            self._full.put((buf, n))
        else:
            self._free.put(buf)

    def feed(self, data: bytes) -> None:
        """Copy ``data`` in (for bodies read through httpx); committed per full buffer."""
        view = memoryview(data)
        while view:
            if self._partial is None:
                self._partial = self.acquire()
            k = min(len(view), len(self._partial) - self._partial_n)
            self._partial[self._partial_n:self._partial_n + k] = view[:k]
            self._partial_n += k
            view = view[k:]
            if self._partial_n == len(self._partial):
                self._flush_partial()

    def drain(self) -> None:
        """Wait until every committed byte is written; raise ``SinkWriteError`` if one failed."""
        self._flush_partial()
        self._full.join()
        self._raise_if_failed()

    def restart(self) -> None:
        """Back to an empty file and a fresh hash (the server sent the whole body again)."""
        self.drain()
        try:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
        except OSError as exc:
            raise SinkWriteError(exc) from exc
        self._hash = hashlib.sha256()
        self._committed = self._written = 0

    def hexdigest(self) -> str:
        self.drain()
        return self._hash.hexdigest()

    def _flush_partial(self) -> None:
        if self._partial is not None:
            buf, n = self._partial, self._partial_n
            self._partial, self._partial_n = None, 0
            self.commit(buf, n)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise SinkWriteError(self._error) from self._error

    # -- the writer thread ----------------------------------------------------------------
    def _write_loop(self) -> None:
        while (item := self._full.get()) is not None:
            buf, n = item
            try:
                if self._error is None and not self._dropping:
                    self._write(buf[:n])
            except OSError as exc:
                self._error = exc
            finally:
                self._free.put(buf)
                self._full.task_done()
        self._full.task_done()

    def _write(self, data: memoryview) -> None:
        self._hash.update(data)
        n = len(data)
        while data:
            data = data[os.write(self._fd, data):]
        self._written += n
        if self._on_progress is not None:
            with contextlib.suppress(Exception):  # a progress hook must never stall the writer
                self._on_progress(self._written)
