"""Held bytes of unsaved items: kept so that a retry needs nothing from the client.

Bytes are held in memory up to ``hold_memory_budget``, beyond it spilled to files under the
spill directory (a different directory from the data dir, so it may still be writable when
the data dir is not). Spilled copies are written crash-safely (temp, fsync, rename) and
survive a restart; memory copies are spilled at an orderly close. Copies are keyed by
sha256, so unsaved items with the same bytes share one copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from protocol.vocabulary import ErrorType
from sidecar.portable.files import FD_FLAGS
from sidecar.store.blobs import SHA_RE
from sidecar.store.classify import StorageError, classify
from sidecar.store.osio import OsIO
from sidecar.store.private import ensure_private_dir, is_private_dir
from sidecar.store.sources import CHUNK, Chunk, SourceReadError, file_chunks, hashed

log = logging.getLogger("sidecar.store.holding")


@dataclass
class Held:
    sha256: str
    size: int
    data: bytes | None = None
    path: Path | None = None
    items: set[str] = field(default_factory=set)

    def chunks(self) -> Iterator[bytes | memoryview]:
        """The held bytes, in chunks (a spilled copy is read back from its file)."""
        if self.data is not None:
            view = memoryview(self.data)
            for i in range(0, max(len(view), 1), CHUNK):
                yield view[i:i + CHUNK]
            return
        assert self.path is not None
        yield from file_chunks(self.path, "the held copy")


class Holding:
    def __init__(self, spill_dir: Path, memory_budget: int, spill_budget: int,
                 io: OsIO) -> None:
        self.dir = spill_dir / "held"
        self.memory_budget = memory_budget
        self.spill_budget = spill_budget
        self.io = io
        self._lock = threading.Lock()
        self._held: dict[str, Held] = {}
        self._memory_used = 0
        self._spill_used = 0

    # accounting -----------------------------------------------------------------------
    @property
    def bytes_held(self) -> int:
        with self._lock:
            return sum(h.size for h in self._held.values())

    @property
    def items_held(self) -> int:
        with self._lock:
            return sum(len(h.items) for h in self._held.values())

    def get(self, sha: str | None) -> Held | None:
        if sha is None:
            return None
        with self._lock:
            return self._held.get(sha)

    # holding --------------------------------------------------------------------------
    def hold(self, sha: str, size: int, chunks: Iterable[Chunk],
             item_id: str, *, verify: bool = False) -> Held:
        """Hold ``size`` bytes for ``item_id``: in memory if the budget allows, else in a
        spill file. Raises StorageError when neither is possible."""
        with self._lock:
            held = self._held.get(sha)
            if held is not None:
                held.items.add(item_id)
                return held
            in_memory = self._memory_used + size <= self.memory_budget
            if in_memory:
                self._memory_used += size
        if in_memory:
            try:
                data = _join(chunks, sha if verify else None)
            except BaseException:
                with self._lock:
                    self._memory_used -= size
                raise
            held = Held(sha, len(data), data=data)
        else:
            held = Held(sha, size, path=self._spill(sha, size, chunks, verify))
        with self._lock:
            existing = self._held.get(sha)
            if existing is not None:  # another thread held the same bytes meanwhile
                self._forget_copy(held)
                held = existing
            else:
                self._held[sha] = held
            held.items.add(item_id)
            return held

    def hold_file(self, sha: str, size: int, path: Path, item_id: str) -> Held:
        """Hold the bytes of a complete local file (a finished download); the file is left
        for the caller to remove."""
        return self.hold(sha, size, file_chunks(path, path.name), item_id)

    def release(self, sha: str | None, item_id: str) -> None:
        """``item_id`` no longer needs the copy; the last user's release frees it."""
        if sha is None:
            return
        with self._lock:
            held = self._held.get(sha)
            if held is None:
                return
            held.items.discard(item_id)
            if held.items:
                return
            del self._held[sha]
            self._forget_copy(held)

    def _forget_copy(self, held: Held) -> None:
        # Called with the lock held.
        if held.data is not None:
            self._memory_used -= held.size
            held.data = None
        if held.path is not None:
            self._spill_used -= held.size
            with contextlib.suppress(OSError):
                os.unlink(held.path)
            held.path = None

    # spilling -------------------------------------------------------------------------
    def _spill(self, sha: str, size: int, chunks: Iterable[Chunk],
               verify: bool) -> Path:
        with self._lock:
            if self._spill_used + size > self.spill_budget:
                raise StorageError(
                    f"cannot hold {size} bytes: memory and spill budgets are exhausted",
                    op="hold", errno_name="ENOSPC", blocked=True,
                    error_type=ErrorType.STORAGE_BLOCKED)
            self._spill_used += size
        try:
            return self._write_spill(sha, chunks, verify)
        except BaseException:
            with self._lock:
                self._spill_used -= size
            raise

    def _write_spill(self, sha: str, chunks: Iterable[Chunk],
                     verify: bool) -> Path:
        dst = self.dir / sha
        tmp = self.dir / f".{sha}.{uuid.uuid4().hex}.tmp"
        if verify:
            chunks = hashed(chunks, sha, "the bytes changed while being held")
        try:
            ensure_private_dir(self.dir.parent)
            ensure_private_dir(self.dir)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | FD_FLAGS, 0o600)
        except OSError as exc:
            raise classify(exc, "spill") from exc
        try:
            for chunk in chunks:
                self.io.write_all(fd, chunk, op="spillWrite")
            self.io.fsync(fd, op="spillWrite")
            os.close(fd)
            fd = -1
            self.io.replace(tmp, dst, op="spillWrite")
            self.io.fsync_dir(self.dir, op="spillWrite")
        except OSError as exc:
            _cleanup(fd, tmp)
            raise classify(exc, "spill") from exc
        except BaseException:
            _cleanup(fd, tmp)
            raise
        return dst

    def spill_memory(self) -> int:
        """Move every memory copy to a spill file (an orderly close); returns how many."""
        with self._lock:
            pending = [h for h in self._held.values() if h.data is not None]
        moved = 0
        for held in pending:
            data = held.data
            if data is None:
                continue
            try:
                path = self._write_spill(held.sha256, [data], verify=False)
            except (StorageError, SourceReadError) as exc:
                log.warning("could not spill held bytes %s: %s", held.sha256[:12], exc)
                continue
            with self._lock:
                held.path, held.data = path, None
                self._memory_used -= held.size
                self._spill_used += held.size
            moved += 1
        return moved

    def adopt_spilled(self, wanted: dict[str, set[str]]) -> set[str]:
        """At start: take over spill files whose sha some unsaved item needs
        (``wanted``: sha → item ids); delete the others. Returns the shas found."""
        found: set[str] = set()
        if not (is_private_dir(self.dir.parent) and is_private_dir(self.dir)):
            if os.path.lexists(self.dir.parent):
                log.error("ignoring spill dir %s: not a private directory of this user",
                          self.dir.parent)
            return found
        for entry in os.scandir(self.dir):
            path = Path(entry.path)
            if not entry.is_file(follow_symlinks=False):
                continue
            if entry.name in wanted and SHA_RE.match(entry.name):
                size = entry.stat(follow_symlinks=False).st_size
                with self._lock:
                    if entry.name not in self._held:
                        self._held[entry.name] = Held(entry.name, size, path=path,
                                                      items=set(wanted[entry.name]))
                        self._spill_used += size
                found.add(entry.name)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        return found


def _join(chunks: Iterable[Chunk], sha: str | None) -> bytes:
    parts = [bytes(c) for c in chunks]
    data = parts[0] if len(parts) == 1 else b"".join(parts)
    if sha is not None and hashlib.sha256(data).hexdigest() != sha:
        raise SourceReadError("the bytes changed while being held")
    return data


def _cleanup(fd: int, tmp: Path) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
