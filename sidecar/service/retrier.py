"""The background retrier: unsaved items are saved without anyone asking, once storage works.

While there is work (unsaved items whose bytes are held, records waiting in the journal,
urlOnly items that storage failure left without their bytes) it probes storage with
exponential backoff; when a probe succeeds it moves journalled records into the database,
retries the unsaved items and (with a downloader) downloads those urlOnly items. It runs
once at start, and wakes after every storage failure. With no work it sleeps until kicked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from sidecar.errors import SidecarError
from sidecar.service.workers import ServiceCore
from sidecar.store.records import UNSAVED, URL_ONLY

if TYPE_CHECKING:
    from sidecar.service.media import MediaService

log = logging.getLogger("sidecar.service.retrier")


class Retrier:
    def __init__(self, core: ServiceCore, service: MediaService) -> None:
        self.core = core
        self.service = service
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.passes = 0  # completed attempts (observable by tests)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="store-retrier")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def kick(self) -> None:
        """Something failed (or may work again): make sure a retry is scheduled."""
        self._kick.set()

    def _has_work(self) -> bool:
        store = self.core.store
        if store.pending_count:
            return True
        if any(store.retryable(r) for r in store.with_status(UNSAVED)):
            return True
        if self.service.fetcher is None:
            return False
        return any(r.storage_error is not None and r.storage_error.error_type.startswith(
            "Storage") for r in store.with_status(URL_ONLY))

    async def _loop(self) -> None:
        cfg = self.core.settings.store
        backoff = cfg.retry_backoff_initial
        immediate = True  # at start: straight away
        while True:
            try:
                work = await self.core.run(self._has_work)
            except SidecarError as exc:
                log.warning("retrier cannot read the store: %s", exc.message)
                work = True
            if not work:
                backoff, immediate = cfg.retry_backoff_initial, False
                self._kick.clear()
                await self._kick.wait()
                continue
            if not immediate:
                await asyncio.sleep(backoff)
            immediate = False
            self._kick.clear()
            done = await self._attempt()
            self.passes += 1
            backoff = (cfg.retry_backoff_initial if done
                       else min(backoff * 2, cfg.retry_backoff_max))

    async def _attempt(self) -> bool:
        """One round; True when nothing is left to do."""
        core, store = self.core, self.core.store
        try:
            err = await core.run(store.probe)
            if err is not None:
                core.health.failed(err)
                return False
            core.health.ok()
            flushed = await core.run(store.flush_pending)
            summary = await self.service.retry_all(None, only_retryable=True)
            if summary.attempted:
                log.info("background retry: %d of %d unsaved items saved", summary.saved,
                         summary.attempted)
            downloaded = True
            if self.service.fetcher is not None:
                dl = await self.service.downloads.download_all(None, storage_only=True)
                downloaded = dl.saved == dl.attempted
            return flushed and summary.saved == summary.attempted and downloaded
        except SidecarError as exc:
            log.warning("background retry failed: %s", exc.message)
            return False
