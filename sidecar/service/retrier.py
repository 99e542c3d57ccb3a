"""The background retrier: unsaved items are saved without anyone asking, once storage works.

While there is work (records waiting in the journal, or an item in one of its backlogs:
unsaved items whose bytes are held, urlOnly items that storage failure left without their
bytes) it probes storage with exponential backoff; when a probe succeeds it moves journalled
records into the database and retries every backlog's items. It runs once at start, and
wakes after every storage failure (``StoreWorkers.kick_retry``). With no work it sleeps until
kicked.

It knows the service only through its backlogs: what to list, and how to retry one item.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from protocol.vocabulary import ItemStatus
from sidecar.errors import SidecarError
from sidecar.service.batch import tally
from sidecar.service.workers import StoreWorkers
from sidecar.store.records import ItemRecord

log = logging.getLogger("sidecar.service.retrier")


@dataclass(frozen=True)
class Backlog:
    """One kind of work: the items waiting (a blocking store read, run in the pool) and how
    to retry one of them (its status afterwards), ``concurrency`` at a time."""

    name: str
    waiting: Callable[[], list[ItemRecord]]
    retry_one: Callable[[str], Awaitable[str]]
    concurrency: int


class Retrier:
    def __init__(self, workers: StoreWorkers, backlogs: Sequence[Backlog]) -> None:
        self.workers = workers
        self.backlogs = tuple(backlogs)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="store-retrier")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _has_work(self) -> bool:
        return bool(self.workers.store.pending_count) or any(
            b.waiting() for b in self.backlogs)

    async def _loop(self) -> None:
        cfg = self.workers.settings.store
        wanted = self.workers.retry_wanted
        backoff = cfg.retry_backoff_initial
        immediate = True  # at start: straight away
        while True:
            try:
                work = await self.workers.run(self._has_work)
            except SidecarError as exc:
                log.warning("retrier cannot read the store: %s", exc.message)
                work = True
            if not work:
                backoff, immediate = cfg.retry_backoff_initial, False
                wanted.clear()
                await wanted.wait()
                continue
            if not immediate:
                await asyncio.sleep(backoff)
            immediate = False
            wanted.clear()
            done = await self._attempt()
            backoff = (cfg.retry_backoff_initial if done
                       else min(backoff * 2, cfg.retry_backoff_max))

    async def _attempt(self) -> bool:
        """One round; True when nothing is left to do."""
        workers, store = self.workers, self.workers.store
        try:
            err = await workers.run(store.probe)
            if err is not None:
                workers.health.failed(err)
                return False
            workers.health.ok()
            done = await workers.run(store.flush_pending)
            for backlog in self.backlogs:
                recs = await workers.run(backlog.waiting)
                if not recs:
                    continue
                counts = await tally([r.id for r in recs], backlog.retry_one,
                                     backlog.concurrency, f"background {backlog.name}")
                saved = counts[ItemStatus.SAVED]
                log.info("background %s: %d of %d items saved", backlog.name, saved, len(recs))
                done = done and saved == len(recs)
            return done
        except SidecarError as exc:
            log.warning("background retry failed: %s", exc.message)
            return False
