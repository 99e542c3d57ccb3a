"""The media store: items' records and bytes, and what happens when storage fails.

``MediaStore`` joins the item records (``catalog``: the database plus what it could not take
yet), the blob files, the held bytes and start-up recovery. It is synchronous and
thread-safe (the service calls it from a thread pool); the service serializes operations on
one item, the store serializes everything touching one blob (by sha256) so that a blob is
never removed while another item starts using it.

The save pipeline: bytes → fsynced temp file → rename → directory fsync → row commit. When a
step fails the failure is classified (``classify``) and the item is kept anyway:

* blocked (no space, read-only, permission) and a source URL known → ``urlOnly``;
* otherwise its bytes are held (memory, then spill) → ``unsaved``, retried later;
* bytes that cannot be held and no URL → ``NotKept``: the add fails, nothing is claimed.

With ``rollback_on_failure`` a failed save of a new item keeps nothing (the old behaviour).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from protocol.vocabulary import ItemStatus, RecordState
from sidecar.portable.files import FD_FLAGS
from sidecar.store.blobs import BlobStore
from sidecar.store.catalog import Catalog, Page
from sidecar.store.classify import StorageError, classify
from sidecar.store.config import StoreConfig
from sidecar.store.db import MetadataDB
from sidecar.store.holding import Held, Holding
from sidecar.store.journal import Journal
from sidecar.store.locks import KeyedLock
from sidecar.store.osio import Faults, OsIO
from sidecar.store.query import ListQuery
from sidecar.store.reading import RangeReader
from sidecar.store.records import ItemRecord, bytes_lost
from sidecar.store.recovery import RecoveryReport, recover
from sidecar.store.sniff import HEAD_BYTES, decide
from sidecar.store.sources import (
    Chunk,
    Downloaded,
    Inline,
    LocalFile,
    Source,
    SourceReadError,
    file_head,
    hash_fd,
)

log = logging.getLogger("sidecar.store")

DB_NAME = "media.sqlite3"
SPILL_DIR_NAME = "spill"


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
    error: StorageError | None = None  # why the bytes were not saved
    refused: StorageError | None = None  # why the database did not take the record
    bytes_lost: bool = False  # a retry found nothing to save: the item is now lost/urlOnly

    @property
    def persisted(self) -> bool:
        """The record reached the database (not only the journal/memory)."""
        return self.refused is None


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
        self.recovery = RecoveryReport()
        self._catalog: Catalog | None = None

    @property
    def catalog(self) -> Catalog:
        assert self._catalog is not None, "store not open"
        return self._catalog

    @property
    def db(self) -> MetadataDB:
        return self.catalog.db

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
            temps_removed = len(store.blobs.sweep_temps())
        except OSError as exc:
            raise classify(exc, "prepare the data dir") from exc
        db = MetadataDB(data_dir / DB_NAME, store.io)
        store._catalog = Catalog(db, store.journal)
        try:
            store.recovery = recover(store.blobs, store.catalog, store.holding,
                                     temps_removed=temps_removed)
        except OSError as exc:
            db.close()
            raise classify(exc, "recover the store") from exc
        except BaseException:
            db.close()
            raise
        return store

    def close(self) -> None:
        moved = self.holding.spill_memory()
        if moved:
            log.info("spilled %d held copies to %s for the next start", moved, self.spill_dir)
        if self._catalog is not None:
            self._catalog.db.close()
        # Nothing held and nothing journalled: leave no empty spill directory behind.
        if not self.holding.items_held and not self.journal.ids:
            for d in (self.holding.dir, self.spill_dir):
                with contextlib.suppress(OSError):
                    os.rmdir(d)  # only if empty

    # records (the catalog's) ------------------------------------------------------------
    def get(self, item_id: str) -> ItemRecord | None:
        return self.catalog.get(item_id)

    def page(self, query: ListQuery) -> Page:
        return self.catalog.page(query)

    def counts(self, project_id: str | None = None) -> dict[str, int]:
        return self.catalog.counts(project_id)

    def with_status(self, status: str, project_id: str | None = None) -> list[ItemRecord]:
        return self.catalog.with_status(status, project_id)

    def record_state(self, item_id: str) -> RecordState:
        return self.catalog.record_state(item_id)

    @property
    def pending_count(self) -> int:
        return self.catalog.pending_count

    def flush_pending(self) -> bool:
        return self.catalog.flush_pending()

    def register(self, rec: ItemRecord) -> SaveOutcome:
        """Record an item without saving bytes (urlOnly / expired, or a change of its record):
        the database, else the journal, else memory only."""
        return SaveOutcome(rec, refused=self.catalog.persist(rec))

    # blob files -------------------------------------------------------------------------
    def blob_path(self, sha: str) -> Path:
        return self.blobs.path_for(sha)

    def blob_path_str(self, sha: str) -> str:
        """``blob_path`` as a string, built without pathlib (listing cost)."""
        return f"{self._blob_root}/{sha[:2]}/{sha}"

    def download_path(self) -> Path:
        """A new file name in the store's temp dir for the downloader to create."""
        return self.blobs.temp_path("dl")

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
                             mime_type=decide(rec.mime_type, source.head()))
            chunks = source.chunks
            landed = source.landed
            tmp = landed.take() if landed is not None and landed.size == source.size else None
            return self._commit(rec, tmp, lambda: iter(chunks), lambda: self.holding.hold(
                source.sha256, source.size, chunks, rec.id), new=new)
        if isinstance(source, LocalFile):
            return self._save_file(rec, source, new=new, expected_sha256=expected_sha256)
        return self._save_download(rec, source, new=new)

    def _save_file(self, rec: ItemRecord, source: LocalFile, *, new: bool,
                   expected_sha256: str | None) -> SaveOutcome:
        rec = rec.evolve(mime_type=decide(rec.mime_type, source.head()))

        def hold() -> Held:
            assert rec.sha256 is not None
            return self.holding.hold(rec.sha256, source.size, source.chunks(), rec.id,
                                     verify=True)

        try:
            tmp, sha, size = self.blobs.copy_hashing(source.fd, source.size, source.cancel)
        except StorageError as err:
            sha, size = hash_fd(source.fd, source.size, source.cancel)
            if expected_sha256 and expected_sha256 != sha:
                raise ShaMismatch(sha) from err
            rec = rec.evolve(sha256=sha, size=size)
            return self._failed(rec, err, hold, new=new)
        if expected_sha256 and expected_sha256 != sha:
            _unlink(tmp)
            raise ShaMismatch(sha)
        rec = rec.evolve(sha256=sha, size=size)
        return self._commit(rec, tmp, None, hold, new=new)

    def _save_download(self, rec: ItemRecord, source: Downloaded, *, new: bool) -> SaveOutcome:
        path = source.path
        rec = rec.evolve(sha256=source.sha256, size=source.size,
                         mime_type=decide(rec.mime_type, file_head(path)))

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
        """Save an unsaved item again from the bytes the store holds (or finds as a blob);
        when there are none (or the held copy is unusable) the item's bytes are lost."""
        sha = rec.sha256
        held = self.holding.get(sha)
        if sha is not None and (held is not None or self.blobs.exists(sha)):
            verify = held is not None and held.data is None  # a spilled copy is checked
            if rec.mime_type is None:  # recorded before types were sniffed: type it now
                rec = rec.evolve(mime_type=decide(None, self._head_of(held, sha)))
            try:
                return self._commit(rec, None, held.chunks if held is not None else None,
                                    None, new=False, retry=True, verify=verify)
            except SourceReadError as exc:
                log.error("item %s: its held copy is unusable (%s)", rec.id, exc)
                self.holding.release(sha, rec.id)
        lost = bytes_lost(rec)
        return SaveOutcome(lost, refused=self.catalog.persist(lost), bytes_lost=True)

    def _head_of(self, held: Held | None, sha: str) -> bytes:
        if held is not None and (data := held.data) is not None:
            return data[:HEAD_BYTES]
        if held is not None and held.path is not None:
            return file_head(held.path)
        return file_head(self.blobs.path_for(sha))

    def _commit(self, rec: ItemRecord, tmp: Path | None,
                chunks: Callable[[], Iterable[Chunk]] | None,
                hold: Callable[[], Held] | None, *, new: bool, retry: bool = False,
                verify: bool = False) -> SaveOutcome:
        sha = rec.sha256
        assert sha is not None
        saved = rec.evolve(status=ItemStatus.SAVED, storage_error=None)
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
        self.catalog.resolved(rec.id)
        self.holding.release(sha, rec.id)
        return SaveOutcome(saved)

    def _failed(self, rec: ItemRecord, err: StorageError, hold: Callable[[], Held] | None,
                *, new: bool, retry: bool = False, blob_ready: bool = False) -> SaveOutcome:
        """The failure rules: what is kept of an item whose save failed with ``err``."""
        log.warning("item %s: save failed: %s", rec.id, err.message)
        if new and self.config.rollback_on_failure:
            raise NotKept(err)
        if retry or blob_ready:
            return self._kept(rec, ItemStatus.UNSAVED, err)
        if rec.source_url and (err.blocked or hold is None):
            self.holding.release(rec.sha256, rec.id)
            return self._kept(rec, ItemStatus.URL_ONLY, err)
        if hold is None:
            raise NotKept(err)
        try:
            hold()
        except (StorageError, SourceReadError) as herr:
            log.error("item %s: its bytes cannot be held either: %s", rec.id, herr)
            if rec.source_url:
                return self._kept(rec, ItemStatus.URL_ONLY, err)
            raise NotKept(err) from herr
        return self._kept(rec, ItemStatus.UNSAVED, err)

    def _kept(self, rec: ItemRecord, status: ItemStatus, err: StorageError) -> SaveOutcome:
        out = rec.evolve(status=status, storage_error=err.info())
        return SaveOutcome(out, err, self.catalog.persist(out))

    def retryable(self, rec: ItemRecord) -> bool:
        """Whether a retry of this unsaved item has bytes to work with."""
        return rec.sha256 is not None and (self.holding.get(rec.sha256) is not None
                                           or self.blobs.exists(rec.sha256))

    # removing ---------------------------------------------------------------------------
    def remove(self, rec: ItemRecord) -> tuple[bool, bool]:
        """Remove an item; its blob goes unless another item shares it.
        Returns (removed, blob_deleted). Raises StorageError if the database refuses."""
        sha = rec.sha256
        with self._sha_locks.hold(sha or f"id:{rec.id}"):
            self.catalog.forget(rec.id)
            self.holding.release(sha, rec.id)
            blob_deleted = False
            if sha is not None:
                blob_deleted = self._drop_blob_if_unused(sha, rec.id)
        return True, blob_deleted

    def _drop_blob_if_unused(self, sha: str, item_id: str) -> bool:
        # Called with the sha lock held.
        try:
            if (self.db.sha_refs(sha, exclude_id=item_id)
                    or sha in self.catalog.pending_shas(exclude_id=item_id)):
                return False
            return self.blobs.delete(sha)
        except StorageError as exc:
            log.warning("blob %s left for the next start-up collection: %s", sha[:12], exc)
            return False

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


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


__all__ = ["Downloaded", "Inline", "LocalFile", "MediaStore", "NotKept", "Page", "SaveOutcome",
           "ShaMismatch", "Source", "spill_namespace"]
