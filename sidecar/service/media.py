"""The media service: the media-store methods of the protocol, served from the store.

``MediaService.open`` opens the store under ``settings.data_dir`` (running start-up recovery)
and starts the background retrier; ``register`` adds the handlers; ``close`` stops the
retrier and downloads, waits for store work in flight and closes the database. Handlers take
a per-item lock, run blocking store calls in the pool, and emit the events of each outcome.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid

from protocol.downloads import (
    CancelDownloadParams,
    CancelDownloadResult,
    DownloadAllUrlOnlyParams,
    DownloadAllUrlOnlyResult,
    DownloadUrlOnlyItemParams,
    DownloadUrlOnlyItemResult,
    ListDownloadsParams,
    ListDownloadsResult,
)
from protocol.events import ItemRemoved
from protocol.media import (
    AddMediaItemParams,
    AddMediaItemResult,
    FaultParams,
    FaultResult,
    GetMediaItemParams,
    GetMediaItemResult,
    ListMediaItemsParams,
    RemoveMediaItemParams,
    RemoveMediaItemResult,
    RetryAllUnsavedParams,
    RetryAllUnsavedResult,
    RetrySaveItemParams,
    RetrySaveItemResult,
    StorageStatusParams,
    StorageStatusResult,
)
from protocol.vocabulary import ItemStatus, RecordState
from sidecar.errors import Conflict, InvalidParams
from sidecar.events import EventBus
from sidecar.rpc.dispatch import CallContext, Handlers, Prebuilt
from sidecar.service.convert import counts_model, error_model
from sidecar.service.downloads import Downloads, Fetcher
from sidecar.service.inputs import AddPlan, check_text, plan_add
from sidecar.service.landing import Landings, landed
from sidecar.service.listing import PagePacker
from sidecar.service.paths import Opened, open_import
from sidecar.service.playback import Playback
from sidecar.service.retrier import Backlog, Retrier
from sidecar.service.retries import retry_all, retry_one
from sidecar.service.workers import StoreWorkers, storage_error
from sidecar.settings import Settings
from sidecar.store.classify import StorageError
from sidecar.store.osio import Faults
from sidecar.store.query import BadCursor, ListQuery
from sidecar.store.records import BYTES_STATE, ItemRecord, next_rev, now_ms
from sidecar.store.sources import Inline, LocalFile, SourceReadError, hash_fd
from sidecar.store.store import MediaStore, SaveOutcome, ShaMismatch

log = logging.getLogger("sidecar.service.media")


def nothing_to_retry(rec: ItemRecord) -> Conflict:
    """retrySaveItem on an item that holds no bytes to save: typed, with its state."""
    why = ("its held bytes are gone; add its bytes again" if rec.status == ItemStatus.LOST
           else f"it is {rec.status}, not unsaved")
    return Conflict(f"item {rec.id!r} has nothing to retry: {why}", field="params.id",
                    data={"itemId": rec.id, "status": rec.status,
                          "bytesState": BYTES_STATE[rec.status]})


class MediaService:
    def __init__(self, workers: StoreWorkers, fetcher: Fetcher | None) -> None:
        self.workers = workers
        self.store = store = workers.store
        self.fetcher = fetcher
        self.downloads = Downloads(workers, fetcher)
        cfg = workers.settings

        def unsaved_retryable() -> list[ItemRecord]:
            return [r for r in store.with_status(ItemStatus.UNSAVED) if store.retryable(r)]

        backlogs = [Backlog("retry", unsaved_retryable, lambda i: retry_one(workers, i),
                            cfg.store.retry_concurrency)]
        if fetcher is not None:
            backlogs.append(Backlog("download", self.downloads.storage_failed,
                                    self.downloads.download_status, cfg.fetch.concurrency))
        self.retrier = Retrier(workers, backlogs)
        self.playback = Playback(workers)
        self.pages = PagePacker(store.blob_path_str, store.record_state)
        # the server's ``landing`` (sidecar.app injects it)
        self.land = Landings(store.blobs, cfg.store.io_threads)

    # life cycle -------------------------------------------------------------------------
    @classmethod
    async def open(cls, settings: Settings, bus: EventBus, fetcher: Fetcher | None,
                   *, faults: Faults | None = None) -> MediaService:
        """Open (or create) the store under ``settings.data_dir``, run start-up recovery and
        start the background retrier. Raises storage_blocked/storage_failed when the data
        dir cannot be used at all."""
        try:
            store = await asyncio.to_thread(MediaStore.open, settings.data_dir, settings.store,
                                            faults)
        except StorageError as exc:
            raise storage_error(exc) from exc
        service = cls(StoreWorkers(settings, store, bus), fetcher)
        if settings.store.auto_retry:
            service.retrier.start()
        await service.downloads.resume_recorded()
        return service

    def pause_downloads(self) -> None:
        """The sidecar is stopping: pause every download now (resumed at the next start)."""
        self.downloads.pause_all()

    async def close(self) -> None:
        """Stop the retrier and downloads, wait for store work in flight, close the store."""
        await self.retrier.stop()
        await self.downloads.close()
        pool = self.workers.pool
        await asyncio.to_thread(pool.shutdown, True)
        await asyncio.to_thread(self.land.close)
        await asyncio.to_thread(self.store.close)

    @property
    def faults(self) -> Faults:
        """The store's OS-seam fault switchboard (tests, and the testFault method)."""
        return self.store.faults

    def register(self, handlers: Handlers) -> None:
        handlers.add("addMediaItem", self.add_media_item)
        handlers.add("getMediaItem", self.get_media_item)
        handlers.add("removeMediaItem", self.remove_media_item)
        handlers.add("listMediaItems", self.list_media_items)
        handlers.add("retrySaveItem", self.retry_save_item)
        handlers.add("retryAllUnsaved", self.retry_all_unsaved)
        handlers.add("storageStatus", self.storage_status)
        self.playback.register(handlers)
        handlers.add("downloadUrlOnlyItem", self.download_url_only_item)
        handlers.add("downloadAllUrlOnly", self.download_all_url_only)
        handlers.add("cancelDownload", self.cancel_download)
        handlers.add("listDownloads", self.list_downloads)
        handlers.add("testFault", self.test_fault)

    # addMediaItem -----------------------------------------------------------------------
    async def add_media_item(self, ctx: CallContext, p: AddMediaItemParams
                             ) -> AddMediaItemResult:
        workers = self.workers
        plan = plan_add(ctx, p, max_metadata_bytes=workers.settings.store.max_metadata_bytes,
                        fetcher=self.fetcher)
        item_id = p.id or str(uuid.uuid4())
        base = self._new_record(item_id, p, plan)
        if plan.kind == "download":
            return await self.downloads.add(ctx, base, p.expected_sha256, self._match)
        async with workers.locks.hold(item_id):
            opened: Opened | None = None
            try:
                if plan.kind == "path":
                    assert p.source_path is not None
                    cfg = workers.settings.store
                    opened = await workers.run(open_import, p.source_path, cfg.import_roots,
                                               max_bytes=cfg.import_max_bytes,
                                               allow_hardlinks=cfg.import_hardlinks)
                existing = await workers.run(self.store.get, item_id)
                if existing is not None:
                    return await self._readd(existing, plan, ctx, opened, p)
                if plan.kind == "urlOnly":
                    rec = base.evolve(status=ItemStatus.URL_ONLY)
                    registered = await workers.run(self.store.register, rec)
                    item = await workers.report(registered, added=True)
                    return AddMediaItemResult(item=item, created=True, durable=False,
                                              recorded=registered.persisted)
                outcome = await self._save(base, plan, ctx, opened, p.expected_sha256, new=True)
            finally:
                if opened is not None:
                    os.close(opened.fd)
            item = await workers.report(outcome, added=True)
            return AddMediaItemResult(item=item, created=True,
                                      durable=outcome.record.status == ItemStatus.SAVED,
                                      recorded=outcome.persisted)

    def _new_record(self, item_id: str, p: AddMediaItemParams, plan: AddPlan) -> ItemRecord:
        t = now_ms()
        return ItemRecord.create(
            id=item_id, project_id=p.project_id, name=p.name, type=p.type, status=ItemStatus.SAVED,
            created_at=t, updated_at=t, rev=next_rev(), mime_type=p.mime_type,
            size=plan.inline_size if plan.kind == "inline" else None,
            sha256=plan.inline_sha256, width=p.width, height=p.height, duration=p.duration,
            fps=p.fps, source_url=p.source_url, folder_ids=tuple(p.folder_ids),
            metadata=plan.metadata)

    async def _save(self, rec: ItemRecord, plan: AddPlan, ctx: CallContext,
                    opened: Opened | None, expected: str | None, *, new: bool
                    ) -> SaveOutcome:
        if plan.kind == "inline":
            assert plan.inline_sha256 is not None
            source: Inline | LocalFile = Inline(ctx.payloads, plan.inline_sha256,
                                                plan.inline_size, await landed(ctx))
        else:
            assert opened is not None
            source = LocalFile(opened.fd, opened.path, opened.size, opened.cancel)
        try:
            return await self.workers.run(self.store.save, rec, source, new=new,
                                          expected_sha256=expected,
                                          interrupt=opened.cancel if opened else None)
        except ShaMismatch as exc:
            raise InvalidParams(f"the bytes hash to {exc.actual}, not expectedSha256",
                                field="params.expectedSha256") from exc
        except SourceReadError as exc:
            raise InvalidParams(str(exc), field="params.sourcePath") from exc

    @staticmethod
    def _match(existing: ItemRecord, project_id: str, sha: str | None,
               source_url: str | None) -> None:
        """Raise conflict unless an add with this content may reuse ``existing``'s id."""
        if existing.project_id != project_id:
            raise Conflict("this id is already used", field="params.id")
        if sha is not None and existing.sha256 is not None:
            same = sha == existing.sha256
        else:
            same = source_url is not None and source_url == existing.source_url
        if not same:
            raise Conflict("an item with this id exists with different content",
                           field="params.id")

    async def _readd(self, existing: ItemRecord, plan: AddPlan, ctx: CallContext,
                     opened: Opened | None, p: AddMediaItemParams
                     ) -> AddMediaItemResult:
        """A repeated add of an existing id: idempotent when the content is the same. If the
        item is not saved and this add brings its bytes, they are saved now."""
        sha = plan.inline_sha256
        if plan.kind == "path":
            assert opened is not None
            try:
                sha, _ = await self.workers.run(hash_fd, opened.fd, opened.size, opened.cancel,
                                                interrupt=opened.cancel)
            except SourceReadError as exc:
                raise InvalidParams(str(exc), field="params.sourcePath") from exc
        self._match(existing, p.project_id, sha, p.source_url)
        if plan.kind in ("inline", "path") and existing.status != ItemStatus.SAVED:
            outcome = await self._save(existing, plan, ctx, opened, p.expected_sha256,
                                       new=False)
            item = await self.workers.report(outcome, added=False)
            return AddMediaItemResult(item=item, created=False,
                                      durable=outcome.record.status == ItemStatus.SAVED,
                                      recorded=outcome.persisted)
        stored = self.store.record_state(existing.id) == RecordState.STORED
        return AddMediaItemResult(item=self.workers.item(existing), created=False,
                                  durable=existing.status == ItemStatus.SAVED, recorded=stored)

    # get / remove / list ------------------------------------------------------------------
    async def get_media_item(self, ctx: CallContext, p: GetMediaItemParams
                             ) -> GetMediaItemResult:
        rec = await self.workers.owned(p.id, p.project_id)
        return GetMediaItemResult(item=self.workers.item(rec))

    async def remove_media_item(self, ctx: CallContext, p: RemoveMediaItemParams
                                ) -> RemoveMediaItemResult:
        workers = self.workers
        async with workers.locks.hold(p.id):
            # The project check comes before any side effect: another project's id answers
            # not_found and its download keeps running.
            rec = await workers.owned(p.id, p.project_id)
            self.downloads.cancel_running(rec.id, rec.project_id)
            removed, blob_deleted = await workers.run(self.store.remove, rec)
        workers.emit(ItemRemoved(id=rec.id, project_id=rec.project_id,
                                 counts=await workers.counts(rec.project_id)))
        return RemoveMediaItemResult(id=rec.id, removed=removed, blob_deleted=blob_deleted)

    async def list_media_items(self, ctx: CallContext, p: ListMediaItemsParams
                               ) -> Prebuilt:
        if p.folder_id is not None:
            check_text(p.folder_id, "params.folderId")
        query = ListQuery(p.project_id, p.type, tuple(p.status) if p.status is not None else None,
                          p.folder_id, p.text or None, p.sort, p.order, p.limit)
        try:
            query = query.with_cursor(p.cursor)
        except BadCursor as exc:
            raise InvalidParams(str(exc), field="params.cursor") from exc
        return await self.workers.run(self._list_page, query)

    def _list_page(self, query: ListQuery) -> Prebuilt:
        """One page as a ListMediaItemsResult, packed to msgpack in the worker thread."""
        page = self.store.page(query)
        return Prebuilt(self.pages.page(page.records, page.next_cursor, page.counts))

    # retry ------------------------------------------------------------------------------
    async def retry_save_item(self, ctx: CallContext, p: RetrySaveItemParams
                              ) -> RetrySaveItemResult:
        async with self.workers.locks.hold(p.id):
            rec = await self.workers.owned(p.id, p.project_id)
            if rec.status != ItemStatus.UNSAVED:
                raise nothing_to_retry(rec)
            outcome = await self.workers.run(self.store.retry, rec)
            item = await self.workers.report(outcome, added=False)
        if outcome.bytes_lost:
            raise nothing_to_retry(outcome.record)
        return RetrySaveItemResult(item=item, durable=outcome.record.status == ItemStatus.SAVED)

    async def retry_all_unsaved(self, ctx: CallContext, p: RetryAllUnsavedParams
                                ) -> RetryAllUnsavedResult:
        await self.workers.run(self.store.flush_pending)
        return await retry_all(self.workers, p.project_id)

    # status -----------------------------------------------------------------------------
    async def storage_status(self, ctx: CallContext, p: StorageStatusParams
                             ) -> StorageStatusResult:
        workers, store = self.workers, self.store
        err = await workers.run(store.probe)
        if err is None:
            workers.health.ok()
        else:
            workers.health.failed(err)
            workers.kick_retry()
        free, total = await workers.run(store.disk_usage)
        counts = await workers.run(store.counts, None)
        return StorageStatusResult(
            data_dir=str(store.data_dir), writable=err is None, blocked=workers.health.blocked,
            free_bytes=free, total_bytes=total, held_bytes=store.holding.bytes_held,
            held_items=store.holding.items_held,
            last_error=error_model(workers.health.last_error), counts=counts_model(counts),
            rollback_on_failure=workers.settings.store.rollback_on_failure)

    # downloads ----------------------------------------------------------------------------
    async def download_url_only_item(self, ctx: CallContext, p: DownloadUrlOnlyItemParams
                                     ) -> DownloadUrlOnlyItemResult:
        outcome = await self.downloads.download_item(p.id, p.project_id, ctx)
        return DownloadUrlOnlyItemResult(item=self.workers.item(outcome.record),
                                         durable=outcome.record.status == ItemStatus.SAVED)

    async def download_all_url_only(self, ctx: CallContext, p: DownloadAllUrlOnlyParams
                                    ) -> DownloadAllUrlOnlyResult:
        return await self.downloads.download_all(p.project_id, ctx=ctx)

    async def cancel_download(self, ctx: CallContext, p: CancelDownloadParams
                              ) -> CancelDownloadResult:
        if not self.downloads.running_in(p.id, p.project_id):
            await self.workers.owned(p.id, p.project_id)  # not_found, or nothing to cancel
        return CancelDownloadResult(id=p.id,
                                    cancelled=self.downloads.cancel_running(p.id, p.project_id))

    async def list_downloads(self, ctx: CallContext, p: ListDownloadsParams
                             ) -> ListDownloadsResult:
        return ListDownloadsResult(downloads=self.downloads.in_progress(p.project_id))

    # test hooks ---------------------------------------------------------------------------
    async def test_fault(self, ctx: CallContext, p: FaultParams) -> FaultResult:
        """Served only with test hooks enabled (``Handlers.add`` leaves test-only methods
        out otherwise)."""
        if p.op == "clear":
            self.faults.clear()
        else:
            self.faults.arm(p.op, p.errno, p.count)
        return FaultResult(active=self.faults.active())
