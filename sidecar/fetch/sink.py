"""The download's destination file: created exclusively, written as bytes arrive, hashed beside.

Owns the bytes on our side of the socket. The reader receives into ``buffer`` (a 64 KiB block
from a small ring) and ``commit``s it: the block is written with ``os.write`` at once, in the
reader's thread, like curl does, then handed to a hasher thread, which feeds it to sha256 and
returns it to the ring. So hashing runs beside receiving and writing instead of after them,
and a block is never copied on its way from the socket to the disk. hashlib (over 2 KiB) and
``os.write`` release the GIL. Bench figures behind these choices (bench/bench_download.py):
a block of 64 KiB stays in the core's cache (256 KiB and 1 MiB blocks cost up to twice the
CPU), and writing in a separate thread cost more CPU than it saved.

Write-behind: every 8 MiB hashed, the hasher asks the kernel to start writing those pages
back (``posix_fadvise(DONTNEED)`` starts write-back of dirty pages on Linux without waiting),
so the store's final fsync has little left to do; measured on a 256 MiB https download +
fsync: 1.33 s → 1.12 s (medians of 5 interleaved). After a restart from zero the offsets it
advises are stale: harmless, it is advice.

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
from sidecar.portable.files import FD_FLAGS, NOFOLLOW, WRITE_BEHIND_HINT, drop_written, pread

BLOCK_SIZE = 64 * 1024
BLOCKS = 16  # how far the hasher may lag behind the writes (1 MiB)
# Blocks handed to the hasher at once: a hand-off per block would wake it (two context
# switches) 16 times per MiB, which perf showed at ~10 % of the download's CPU.
BATCH = 4

_Item = list[memoryview | bytes] | threading.Event | None
# Start the kernel's write-back of what is already hashed every this many bytes, so the
# store's final fsync finds little left to write: disk writes overlap the download.
WRITE_BEHIND = True
WRITE_BEHIND_BYTES = 8 * 1024 * 1024


class Sink:
    def __init__(self, path: Path, on_progress: Callable[[int], None] | None = None, *,
                 block_size: int = BLOCK_SIZE, blocks: int = BLOCKS) -> None:
        self.path = path
        self._on_progress = on_progress
        self._fd = -1
        self._size = 0
        self._hash = hashlib.sha256()  # touched by the hasher thread only, until drained
        if blocks <= BATCH:
            raise ValueError(f"need more than {BATCH} blocks")
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(blocks):
            self._free.put(bytearray(block_size))
        self._todo: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._batch: list[memoryview | bytes] = []  # written, not yet handed to the hasher
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
            try:
                block = self._free.get_nowait()
            except queue.Empty:
                self._hand_over()  # the hasher may be waiting for these very blocks
                block = self._free.get()
            self._current = memoryview(block)
        return self._current

    def open(self, *, append: bool = False) -> None:
        """Create the file; with ``append`` continue an existing one (a resumed download):
        its bytes are hashed first and the writes go after them."""
        try:
            if append:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | NOFOLLOW | FD_FLAGS,
                                   0o600)
                self._size = self._hash_existing()
            else:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | FD_FLAGS
                                   | NOFOLLOW, 0o600)  # owner-only, like every blob
        except OSError as exc:
            if self._fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = -1
            raise SinkWriteError(exc) from exc
        self._hasher = threading.Thread(target=self._hash_loop, name="fetch-hash", daemon=True)
        self._hasher.start()

    def commit(self, n: int) -> None:
        """Write the first ``n`` bytes of ``buffer``; the next ``buffer`` is a fresh block."""
        if n:
            view, self._current = self.buffer[:n], None
            self._write(view)
            self._queue(view)

    def write(self, data: bytes) -> None:
        """Write bytes that arrived elsewhere (bodies read through httpx, decoded pieces).
        They are copied into the ring's blocks, so a producer faster than the hasher (a
        decoder inflating a bomb) waits for it instead of queueing without bound."""
        view = memoryview(data)
        while view:
            buf = self.buffer
            n = min(len(buf), len(view))
            buf[:n] = view[:n]
            self.commit(n)
            view = view[n:]

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
            self._hand_over()
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
    def _hash_existing(self) -> int:
        offset = 0
        while data := pread(self._fd, 1024 * 1024, offset):
            self._hash.update(data)
            offset += len(data)
        os.lseek(self._fd, offset, os.SEEK_SET)
        return offset

    def _write(self, view: memoryview) -> None:
        n = len(view)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            raise SinkWriteError(exc) from exc
        self._size += n

    def _queue(self, data: memoryview | bytes) -> None:
        self._batch.append(data)
        if len(self._batch) >= BATCH:
            self._hand_over()
        if self._on_progress is not None:
            self._on_progress(self._size)

    def _hand_over(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self._todo.put(batch)

    def _drain(self) -> None:
        """Wait until the hasher has seen every byte written so far."""
        self._hand_over()
        if self._hasher is not None:
            done = threading.Event()
            self._todo.put(done)
            done.wait()

    def _hash_loop(self) -> None:
        hashed = flushed = 0
        advise = drop_written if WRITE_BEHIND and WRITE_BEHIND_HINT else None
        while (item := self._todo.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
                continue
            for data in item:
                self._hash.update(data)
                hashed += len(data)
                if isinstance(data, memoryview):
                    self._free.put(data.obj)  # type: ignore[arg-type]  # a ring block
            if advise is not None and hashed - flushed >= WRITE_BEHIND_BYTES:
                # On Linux, DONTNEED on dirty pages starts their write-back without waiting
                # for it (and drops them from the cache once clean). Advice only: errors and
                # a truncate racing with it are harmless.
                with contextlib.suppress(OSError):
                    advise(self._fd, flushed, hashed - flushed)
                flushed = hashed
