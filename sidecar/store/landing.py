"""Landing: a large inline payload written to a durable temp file while its signature is
still being checked, so that writing and hashing overlap instead of following each other.

The server hashes a large payload for its signature in one thread; meanwhile ``Lander``
writes the same bytes to an owner-only temp file in ``<data>/tmp`` (the blobs' filesystem,
through the OS seam like every blob write) and fsyncs it. Only an authentic ``addMediaItem``
that saves exactly those bytes uses it: the store takes the file (``Inline.landed``) and
renames it into place instead of writing its own. Everything else ends in ``discard()``,
which deletes it: a signature that does not verify, a method that is not an add, an add
that does not save (a repeated id, a conflict, a blob already there), a failure anywhere.
A crash leaves it in ``<data>/tmp``, which recovery empties at the next start
(``BlobStore.sweep_temps``).

A landing that fails (ENOSPC, EIO) deletes what it wrote and is simply dropped: the save
then writes the bytes itself, under its usual failure rules. ``take`` and ``discard`` are
exclusive (whichever comes first wins), so a discard racing a cancelled save never leaves
the save a file that is gone, nor a taken file deleted under it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from sidecar.store.blobs import BlobStore
from sidecar.store.classify import StorageError

log = logging.getLogger("sidecar.store.landing")

# Payloads smaller than this are written by the save itself: hashing them takes less time
# than the thread hop a landing costs (the server hashes the same ones off the loop).
LAND_MIN_BYTES = 1024 * 1024
LAND_PREFIX = "land"


class Landed:
    """A payload's bytes in an fsynced owner-only temp file that nobody owns yet."""

    __slots__ = ("_lock", "_state", "path", "size")

    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size
        self._lock = threading.Lock()
        self._state = "landed"  # → "taken" (the store's now) | "discarded" (deleted)

    def take(self) -> Path | None:
        """The file, now the caller's to install or delete; None once discarded."""
        with self._lock:
            if self._state != "landed":
                return None
            self._state = "taken"
        return self.path

    def discard(self) -> None:
        """Delete the file unless it was taken (idempotent)."""
        with self._lock:
            if self._state != "landed":
                return
            self._state = "discarded"
        with contextlib.suppress(OSError):
            os.unlink(self.path)


class Lander:
    """``lander(payloads)``: the payloads written and fsynced to a new temp file, or None
    (too small to be worth it, or the landing failed and was cleaned up)."""

    def __init__(self, blobs: BlobStore, min_bytes: int = LAND_MIN_BYTES) -> None:
        self._blobs = blobs
        self._min_bytes = min_bytes

    def __call__(self, payloads: Sequence[memoryview]) -> Landed | None:
        size = sum(p.nbytes for p in payloads)
        if size < self._min_bytes:
            return None
        try:
            path = self._blobs.write_temp(payloads, prefix=LAND_PREFIX)
        except StorageError as err:
            log.info("payload landing dropped (%s); the save writes the bytes itself",
                     err.message)
            return None
        return Landed(path, size)
