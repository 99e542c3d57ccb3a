"""Downloads of items' source URLs into the store (addMediaItem with ``download: true``,
downloadUrlOnlyItem, downloadAllUrlOnly, cancelDownload).

The downloader streams into a new file in the store's temp dir, which is then fsynced and
renamed into the blob tree (no copy). The item stays ``urlOnly`` while it downloads; the
item lock is held only for state changes, never across the network. Outcomes:

* saved → ``saved`` (+ itemSaved);
* the URL answers gone → ``expired`` (+ itemExpired), the reply is ``url_expired``;
* the download fails (timeouts, 5xx after retries, size cap) → stays ``urlOnly`` with the
  error recorded, the reply is that error;
* writing the file failed (disk full, read-only) → stays ``urlOnly`` (+ itemUrlOnly); a
  failure after the download completed follows the store's rules (urlOnly or unsaved).

Downloads are durable work: a download of a listed item is recorded under
``<data>/downloads/`` (``sidecar.store.partials``) with its partial file. When the sidecar
stops mid-download (SIGKILL, power loss, ``shutdown``, SIGTERM) the record and the bytes stay;
the next start resumes every recorded download whose item is still urlOnly, from the partial
file (Range). An orderly stop pauses downloads at once (final progress ``paused``, the call
answers ``cancelled`` with ``data.resumable``) instead of waiting for them.

Progress events are throttled to about four a second per download, plus a final one on every
ending the sidecar sees.

``addMediaItem`` with ``download: true`` registers the item before downloading it; when the
download then fails, the error's ``data`` says ``itemId`` and the item's ``status`` (and
``created``), so a client that let the sidecar choose the id retries with that id instead of
adding a duplicate.

Capacity: a request waiting for its download (queued behind the downloader's per-host and
global slots, or transferring) gives its server request slot back (``ctx.idle``), so slow
downloads never starve other requests; instead each client may have at most
``fetch.queue_per_client`` download requests waiting at once (more answer ``busy``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from protocol.downloads import DownloadAllUrlOnlyResult, DownloadInfo
from protocol.events import DownloadProgress, ItemExpired, ItemUrlOnly
from protocol.media import AddMediaItemResult
from protocol.vocabulary import DownloadOutcome, ErrorType, ItemStatus, RecordState
from sidecar.errors import (
    Busy,
    Cancelled,
    Conflict,
    DownloadFailed,
    HostNotAllowed,
    PayloadTooLarge,
    SidecarError,
    UrlExpired,
)
from sidecar.fetch.api import Fetched, ProgressFn, Resume, SinkWriteError
from sidecar.rpc.dispatch import CallContext
from sidecar.service.batch import FAILED, REMOVED, tally
from sidecar.service.convert import error_model
from sidecar.service.workers import StoreWorkers, storage_error
from sidecar.store.classify import classify
from sidecar.store.partials import PartialRecord, Partials
from sidecar.store.records import ErrorInfo, ItemRecord, now_ms
from sidecar.store.sources import Downloaded
from sidecar.store.store import SaveOutcome


class Fetcher(Protocol):
    """The downloader as the service uses it (``sidecar.fetch.downloader.Downloader``)."""

    async def fetch(self, url: str, dest: Path, *, progress: ProgressFn | None = None,
                    cancel: asyncio.Event | None = None, resume: Resume | None = None
                    ) -> Fetched: ...

    def check_url(self, url: str) -> None: ...

log = logging.getLogger("sidecar.service.downloads")

PROGRESS_INTERVAL = 0.25
Matcher = Callable[[ItemRecord, str, "str | None", "str | None"], None]


class Progress:
    """Throttled DownloadProgress events of one download (thread-safe: emit is)."""

    def __init__(self, workers: StoreWorkers, rec: ItemRecord, resumed_from: int = 0) -> None:
        self.workers = workers
        self.id = rec.id
        self.project_id = rec.project_id
        self.started = time.monotonic()
        self.started_ms = now_ms()
        self.last = 0.0
        self.resumed_from = resumed_from
        self.done = resumed_from
        self.total: int | None = None
        self.ended = False

    def update(self, done: int, total: int | None) -> None:
        self.done, self.total = done, total
        now = time.monotonic()
        if now - self.last >= PROGRESS_INTERVAL:
            self.last = now
            self._emit(final=False, outcome=None)

    def final(self, outcome: DownloadOutcome) -> None:
        if not self.ended:  # exactly one final event per download
            self.ended = True
            self._emit(final=True, outcome=outcome)

    def _emit(self, *, final: bool, outcome: DownloadOutcome | None) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.workers.emit(DownloadProgress(
            id=self.id, project_id=self.project_id, bytes_done=self.done,
            total_bytes=self.total, rate_bps=(self.done - self.resumed_from) / elapsed,
            final=final, outcome=outcome))


@dataclass
class _Running:
    task: asyncio.Task[SaveOutcome]
    cancel: asyncio.Event
    project_id: str
    progress: Progress


class Downloads:
    def __init__(self, workers: StoreWorkers, fetcher: Fetcher | None) -> None:
        self.workers = workers
        self.store = workers.store
        self.fetcher = fetcher
        self.partials = Partials(self.store.data_dir, self.store.io)
        self._running: dict[str, _Running] = {}
        self._waiting: dict[bytes, int] = {}  # download requests waiting, per client
        self._pausing = False

    def pause_all(self) -> None:
        """The sidecar is stopping: stop every download now, keeping what is resumable."""
        self._pausing = True
        for run in self._running.values():
            run.cancel.set()

    async def close(self) -> None:
        self.pause_all()
        running = list(self._running.values())
        if running:
            await asyncio.wait([r.task for r in running], timeout=10)
        for run in running:
            if not run.task.done():
                run.task.cancel()

    def cancel_running(self, item_id: str, project_id: str | None = None) -> bool:
        run = self._running.get(item_id)
        if run is None or run.task.done():
            return False
        if project_id is not None and run.project_id != project_id:
            return False
        run.cancel.set()
        return True

    def running_in(self, item_id: str, project_id: str | None) -> bool:
        """A download of ``item_id`` (of ``project_id``) is running (registered or not)."""
        run = self._running.get(item_id)
        return (run is not None and not run.task.done()
                and (project_id is None or run.project_id == project_id))

    @contextlib.contextmanager
    def _waiter(self, ctx: CallContext | None) -> Iterator[None]:
        """Count one waiting download request of ``ctx``'s client; ``busy`` past the cap."""
        if ctx is None:
            yield
            return
        client = ctx.client
        cap = self.workers.settings.fetch.queue_per_client
        n = self._waiting.get(client, 0)
        if n >= cap:
            raise Busy(f"this client already has {n} downloads waiting or running "
                       f"(the limit is {cap})")
        self._waiting[client] = n + 1
        try:
            yield
        finally:
            left = self._waiting[client] - 1
            if left:
                self._waiting[client] = left
            else:
                del self._waiting[client]

    def in_progress(self, project_id: str | None) -> list[DownloadInfo]:
        """The downloads running now (of ``project_id``), oldest first."""
        out = []
        for item_id, run in self._running.items():
            if (run.task.done() or run.progress.ended  # its final event went out
                    or (project_id is not None and run.project_id != project_id)):
                continue
            p = run.progress
            out.append(DownloadInfo(id=item_id, project_id=run.project_id,
                                    bytes_done=p.done, total_bytes=p.total,
                                    resumed_from_bytes=p.resumed_from,
                                    started_at=p.started_ms))
        return sorted(out, key=lambda d: d.started_at)

    def _fetcher(self) -> Fetcher:
        if self.fetcher is None:
            raise DownloadFailed("downloads are not available in this server")
        return self.fetcher

    # entry points -------------------------------------------------------------------------
    async def resume_recorded(self) -> int:
        """At start: resume every recorded download whose item still waits for it; forget
        the others. Returns how many were resumed."""
        records = await self.workers.run(self.partials.load_all)
        resumed = 0
        for prec in records:
            rec = await self.workers.run(self.store.get, prec.item_id)
            if (rec is None or rec.status != ItemStatus.URL_ONLY or rec.source_url != prec.url
                    or self.fetcher is None or prec.item_id in self._running):
                if self.fetcher is not None or rec is None or rec.status != ItemStatus.URL_ONLY:
                    await self.workers.run(self.partials.finish, prec.item_id)
                continue
            log.info("resuming the download of %s from %d bytes", rec.id,
                     self.partials.part_size(rec.id))
            self._start(rec, prec.expected_sha256, registered=True, partial=prec)
            resumed += 1
        return resumed

    async def add(self, ctx: CallContext, base: ItemRecord, expected: str | None,
                  match: Matcher) -> AddMediaItemResult:
        """addMediaItem with ``download: true``: register the item urlOnly, then download."""
        self._fetcher()
        with self._waiter(ctx):
            return await self._add(ctx, base, expected, match)

    async def _add(self, ctx: CallContext, base: ItemRecord, expected: str | None,
                   match: Matcher) -> AddMediaItemResult:
        workers = self.workers
        rollback = workers.settings.store.rollback_on_failure
        persisted = True
        async with workers.locks.hold(base.id):
            existing = await workers.run(self.store.get, base.id)
            if existing is not None:
                match(existing, base.project_id, None, base.source_url)
                if existing.status != ItemStatus.URL_ONLY:
                    return AddMediaItemResult(
                        item=workers.item(existing), created=False,
                        durable=existing.status == ItemStatus.SAVED,
                        recorded=self.store.record_state(existing.id) == RecordState.STORED)
                run = self._running.get(base.id)
                task = (run.task if run is not None and not run.task.done()
                        else self._start(existing, expected, registered=True))
                created = False
            elif rollback:
                # The old behaviour: nothing is listed unless the save succeeds.
                task = self._start(base, expected, registered=False)
                created = True
            else:
                rec = base.evolve(status=ItemStatus.URL_ONLY)
                registered = await workers.run(self.store.register, rec)
                await workers.report(registered, added=True)
                persisted = registered.persisted
                task = self._start(rec, expected, registered=True)
                created = True
        try:
            async with ctx.idle():
                outcome = await asyncio.shield(task)
        except SidecarError as exc:
            if not rollback:
                current = await workers.run(self.store.get, base.id)
                exc.data = {**(exc.data or {}), "itemId": base.id, "created": created,
                            "status": current.status if current is not None else REMOVED}
            raise
        return AddMediaItemResult(item=workers.item(outcome.record), created=created,
                                  durable=outcome.record.status == ItemStatus.SAVED,
                                  recorded=outcome.persisted and persisted)

    async def download_item(self, item_id: str, project_id: str | None,
                            ctx: CallContext | None = None) -> SaveOutcome:
        self._fetcher()
        with self._waiter(ctx):
            return await self._download_item(item_id, project_id, ctx)

    async def _download_item(self, item_id: str, project_id: str | None,
                             ctx: CallContext | None) -> SaveOutcome:
        workers = self.workers
        async with workers.locks.hold(item_id):
            rec = await workers.owned(item_id, project_id)
            run = self._running.get(item_id)
            if run is not None and not run.task.done():
                task = run.task
            else:
                if rec.status != ItemStatus.URL_ONLY:
                    raise Conflict(f"item {item_id!r} is {rec.status}, not urlOnly",
                                   field="params.id")
                assert rec.source_url is not None
                self._fetcher().check_url(rec.source_url)
                task = self._start(rec, None, registered=True)
        if ctx is None:
            return await asyncio.shield(task)
        async with ctx.idle():
            return await asyncio.shield(task)

    async def download_all(self, project_id: str | None, *, ctx: CallContext | None = None
                           ) -> DownloadAllUrlOnlyResult:
        """Download every urlOnly item (of a project), a few at a time."""
        recs = await self.workers.run(self.store.with_status, ItemStatus.URL_ONLY, project_id)
        ids = [r.id for r in recs]
        counts: Counter[str] = Counter({FAILED: len(ids)})
        if self.fetcher is not None:
            each = functools.partial(tally, ids, self.download_status,
                                     self.workers.settings.fetch.concurrency, "download")
            if ctx is None:
                counts = await each()
            else:
                with self._waiter(ctx):
                    async with ctx.idle():
                        counts = await each()
        return DownloadAllUrlOnlyResult(
            attempted=len(recs), saved=counts[ItemStatus.SAVED],
            unsaved=counts[ItemStatus.UNSAVED], url_only=counts[ItemStatus.URL_ONLY],
            expired=counts[ItemStatus.EXPIRED], failed=counts[FAILED],
            item_ids=ids)

    async def download_status(self, item_id: str) -> str:
        """Download one urlOnly item; its status afterwards (expired when its URL is gone)."""
        try:
            return (await self.download_item(item_id, None)).record.status
        except UrlExpired:
            return ItemStatus.EXPIRED

    def storage_failed(self) -> list[ItemRecord]:
        """The urlOnly items that storage failure left without their bytes (blocking)."""
        return [r for r in self.store.with_status(ItemStatus.URL_ONLY)
                if r.storage_error is not None and r.storage_error.is_storage]

    # the download itself ------------------------------------------------------------------
    def _start(self, rec: ItemRecord, expected: str | None, *, registered: bool,
               partial: PartialRecord | None = None) -> asyncio.Task[SaveOutcome]:
        cancel = asyncio.Event()
        if self._pausing:
            cancel.set()
        resumed_from = self.partials.part_size(rec.id) if partial is not None else 0
        progress = Progress(self.workers, rec, resumed_from)
        if partial is not None:
            progress.total = partial.total
        task = asyncio.create_task(
            self._download(rec, expected, registered, cancel, progress, partial=partial),
            name=f"download-{rec.id}")
        self._running[rec.id] = _Running(task, cancel, rec.project_id, progress)

        def done(t: asyncio.Task[SaveOutcome]) -> None:
            run = self._running.get(rec.id)
            if run is not None and run.task is t:
                del self._running[rec.id]
            if not t.cancelled():
                t.exception()  # retrieved by the awaiting caller; never "never retrieved"

        task.add_done_callback(done)
        return task

    async def _download(self, rec: ItemRecord, expected: str | None, registered: bool,
                        cancel: asyncio.Event, progress: Progress, *,
                        partial: PartialRecord | None) -> SaveOutcome:
        """One download from start (or resume) to its end. Only a listed (registered) item's
        download is recorded for a resume; its files go when it ends, unless it is paused."""
        workers = self.workers
        assert rec.source_url is not None
        keep = False
        resume: Resume | None = None
        if registered:
            dest = self.partials.part_path(rec.id)
            if partial is None:
                partial = PartialRecord(rec.id, rec.project_id, rec.source_url, now_ms(),
                                        expected)
                await workers.run(self.partials.finish, rec.id)  # no stale bytes of another run
            await workers.run(self.partials.save, partial)
            resume = self._resume(partial)
        else:
            dest = self.store.download_path()
        try:
            try:
                fetched = await self._fetcher().fetch(
                    rec.source_url, dest, progress=progress.update, cancel=cancel,
                    resume=resume)
            except UrlExpired as exc:
                if registered:
                    await self._mark(rec.id, ItemStatus.EXPIRED, exc.message,
                                     ErrorType.URL_EXPIRED)
                progress.final(DownloadOutcome.EXPIRED)
                raise
            except Cancelled as exc:
                if registered and self._pausing and partial is not None:
                    keep = True
                    progress.final(DownloadOutcome.PAUSED)
                    raise Cancelled("download paused: the sidecar is stopping; it resumes "
                                    "at its next start", data={"resumable": True}) from exc
                progress.final(DownloadOutcome.CANCELLED)
                raise
            except SinkWriteError as exc:
                err = classify(exc.os_error, "write the download")
                workers.health.failed(err)
                progress.final(DownloadOutcome.URL_ONLY)
                if not registered:
                    raise storage_error(err) from exc
                marked = await self._mark(rec.id, ItemStatus.URL_ONLY, err.message,
                                          err.error_type, err.errno_name)
                workers.kick_retry()
                return SaveOutcome(marked or rec, err)
            except (DownloadFailed, PayloadTooLarge, HostNotAllowed) as exc:
                if registered:
                    await self._mark(rec.id, ItemStatus.URL_ONLY, exc.message,
                                     ErrorType.DOWNLOAD_FAILED)
                progress.final(DownloadOutcome.FAILED)
                raise
            if expected is not None and fetched.sha256 != expected:
                msg = f"the download hashes to {fetched.sha256}, not expectedSha256"
                if registered:
                    await self._mark(rec.id, ItemStatus.URL_ONLY, msg, ErrorType.DOWNLOAD_FAILED)
                progress.final(DownloadOutcome.FAILED)
                raise DownloadFailed(msg, field="params.expectedSha256")
            outcome = await self._save(rec, fetched, dest, registered)
            progress.final(_as_outcome(outcome.record.status))
            return outcome
        except Cancelled:
            progress.final(DownloadOutcome.CANCELLED)
            raise
        except BaseException:
            progress.final(DownloadOutcome.FAILED)
            raise
        finally:
            with contextlib.suppress(OSError, RuntimeError, SidecarError):
                if registered and not keep:
                    await workers.run(self.partials.finish, rec.id)
                elif not registered:
                    await workers.run(_unlink, dest)

    def _resume(self, partial: PartialRecord) -> Resume:
        holder = [partial]

        def learned(total: int | None, etag: str | None, validator: str | None,
                    mime: str) -> None:  # in the fetch worker thread
            holder[0] = holder[0].learned(total=total, etag=etag, validator=validator,
                                          mime=mime)
            self.partials.save(holder[0])

        return Resume(total=partial.total, etag=partial.etag, validator=partial.validator,
                      mime=partial.mime, learned=learned)

    async def _save(self, rec: ItemRecord, fetched: Fetched, dest: Path, registered: bool
                    ) -> SaveOutcome:
        workers = self.workers
        async with workers.locks.hold(rec.id):
            if registered:
                current = await workers.run(self.store.get, rec.id)
                if current is None or current.status != ItemStatus.URL_ONLY:
                    raise Cancelled(f"item {rec.id!r} was removed or changed during its "
                                    "download")
                rec = current
            if rec.mime_type is None and fetched.mime_type:
                rec = rec.evolve(mime_type=fetched.mime_type)
            outcome = await workers.run(self.store.save, rec,
                                        Downloaded(dest, fetched.sha256, fetched.size),
                                        new=not registered)
            await workers.report(outcome, added=not registered)
        return outcome

    async def _mark(self, item_id: str, status: ItemStatus, message: str,
                    error_type: ErrorType, errno_name: str | None = None
                    ) -> ItemRecord | None:
        """Record why a download did not save the item (if it is still urlOnly)."""
        workers = self.workers
        async with workers.locks.hold(item_id):
            rec = await workers.run(self.store.get, item_id)
            if rec is None or rec.status != ItemStatus.URL_ONLY:
                return None
            info = ErrorInfo(message, now_ms(), error_type, errno_name)
            rec = rec.evolve(status=status, storage_error=info)
            await workers.run(self.store.register, rec)
        item = workers.item(rec)
        counts = await workers.counts(rec.project_id)
        if status == ItemStatus.EXPIRED:
            workers.emit(ItemExpired(item=item, counts=counts))
        elif info.is_storage:
            err = error_model(info)
            workers.emit(ItemUrlOnly(item=item, error=err, counts=counts))
        return rec


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _as_outcome(status: str) -> DownloadOutcome:
    """The download outcome of an item status after a save (a status that is none: failed)."""
    try:
        return DownloadOutcome(status)
    except ValueError:
        return DownloadOutcome.FAILED
