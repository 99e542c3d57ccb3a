"""Start-up recovery: make the records and the files agree again after a crash.

In order: the journal is replayed into the database; a saved item whose blob file is missing
is marked (urlOnly when its URL can bring the bytes back, else unsaved); blob files no record
names are removed; spilled held copies that unsaved items need are adopted (the others
deleted); an unsaved item whose bytes are neither held nor a blob has lost them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from protocol.vocabulary import ErrorType, ItemStatus
from sidecar.store.blobs import BlobStore
from sidecar.store.catalog import Catalog
from sidecar.store.classify import StorageError
from sidecar.store.holding import Holding
from sidecar.store.records import bytes_lost

log = logging.getLogger("sidecar.store")


@dataclass
class RecoveryReport:
    temps_removed: int = 0
    journal_applied: int = 0
    missing_blobs: list[str] = field(default_factory=list)
    orphans_removed: int = 0
    held_found: int = 0
    held_lost: list[str] = field(default_factory=list)


def recover(blobs: BlobStore, catalog: Catalog, holding: Holding, *, temps_removed: int
            ) -> RecoveryReport:
    """Run start-up recovery (``temps_removed``: the temp files already swept). Raises
    OSError when the blob tree cannot be read."""
    report = RecoveryReport(temps_removed=temps_removed)
    report.journal_applied = catalog.replay_journal()
    present = blobs.scan()
    db = catalog.db
    for item_id, sha in db.saved_refs():
        if sha in present:
            continue
        rec = db.get(item_id)
        if rec is None:
            continue
        report.missing_blobs.append(item_id)
        log.error("item %s: its blob %s is missing; marking it", item_id, sha[:12])
        err = StorageError("the saved blob file is missing from the store", op="recover",
                           errno_name="ENOENT", blocked=False,
                           error_type=ErrorType.STORAGE_IO_ERROR)
        status = ItemStatus.URL_ONLY if rec.source_url else ItemStatus.UNSAVED
        catalog.persist(rec.evolve(status=status, storage_error=err.info()))
    for sha in present - (db.referenced_shas() | catalog.pending_shas()):
        try:
            blobs.delete(sha)
            report.orphans_removed += 1
        except StorageError as exc:
            log.warning("cannot collect orphan blob %s: %s", sha[:12], exc)
    unsaved = catalog.with_status(ItemStatus.UNSAVED)
    wanted: dict[str, set[str]] = {}
    for rec in unsaved:
        if rec.sha256:
            wanted.setdefault(rec.sha256, set()).add(rec.id)
    found = holding.adopt_spilled(wanted)
    report.held_found = len(found)
    for rec in unsaved:
        if (rec.sha256 in found) or (rec.sha256 and rec.sha256 in present):
            continue
        if rec.id in report.missing_blobs:  # already marked, with the better reason
            continue
        report.held_lost.append(rec.id)
        catalog.persist(bytes_lost(rec))
    if report.temps_removed or report.missing_blobs or report.orphans_removed:
        log.warning("recovery: %s", report)
    return report
