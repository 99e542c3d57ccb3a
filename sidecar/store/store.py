"""The media store: items' records and bytes, and what happens when storage fails.

``MediaStore`` joins the metadata database, the blob files, the held bytes and the fallback
journal. It is synchronous and thread-safe (the service calls it from a thread pool); the
service serializes operations on one item, the store serializes everything touching one
blob (by sha256) so that a blob is never removed while another item starts using it.

The save pipeline: bytes → fsynced temp file → rename → directory fsync → row commit. When a
step fails the failure is classified (``classify``) and the item is kept anyway:

* blocked (no space, read-only, permission) and a source URL known → ``urlOnly``;
* otherwise its bytes are held (memory, then spill) → ``unsaved``, retried later;
* bytes that cannot be held and no URL → ``NotKept``: the add fails, nothing is claimed.

With ``rollback_on_failure`` a failed save of a new item keeps nothing (the old behaviour).
Records that the database cannot take go to the journal and stay listed from memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sidecar.portable.files import FD_FLAGS, pread
from sidecar.store.blobs import CHUNK, BlobStore, SourceReadError
from sidecar.store.classify import STORAGE_IO_ERROR, StorageError, classify
from sidecar.store.config import StoreConfig
from sidecar.store.db import MetadataDB
from sidecar.store.holding import Held, Holding
from sidecar.store.journal import Journal
from sidecar.store.landing import Landed
from sidecar.store.locks import KeyedLock
from sidecar.store.osio import Faults, OsIO
from sidecar.store.query import ListQuery
from sidecar.store.reading import RangeReader
from sidecar.store.records import (
    LOST,
    SAVED,
    STATUSES,
    UNSAVED,
    URL_ONLY,
    ErrorInfo,
    ItemRecord,
    next_rev,
    now_ms,
)
from sidecar.store.sniff import HEAD_BYTES, decide

log = logging.getLogger("sidecar.store")

DB_NAME = "media.sqlite3"
BYTES_LOST = ("the held bytes were lost (the sidecar stopped before they could be saved); "
              "add the item again")
Chunk = bytes | bytearray | memoryview


# Byte sources ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Inline:
    """Bytes in memory (the request's payload frames); their sha256 is already known.
    ``landed``: the same bytes already in a durable temp file (``sidecar.store.landing``)."""

    chunks: Sequence[Chunk]
    sha256: str
    size: int
    landed: Landed | None = None


@dataclass(frozen=True)
class LocalFile:
    """An opened, validated local file to import: exactly ``size`` bytes (its size at open)
    are read from offset 0, in chunks, never loaded whole; setting ``cancel`` stops the
    read between two chunks (``SourceReadError``)."""

    fd: int
    path: Path
    size: int
    cancel: threading.Event | None = None


@dataclass(frozen=True)
class Downloaded:
    """A complete file the downloader wrote into the store's temp dir."""

    path: Path
    sha256: str
    size: int


Source = Inline | LocalFile | Downloaded


class NotKept(Exception):
    """The save failed and nothing of the item is kept (rollback, or bytes not holdable)."""

    def __init__(self, error: StorageError) -> None:
        super().__init__(error.message)
        self.error = error


class ShaMismatch(Exception):
    """The bytes do not hash to ``expected_sha256``."""

    def __init__(self, actual: str) -> None:
        super().__init__(f"the bytes hash to {actual}")
        self.actual = actual


@dataclass(frozen=True)
class SaveOutcome:
    record: ItemRecord
    error: StorageError | None = None
    persisted: bool = True  # the record reached the database (not only the journal/memory)
    bytes_lost: bool = False  # a retry found nothing to save: the item is now lost/urlOnly


@dataclass
class RecoveryReport:
    temps_removed: int = 0
    journal_applied: int = 0
    missing_blobs: list[str] = field(default_factory=list)
    orphans_removed: int = 0
    held_found: int = 0
    held_lost: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    records: list[ItemRecord]
    next_cursor: str | None
    counts: dict[str, int]


SPILL_DIR_NAME = "spill"


def spill_namespace(config: StoreConfig, data_dir: Path) -> Path:
    """Where this data dir's held copies and journal live: ``<data>/spill`` by default (kept
    across reboots, removed with the library); with an explicit ``spill_dir`` (another
    filesystem), this data dir's own corner of it."""
    if config.spill_dir is None:
        return data_dir / SPILL_DIR_NAME
    key = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return config.spill_dir / key


class MediaStore:
    def __init__(self, data_dir: Path, config: StoreConfig, faults: Faults | None = None
                 ) -> None:
        self.data_dir = data_dir
        self.config = config
        self.io = OsIO(faults)
        self.faults = self.io.faults
        self.blobs = BlobStore(data_dir, self.io)
        self._blob_root = str(self.blobs.root)
        self.spill_dir = spill_namespace(config, data_dir)
        self.holding = Holding(self.spill_dir, config.hold_memory_budget,
                               config.spill_budget, self.io)
        self.journal = Journal(self.spill_dir / "journal.jsonl", self.io)
        self.reader = RangeReader(self.blobs, self.holding)
        self._sha_locks = KeyedLock()
        self._lock = threading.Lock()
        self._pending: dict[str, ItemRecord] = {}  # records the database does not have yet
        self.last_error: StorageError | None = None
        self.recovery = RecoveryReport()
        self._db: MetadataDB | None = None

    @property
    def db(self) -> MetadataDB:
        assert self._db is not None, "store not open"
        return self._db

    # life cycle ---------------------------------------------------------------------------
    @classmethod
    def open(cls, data_dir: Path, config: StoreConfig, faults: Faults | None = None
             ) -> MediaStore:
        """Open (or create) the store and run start-up recovery. Raises StorageError when
        the data dir or its database cannot be opened at all."""
        store = cls(data_dir, config, faults)
        try:
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            store.blobs.ensure_layout()
            store.recovery.temps_removed = len(store.blobs.sweep_temps())
        except OSError as exc:
            raise classify(exc, "prepare the data dir") from exc
        store._db = MetadataDB(data_dir / DB_NAME, store.io)
        try:
            store._recover()
        except OSError as exc:
            store._db.close()
            raise classify(exc, "recover the store") from exc
        except BaseException:
            store._db.close()
            raise
        return store

    def close(self) -> None:
        moved = self.holding.spill_memory()
        if moved:
            log.info("spilled %d held copies to %s for the next start", moved, self.spill_dir)
        if self._db is not None:
            self._db.close()
        # Nothing held and nothing journalled: leave no empty spill directory behind.
        if not self.holding.items_held and not self.journal.ids:
            for d in (self.holding.dir, self.spill_dir):
                with contextlib.suppress(OSError):
                    os.rmdir(d)  # only if empty

    def _recover(self) -> None:
        report = self.recovery
        self._replay_journal()
        present = self.blobs.scan()
        for item_id, sha in self.db.saved_refs():
            if sha in present:
                continue
            rec = self.db.get(item_id)
            if rec is None:
                continue
            report.missing_blobs.append(item_id)
            log.error("item %s: its blob %s is missing; marking it", item_id, sha[:12])
            err = StorageError("the saved blob file is missing from the store", op="recover",
                               errno_name="ENOENT", blocked=False,
                               error_type=STORAGE_IO_ERROR)
            status = URL_ONLY if rec.source_url else UNSAVED
            self.persist(rec.evolve(status=status, storage_error=err.info()))
        referenced = self.db.referenced_shas() | self._pending_shas()
        for sha in present - referenced:
            try:
                self.blobs.delete(sha)
                report.orphans_removed += 1
            except StorageError as exc:
                log.warning("cannot collect orphan blob %s: %s", sha[:12], exc)
        unsaved = [r for r in self._all_with_status(UNSAVED) if r.sha256]
        wanted: dict[str, set[str]] = {}
        for rec in unsaved:
            assert rec.sha256 is not None
            wanted.setdefault(rec.sha256, set()).add(rec.id)
        found = self.holding.adopt_spilled(wanted)
        report.held_found = len(found)
        for rec in self._all_with_status(UNSAVED):
            if (rec.sha256 in found) or (rec.sha256 and rec.sha256 in present):
                continue
            if rec.id in report.missing_blobs:  # already marked, with the better reason
                continue
            report.held_lost.append(rec.id)
            self.persist(self._bytes_lost(rec))
        if report.temps_removed or report.missing_blobs or report.orphans_removed:
            log.warning("recovery: %s", report)

    def _replay_journal(self) -> None:
        entries = self.journal.load()
        if not entries:
            return
        puts: dict[str, ItemRecord] = {}
        dels: dict[str, int] = {}
        for entry in entries:
            try:
                if entry.get("op") == "put":
                    rec = ItemRecord.from_dict(entry["record"])
                    if rec.id not in puts or puts[rec.id].rev < rec.rev:
                        puts[rec.id] = rec
                elif entry.get("op") == "del":
                    dels[str(entry["id"])] = max(dels.get(str(entry["id"]), 0), int(entry["rev"]))
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("skipping a bad journal entry: %s", exc)
        live = [r for r in puts.values() if dels.get(r.id, 0) < r.rev]
        try:
            self.recovery.journal_applied = self.db.upsert_if_newer(live)
            for item_id, rev in dels.items():
                self.db.delete(item_id, rev_below=rev)
        except StorageError as exc:
            log.error("cannot replay the journal into the database (%s); its %d records stay "
                      "listed from memory", exc, len(live))
            with self._lock:
                for rec in live:
                    current = self.db.get(rec.id)
                    if current is None or current.rev < rec.rev:
                        self._pending[rec.id] = rec
            return
        self.journal.clear()

    # reads ------------------------------------------------------------------------------
    def get(self, item_id: str) -> ItemRecord | None:
        with self._lock:
            pending = self._pending.get(item_id)
        return pending if pending is not None else self.db.get(item_id)

    def page(self, query: ListQuery) -> Page:
        with self._lock:
            pending = [r for r in self._pending.values() if r.project_id == query.project_id]
        rows, counts = self.db.page(query, query.limit + 1 + len(pending))
        if pending:
            by_id = {r.id: r for r in pending}
            rows = [r for r in rows if r.id not in by_id]
            rows.extend(r for r in pending if query.matches(r))
            rows.sort(key=query.key_of, reverse=query.order == "desc")
            counts = dict(counts)
            for rec in pending:
                db_rec = self.db.get(rec.id)
                if db_rec is not None:
                    counts[db_rec.status] = counts.get(db_rec.status, 0) - 1
                counts[rec.status] = counts.get(rec.status, 0) + 1
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        cursor = query.cursor_after(rows[-1]) if more and rows else None
        return Page(rows, cursor, {s: counts.get(s, 0) for s in STATUSES})

    def counts(self, project_id: str | None = None) -> dict[str, int]:
        counts = self.db.counts(project_id)
        with self._lock:
            pending = [r for r in self._pending.values()
                       if project_id is None or r.project_id == project_id]
        for rec in pending:
            db_rec = self.db.get(rec.id)
            if db_rec is not None:
                counts[db_rec.status] = counts.get(db_rec.status, 0) - 1
            counts[rec.status] = counts.get(rec.status, 0) + 1
        return {s: counts.get(s, 0) for s in STATUSES}

    def with_status(self, status: str, project_id: str | None = None) -> list[ItemRecord]:
        return [r for r in self._all_with_status(status)
                if project_id is None or r.project_id == project_id]

    def _all_with_status(self, status: str) -> list[ItemRecord]:
        with self._lock:
            pending = dict(self._pending)
        rows = [r for r in self.db.with_status(status) if r.id not in pending]
        rows.extend(r for r in pending.values() if r.status == status)
        return rows

    def _pending_shas(self) -> set[str]:
        with self._lock:
            return {r.sha256 for r in self._pending.values()
                    if r.sha256 and r.status in (SAVED, UNSAVED)}

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    def blob_path(self, sha: str) -> Path:
        return self.blobs.path_for(sha)

    def blob_path_str(self, sha: str) -> str:
        """``blob_path`` as a string, built without pathlib (listing cost)."""
        return f"{self._blob_root}/{sha[:2]}/{sha}"

    def download_path(self) -> Path:
        """A new file name in the store's temp dir for the downloader to create."""
        return self.blobs.temp_path("dl")

    # records ----------------------------------------------------------------------------
    def persist(self, rec: ItemRecord) -> bool:
        """Write a record: the database, else the journal, else memory only. Never raises.
        Returns True when it reached the database."""
        try:
            self.db.upsert(rec)
        except StorageError as err:
            self.last_error = err
            log.warning("item %s: the database refused its record (%s); journalling it",
                        rec.id, err)
            try:
                self.journal.append({"op": "put", "id": rec.id, "rev": rec.rev,
                                     "record": rec.to_dict()})
            except StorageError as jerr:
                log.error("item %s: the journal failed too (%s); its record is kept in memory "
                          "only until storage recovers", rec.id, jerr)
            with self._lock:
                self._pending[rec.id] = rec
            return False
        self._resolved(rec.id)
        return True

    def _resolved(self, item_id: str) -> None:
        """The database has ``item_id``'s latest record: forget the pending copy (and the
        journal, once nothing is pending)."""
        with self._lock:
            self._pending.pop(item_id, None)
            empty = not self._pending
        if empty and self.journal.ids:
            self.journal.clear()

    def flush_pending(self) -> bool:
        """Move records kept by the journal/memory into the database. True when none left."""
        with self._lock:
            pending = list(self._pending.values())
        if not pending:
            if self.journal.ids:
                self.journal.clear()
            return True
        try:
            # Only where newer: an item operation may have written a later record meanwhile.
            self.db.upsert_if_newer(pending)
        except StorageError as err:
            self.last_error = err
            return False
        with self._lock:
            for rec in pending:
                if self._pending.get(rec.id) is rec:
                    del self._pending[rec.id]
            empty = not self._pending
        if empty:
            self.journal.clear()
        log.info("flushed %d pending records into the database", len(pending))
        return empty

    # saving -----------------------------------------------------------------------------
    def save(self, rec: ItemRecord, source: Source, *, new: bool,
             expected_sha256: str | None = None) -> SaveOutcome:
        """Save ``rec``'s bytes from ``source`` and commit it as ``saved``; on a storage
        failure keep it per the rules above. ``new``: the item did not exist before (only a
        new item is rolled back under ``rollback_on_failure``). Raises NotKept, ShaMismatch
        or SourceReadError."""
        if isinstance(source, Inline):
            if expected_sha256 and expected_sha256 != source.sha256:
                raise ShaMismatch(source.sha256)
            rec = rec.evolve(sha256=source.sha256, size=source.size,
                             mime_type=decide(rec.mime_type, _head(source.chunks)))
            chunks = source.chunks
            landed = source.landed
            tmp = landed.take() if landed is not None and landed.size == source.size else None
            return self._commit(rec, tmp, lambda: iter(chunks), lambda: self._hold(
                rec, chunks, source.sha256, source.size), new=new)
        if isinstance(source, LocalFile):
            return self._save_file(rec, source, new=new, expected_sha256=expected_sha256)
        return self._save_download(rec, source, new=new)

    def _save_file(self, rec: ItemRecord, source: LocalFile, *, new: bool,
                   expected_sha256: str | None) -> SaveOutcome:
        fd, length, cancel = source.fd, source.size, source.cancel
        rec = rec.evolve(mime_type=decide(rec.mime_type, _pread_head(fd)))
        try:
            tmp, sha, size = self.blobs.copy_hashing(fd, length, cancel)
        except StorageError as err:
            sha, size = hash_fd(fd, length, cancel)
            if expected_sha256 and expected_sha256 != sha:
                raise ShaMismatch(sha) from err
            rec = rec.evolve(sha256=sha, size=size)
            return self._failed(rec, err, lambda: self._hold(
                rec, fd_chunks(fd, length, cancel), sha, size, verify=True), new=new)
        if expected_sha256 and expected_sha256 != sha:
            _unlink(tmp)
            raise ShaMismatch(sha)
        rec = rec.evolve(sha256=sha, size=size)
        return self._commit(rec, tmp, None, lambda: self._hold(
            rec, fd_chunks(fd, length, cancel), sha, size, verify=True), new=new)

    def _save_download(self, rec: ItemRecord, source: Downloaded, *, new: bool) -> SaveOutcome:
        path = source.path
        rec = rec.evolve(sha256=source.sha256, size=source.size,
                         mime_type=decide(rec.mime_type, _file_head(path)))

        def hold() -> Held:
            return self.holding.hold_file(source.sha256, source.size, path, rec.id)

        try:
            self.blobs.sync_file(path)
        except StorageError as err:
            _unlink(path)
            # An fsync that failed says nothing good about the bytes: keep the URL instead.
            return self._failed(rec, err, None, new=new)
        try:
            return self._commit(rec, path, None, hold, new=new)
        finally:
            _unlink(path)

    def retry(self, rec: ItemRecord) -> SaveOutcome:
        """Save an unsaved item again from the bytes the store holds (or finds as a blob)."""
        sha = rec.sha256
        held = self.holding.get(sha)
        if sha is None or (held is None and not self.blobs.exists(sha)):
            return self._lost_outcome(rec)
        verify = held is not None and held.data is None  # a spilled copy is checked
        if rec.mime_type is None:  # recorded before types were sniffed: type it now
            rec = rec.evolve(mime_type=decide(None, self._head_of(held, sha)))
        try:
            return self._commit(
                rec, None,
                (held.chunks) if held is not None else None,
                None, new=False, retry=True, verify=verify)
        except SourceReadError as exc:
            log.error("item %s: its held copy is unusable (%s)", rec.id, exc)
            self.holding.release(sha, rec.id)
            return self._lost_outcome(rec)

    def _lost_outcome(self, rec: ItemRecord) -> SaveOutcome:
        out = self._bytes_lost(rec)
        return SaveOutcome(out, None, self.persist(out), bytes_lost=True)

    def _head_of(self, held: Held | None, sha: str) -> bytes:
        if held is not None and (data := held.data) is not None:
            return data[:HEAD_BYTES]
        if held is not None and held.path is not None:
            return _file_head(held.path)
        return _file_head(self.blobs.path_for(sha))

    def _commit(self, rec: ItemRecord, tmp: Path | None,
                chunks: Callable[[], Iterable[Chunk]] | None,
                hold: Callable[[], Held] | None, *, new: bool, retry: bool = False,
                verify: bool = False) -> SaveOutcome:
        sha = rec.sha256
        assert sha is not None
        saved = rec.evolve(status=SAVED, storage_error=None)
        with self._sha_locks.hold(sha):
            installed = False
            try:
                if not self.blobs.exists(sha):
                    if tmp is None:
                        assert chunks is not None
                        tmp = self.blobs.write_temp(chunks(), sha if verify else None)
                    installed = self.blobs.install(tmp, sha)
                    tmp = None
                elif tmp is not None:
                    _unlink(tmp)
                    tmp = None
                self.db.upsert(saved)
            except StorageError as err:
                rolling_back = new and self.config.rollback_on_failure
                if installed and rolling_back:
                    self._drop_blob_if_unused(sha, rec.id)
                # Only the row failed: the blob is complete and durable, a retry commits it.
                blob_ready = not rolling_back and self.blobs.exists(sha)
                try:
                    return self._failed(rec, err, hold, new=new, retry=retry,
                                        blob_ready=blob_ready)
                finally:
                    if tmp is not None:
                        _unlink(tmp)
        self._resolved(rec.id)
        self.holding.release(sha, rec.id)
        return SaveOutcome(saved)

    def _failed(self, rec: ItemRecord, err: StorageError, hold: Callable[[], Held] | None,
                *, new: bool, retry: bool = False, blob_ready: bool = False) -> SaveOutcome:
        self.last_error = err
        log.warning("item %s: save failed: %s", rec.id, err.message)
        if new and self.config.rollback_on_failure:
            raise NotKept(err)
        if retry or blob_ready:
            out = rec.evolve(status=UNSAVED, storage_error=err.info())
            return SaveOutcome(out, err, self.persist(out))
        if new and self.config.rollback_on_failure:
            raise NotKept(err)
        if rec.source_url and (err.blocked or hold is None):
            out = rec.evolve(status=URL_ONLY, storage_error=err.info())
            self.holding.release(rec.sha256, rec.id)
            return SaveOutcome(out, err, self.persist(out))
        if hold is None:
            raise NotKept(err)
        try:
            hold()
        except (StorageError, SourceReadError) as herr:
            log.error("item %s: its bytes cannot be held either: %s", rec.id, herr)
            if rec.source_url:
                out = rec.evolve(status=URL_ONLY, storage_error=err.info())
                return SaveOutcome(out, err, self.persist(out))
            raise NotKept(err) from herr
        out = rec.evolve(status=UNSAVED, storage_error=err.info())
        return SaveOutcome(out, err, self.persist(out))

    def _hold(self, rec: ItemRecord, chunks: Iterable[Chunk], sha: str, size: int,
              *, verify: bool = False) -> Held:
        return self.holding.hold(sha, size, chunks, rec.id, verify=verify)

    def retryable(self, rec: ItemRecord) -> bool:
        """Whether a retry of this unsaved item has bytes to work with."""
        return rec.sha256 is not None and (self.holding.get(rec.sha256) is not None
                                           or self.blobs.exists(rec.sha256))

    def _bytes_lost(self, rec: ItemRecord) -> ItemRecord:
        """The held bytes are gone: urlOnly when a URL can bring them back, else lost."""
        info = ErrorInfo(BYTES_LOST, now_ms(), STORAGE_IO_ERROR, None)
        if rec.source_url:
            return rec.evolve(status=URL_ONLY, storage_error=info)
        return rec.evolve(status=LOST, storage_error=info)

    def record_state(self, item_id: str) -> str:
        """Where the item's latest record is: stored (database), journalled, or memory."""
        if item_id not in self._pending:  # a dict lookup: atomic, no lock needed
            return "stored"
        return "journalled" if item_id in self.journal.ids else "memory"

    # state changes without bytes ----------------------------------------------------------
    def register(self, rec: ItemRecord) -> bool:
        """Record an item that has no bytes here (urlOnly / expired). True if in the DB."""
        return self.persist(rec)

    def remove(self, rec: ItemRecord) -> tuple[bool, bool]:
        """Remove an item; its blob goes unless another item shares it.
        Returns (removed, blob_deleted). Raises StorageError if the database refuses."""
        sha = rec.sha256
        with self._sha_locks.hold(sha or f"id:{rec.id}"):
            if self.db.get(rec.id) is not None:
                self.db.delete(rec.id)
            with self._lock:
                self._pending.pop(rec.id, None)
            if rec.id in self.journal.ids:
                try:
                    self.journal.append({"op": "del", "id": rec.id, "rev": next_rev()})
                except StorageError as exc:
                    log.error("item %s: removed, but the journal could not record it (%s)",
                              rec.id, exc)
            self.holding.release(sha, rec.id)
            blob_deleted = False
            if sha is not None:
                blob_deleted = self._drop_blob_if_unused(sha, rec.id)
        return True, blob_deleted

    def _drop_blob_if_unused(self, sha: str, item_id: str) -> bool:
        # Called with the sha lock held.
        try:
            if self.db.sha_refs(sha, exclude_id=item_id) or sha in self._pending_shas_except(
                    item_id):
                return False
            return self.blobs.delete(sha)
        except StorageError as exc:
            log.warning("blob %s left for the next start-up collection: %s", sha[:12], exc)
            return False

    def _pending_shas_except(self, item_id: str) -> set[str]:
        with self._lock:
            return {r.sha256 for r in self._pending.values()
                    if r.sha256 and r.id != item_id and r.status in (SAVED, UNSAVED)}

    # health -----------------------------------------------------------------------------
    def probe(self) -> StorageError | None:
        """Is storage writable now? A small durable write in the temp dir (and the database
        when records wait for it). Injected blob faults count as failures."""
        for op in ("blobWrite", "blobFsync", "blobRename", "dirFsync"):
            code = self.faults.peek(op)
            if code is not None:
                return classify(OSError(code, os.strerror(code)), f"probe ({op})")
        path = self.blobs.temp_path("probe")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | FD_FLAGS, 0o600)
            try:
                os.write(fd, b"\0" * 512)
                os.fsync(fd)
            finally:
                os.close(fd)
                _unlink(path)
        except OSError as exc:
            return classify(exc, "probe")
        if self.pending_count or self.faults.peek("dbCommit") is not None:
            try:
                self.db.probe()
            except StorageError as err:
                return err
        return None

    def disk_usage(self) -> tuple[int, int]:
        """(free bytes for us, total bytes) of the data dir's filesystem."""
        try:
            usage = shutil.disk_usage(self.data_dir)
        except OSError:
            return 0, 0
        return usage.free, usage.total


def _head(chunks: Iterable[Chunk]) -> bytes:
    """The first ``HEAD_BYTES`` of a sequence of chunks (for sniffing the type)."""
    parts: list[bytes] = []
    got = 0
    for chunk in chunks:
        parts.append(bytes(memoryview(chunk)[:HEAD_BYTES - got]))
        got += len(parts[-1])
        if got >= HEAD_BYTES:
            break
    return b"".join(parts)


def _pread_head(fd: int) -> bytes:
    try:
        return pread(fd, HEAD_BYTES, 0)
    except OSError as exc:
        raise SourceReadError(f"cannot read the source: {exc.strerror}", exc) from exc


def _file_head(path: Path) -> bytes:
    """The first bytes of a file the store owns; empty when it cannot be read (the save or
    retry that follows reports the real failure)."""
    try:
        with path.open("rb") as f:
            return f.read(HEAD_BYTES)
    except OSError:
        return b""


def fd_chunks(fd: int, size: int, cancel: threading.Event | None = None
              ) -> Iterator[bytes]:
    """Exactly ``size`` bytes of ``fd`` from offset 0, in chunks. The file growing meanwhile
    changes nothing; a file shorter than ``size`` (it shrank) or a set ``cancel`` raises
    SourceReadError."""
    offset = 0
    while offset < size:
        if cancel is not None and cancel.is_set():
            raise SourceReadError("the import was cancelled")
        try:
            data = pread(fd, min(CHUNK, size - offset), offset)
        except OSError as exc:
            raise SourceReadError(f"cannot read the source: {exc.strerror}", exc) from exc
        if not data:
            raise SourceReadError(f"the source shrank while it was read ({offset} of "
                                  f"{size} bytes)")
        offset += len(data)
        yield data


def hash_fd(fd: int, size: int, cancel: threading.Event | None = None) -> tuple[str, int]:
    digest = hashlib.sha256()
    for chunk in fd_chunks(fd, size, cancel):
        digest.update(chunk)
    return digest.hexdigest(), size


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
