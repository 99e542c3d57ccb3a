"""The download's destination file: created exclusively, written as bytes arrive, hashed beside.

Owns the bytes on our side of the socket. The reader receives into ``buffer`` (a 64 KiB block
from a small ring) and ``commit``s it: the block is written with ``os.write`` at once, in the
reader's thread, like curl does, then handed to a hasher thread, which feeds it to sha256 and
returns it to the ring. So hashing runs beside receiving and writing instead of after them,
and a block is never copied on its way from the socket to the disk. hashlib (over 2 KiB) and
``os.write`` release the GIL. Bench figures behind these choices (bench/bench_download.py):
a block of 64 KiB stays in the core's cache (256 KiB and 1 MiB blocks cost up to twice the
CPU), and writing in a separate thread cost more CPU than it saved.

The hash always covers exactly the bytes in the file: a resumed download keeps appending to
the same hasher, a restart from zero truncates the file and starts a new one. Any ``OSError``
from the file becomes ``SinkWriteError``. The file is never fsynced or renamed here (the store
does that); ``discard`` removes it.
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

BLOCK_SIZE = 64 * 1024
BLOCKS = 16  # how far the hasher may lag behind the writes (1 MiB)

_Item = tuple[memoryview, int] | bytes | threading.Event | None


class Sink:
    def __init__(self, path: Path, on_progress: Callable[[int], None] | None = None, *,
                 block_size: int = BLOCK_SIZE, blocks: int = BLOCKS) -> None:
        self.path = path
        self._on_progress = on_progress
        self._fd = -1
        self._size = 0
        self._hash = hashlib.sha256()  # touched by the hasher thread only, until drained
        self._free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        for _ in range(blocks):
            self._free.put(memoryview(bytearray(block_size)))
        self._todo: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._current: memoryview | None = None
        self._hasher: threading.Thread | None = None

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    @property
    def buffer(self) -> memoryview:
        """The block to receive into next (waits while all blocks are being hashed)."""
        if self._current is None:
            self._current = self._free.get()
        return self._current

    def open(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise SinkWriteError(exc) from exc
        self._hasher = threading.Thread(target=self._hash_loop, name="fetch-hash", daemon=True)
        self._hasher.start()

    def commit(self, n: int) -> None:
        """Write the first ``n`` bytes of ``buffer``; the next ``buffer`` is a fresh block."""
        if n:
            block, self._current = self.buffer, None
            self._write(block[:n])
            self._todo.put((block, n))
            self._report()

    def write(self, data: bytes) -> None:
        """Write bytes that arrived elsewhere (bodies read through httpx)."""
        if data:
            self._write(memoryview(data))
            self._todo.put(data)  # immutable: safe to hash later without a copy
            self._report()

    def restart(self) -> None:
        """Back to an empty file and a fresh hash (the server sends the whole body again)."""
        self._drain()
        try:
            os.ftruncate(self._fd, 0)
            os.lseek(self._fd, 0, os.SEEK_SET)
        except OSError as exc:
            raise SinkWriteError(exc) from exc
        self._hash = hashlib.sha256()
        self._size = 0

    def hexdigest(self) -> str:
        self._drain()
        return self._hash.hexdigest()

    def close(self) -> None:
        """Stop the hasher and close the file (idempotent); the file stays on disk."""
        if self._hasher is not None:
            self._todo.put(None)
            self._hasher.join()
            self._hasher = None
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

    # -- internals ------------------------------------------------------------------------
    def _write(self, view: memoryview) -> None:
        n = len(view)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            raise SinkWriteError(exc) from exc
        self._size += n

    def _report(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self._size)

    def _drain(self) -> None:
        """Wait until the hasher has seen every byte written so far."""
        if self._hasher is not None:
            done = threading.Event()
            self._todo.put(done)
            done.wait()

    def _hash_loop(self) -> None:
        while (item := self._todo.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
            elif isinstance(item, bytes):
                self._hash.update(item)
            else:
                block, n = item
                self._hash.update(block[:n])
                self._free.put(block)
