"""The store's workers: what the media service's parts share to work on the store — the
thread pool that runs every blocking store call off the event loop, per-item locks, error
translation, storage health and the events of each outcome.

Translation happens here, once: a StorageError from the store becomes ``storage_blocked`` or
``storage_failed`` (cause chained); nothing from OSError or sqlite3 reaches dispatch.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from protocol.events import (
    Event,
    ItemAdded,
    ItemExpired,
    ItemLost,
    ItemSaved,
    ItemUnsaved,
    ItemUrlOnly,
)
from protocol.media import MediaItem, StatusCounts
from protocol.vocabulary import ItemStatus
from sidecar.errors import Busy, NotFound, SidecarError, StorageBlocked, StorageFailed
from sidecar.events import EventBus
from sidecar.service.convert import counts_model, error_model, item_model
from sidecar.service.health import StorageHealth
from sidecar.settings import Settings
from sidecar.store.classify import OutOfDescriptors, StorageError
from sidecar.store.records import ItemRecord
from sidecar.store.store import MediaStore, NotKept, SaveOutcome

log = logging.getLogger("sidecar.service")
T = TypeVar("T")


def storage_error(err: StorageError) -> SidecarError:
    """The wire error for a storage failure that kept nothing."""
    cls = StorageBlocked if err.blocked else StorageFailed
    return cls(err.message, data={"errorType": err.error_type, "errno": err.errno_name})


class ItemLocks:
    """One asyncio lock per item id: operations on one item never interleave."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, item_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(item_id, (asyncio.Lock(), 0))
        self._locks[item_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[item_id]
            if users <= 1:
                del self._locks[item_id]
            else:
                self._locks[item_id] = (lock, users - 1)


class StoreWorkers:
    def __init__(self, settings: Settings, store: MediaStore, bus: EventBus) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.health = StorageHealth(bus)
        self.locks = ItemLocks()
        self.pool = ThreadPoolExecutor(max_workers=max(4, settings.store.io_threads),
                                       thread_name_prefix="store")
        # Set after a storage failure (or when storage may work again): the retrier waits
        # on it.
        self.retry_wanted = asyncio.Event()

    async def run(self, fn: Callable[..., T], *args: Any,
                  interrupt: threading.Event | None = None, **kwargs: Any) -> T:
        """Run a blocking store call in the pool. If the caller is cancelled the call still
        completes (and the item lock is held until it has), then the cancellation goes on;
        ``interrupt`` is set first, so a call that checks it (a long import between chunks)
        stops early."""
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(self.pool, functools.partial(fn, *args, **kwargs))
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            if interrupt is not None:
                interrupt.set()
            fut.add_done_callback(_consume)
            await asyncio.wait([fut])
            raise
        except StorageError as exc:
            raise storage_error(exc) from exc
        except OutOfDescriptors as exc:  # the process, not the storage: nothing is marked
            raise Busy(f"{exc}; retry") from exc
        except NotKept as exc:
            raise storage_error(exc.error) from exc

    def item(self, rec: ItemRecord) -> MediaItem:
        return item_model(rec, self.store)

    def kick_retry(self) -> None:
        """Something failed (or may work again): make sure a retry is scheduled."""
        self.retry_wanted.set()

    def emit(self, event: Event) -> None:
        self.bus.emit(event)

    async def owned(self, item_id: str, project_id: str | None) -> ItemRecord:
        """The item, if it exists (in ``project_id`` when given); else not_found."""
        rec = await self.run(self.store.get, item_id)
        if rec is None or (project_id is not None and rec.project_id != project_id):
            raise NotFound(f"no item {item_id!r}" + (f" in project {project_id!r}"
                                                    if project_id is not None else ""),
                           field="params.id")
        return rec

    async def counts(self, project_id: str) -> StatusCounts | None:
        """The project's counts now (carried by item events); None if they cannot be read."""
        try:
            return counts_model(await self.run(self.store.counts, project_id))
        except SidecarError as exc:
            log.warning("cannot count project %s for an event: %s", project_id, exc.message)
            return None

    async def report(self, outcome: SaveOutcome, *, added: bool) -> MediaItem:
        """Emit the events of a save outcome, each with the project's counts after it;
        return the item as shown. Storage health changes only on what really happened: a
        record the database refused (journalled or in memory) is no sign of recovery."""
        rec = outcome.record
        item = self.item(rec)
        counts = await self.counts(rec.project_id)
        if added:
            self.emit(ItemAdded(item=item, counts=counts))
        err = outcome.error
        failure = err or outcome.refused
        if failure is not None:
            self.health.failed(failure)
            self.kick_retry()
        elif rec.status == ItemStatus.SAVED:
            self.health.ok()  # bytes and record written: only this proves storage works
        info = error_model(rec.storage_error or (err.info() if err is not None else None))
        if rec.status == ItemStatus.SAVED and err is None:
            self.emit(ItemSaved(item=item, counts=counts))
        elif rec.status == ItemStatus.LOST:
            self.emit(ItemLost(item=item, counts=counts))
        elif err is None and not outcome.bytes_lost:
            pass  # a registration (urlOnly/expired): itemAdded said it
        elif rec.status == ItemStatus.UNSAVED and info is not None:
            self.emit(ItemUnsaved(item=item, error=info, counts=counts))
        elif rec.status == ItemStatus.URL_ONLY:
            self.emit(ItemUrlOnly(item=item, error=info, counts=counts))
        elif rec.status == ItemStatus.EXPIRED:
            self.emit(ItemExpired(item=item, counts=counts))
        return item


def _consume(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()
