"""The item records as the store reads and writes them: the database, plus the records it
could not take yet.

A record the database refuses (the data dir is full or read-only) is appended to the journal
(or, when that fails too, kept in memory only) and stays *pending* until a later write or
``flush_pending`` puts it in the database. Every read goes through here, and one place
(``_merged``) lays the pending records over the database's rows and counts, so a pending
record is listed, counted and found exactly like a stored one.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from protocol.vocabulary import RecordState, SortOrder
from sidecar.store.classify import StorageError
from sidecar.store.db import MetadataDB
from sidecar.store.journal import Journal
from sidecar.store.query import ListQuery
from sidecar.store.records import BLOB_HOLDERS, STATUSES, ItemRecord, next_rev

log = logging.getLogger("sidecar.store")


@dataclass(frozen=True)
class Page:
    records: list[ItemRecord]
    next_cursor: str | None
    counts: dict[str, int]


class Catalog:
    def __init__(self, db: MetadataDB, journal: Journal) -> None:
        self.db = db
        self.journal = journal
        self._lock = threading.Lock()
        self._pending: dict[str, ItemRecord] = {}  # records the database does not have yet

    # reads ----------------------------------------------------------------------------
    def get(self, item_id: str) -> ItemRecord | None:
        with self._lock:
            pending = self._pending.get(item_id)
        return pending if pending is not None else self.db.get(item_id)

    def page(self, query: ListQuery) -> Page:
        pending = self._pending_in(query.project_id)
        rows, counts = self.db.page(query, query.limit + 1 + len(pending))
        rows, counts = self._merged(rows, counts, pending, query)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        cursor = query.cursor_after(rows[-1]) if more and rows else None
        return Page(rows, cursor, counts)

    def counts(self, project_id: str | None = None) -> dict[str, int]:
        return self._merged([], self.db.counts(project_id), self._pending_in(project_id))[1]

    def with_status(self, status: str, project_id: str | None = None) -> list[ItemRecord]:
        with self._lock:
            pending = dict(self._pending)
        rows = [r for r in self.db.with_status(status, project_id) if r.id not in pending]
        rows.extend(r for r in pending.values() if r.status == status
                    and (project_id is None or r.project_id == project_id))
        return rows

    def _pending_in(self, project_id: str | None) -> list[ItemRecord]:
        with self._lock:
            return [r for r in self._pending.values()
                    if project_id is None or r.project_id == project_id]

    def _merged(self, rows: list[ItemRecord], counts: dict[str, int],
                pending: list[ItemRecord], query: ListQuery | None = None
                ) -> tuple[list[ItemRecord], dict[str, int]]:
        """The database's ``rows`` and ``counts`` with the ``pending`` records laid over
        them: a pending record replaces its row (and ``query``'s rows gain those it
        matches), and counts under its status instead of its row's."""
        if pending:
            counts = dict(counts)
            by_id = {r.id: r for r in pending}
            if query is not None:
                rows = [r for r in rows if r.id not in by_id]
                rows.extend(r for r in pending if query.matches(r))
                rows.sort(key=query.key_of, reverse=query.order == SortOrder.DESC)
            for rec in pending:
                stored = self.db.get(rec.id)
                if stored is not None:
                    counts[stored.status] = counts.get(stored.status, 0) - 1
                counts[rec.status] = counts.get(rec.status, 0) + 1
        return rows, {s: counts.get(s, 0) for s in STATUSES}

    def pending_shas(self, *, exclude_id: str | None = None) -> set[str]:
        """The blobs named by pending records that hold on to theirs."""
        with self._lock:
            return {r.sha256 for r in self._pending.values()
                    if r.sha256 and r.id != exclude_id and r.status in BLOB_HOLDERS}

    @property
    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    def record_state(self, item_id: str) -> RecordState:
        """Where the item's latest record is: stored (database), journalled, or memory."""
        if item_id not in self._pending:  # a dict lookup: atomic, no lock needed
            return RecordState.STORED
        return RecordState.JOURNALLED if item_id in self.journal.ids else RecordState.MEMORY

    # writes ---------------------------------------------------------------------------
    def persist(self, rec: ItemRecord) -> StorageError | None:
        """Write a record: the database, else the journal, else memory only. Never raises;
        returns the database's refusal (None when the record reached the database)."""
        try:
            self.db.upsert(rec)
        except StorageError as err:
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
            return err
        self.resolved(rec.id)
        return None

    def resolved(self, item_id: str) -> None:
        """The database has ``item_id``'s latest record: forget the pending copy (and the
        journal, once nothing is pending)."""
        with self._lock:
            self._pending.pop(item_id, None)
            empty = not self._pending
        if empty and self.journal.ids:
            self.journal.clear()

    def forget(self, item_id: str) -> None:
        """Remove the item's record wherever it is. Raises StorageError if the database
        refuses; a journal that cannot record the removal is logged (the record is gone
        from this process, a replay at the next start may bring it back)."""
        if self.db.get(item_id) is not None:
            self.db.delete(item_id)
        with self._lock:
            self._pending.pop(item_id, None)
        if item_id in self.journal.ids:
            try:
                self.journal.append({"op": "del", "id": item_id, "rev": next_rev()})
            except StorageError as exc:
                log.error("item %s: removed, but the journal could not record it (%s)",
                          item_id, exc)

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
        except StorageError:
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

    def replay_journal(self) -> int:
        """At start: apply the journal's records that are newer than the database's rows and
        empty it. When the database refuses them they stay pending (listed from memory)."""
        entries = self.journal.load()
        if not entries:
            return 0
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
            applied = self.db.upsert_if_newer(live)
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
            return 0
        self.journal.clear()
        return applied
