"""Saving unsaved items again from the bytes the store holds: one item (retrySaveItem and
the batch), or all of a project's (retryAllUnsaved, the background retrier)."""

from __future__ import annotations

from protocol.media import RetryAllUnsavedResult
from protocol.vocabulary import ItemStatus
from sidecar.service.batch import FAILED, REMOVED, tally
from sidecar.service.workers import StoreWorkers


async def retry_one(workers: StoreWorkers, item_id: str) -> str:
    """Retry one item if it is still unsaved; its status afterwards (REMOVED if gone)."""
    async with workers.locks.hold(item_id):
        rec = await workers.run(workers.store.get, item_id)
        if rec is None:
            return REMOVED
        if rec.status != ItemStatus.UNSAVED:
            return rec.status
        outcome = await workers.run(workers.store.retry, rec)
        await workers.report(outcome, added=False)
    return outcome.record.status


async def retry_all(workers: StoreWorkers, project_id: str | None) -> RetryAllUnsavedResult:
    """Retry every unsaved item (of ``project_id``), a few at a time; count how they ended."""
    recs = await workers.run(workers.store.with_status, ItemStatus.UNSAVED, project_id)
    counts = await tally([r.id for r in recs], lambda i: retry_one(workers, i),
                         workers.settings.store.retry_concurrency, "retry")
    return RetryAllUnsavedResult(
        attempted=len(recs), saved=counts[ItemStatus.SAVED],
        unsaved=counts[ItemStatus.UNSAVED], url_only=counts[ItemStatus.URL_ONLY],
        expired=counts[ItemStatus.EXPIRED], failed=counts[FAILED] + counts[REMOVED],
        item_ids=[r.id for r in recs])
