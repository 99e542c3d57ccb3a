"""The Downloader: the downloader the media service calls (see ``sidecar.fetch.api`` for the seam).

Owns a fetch from start to end: the URL check, the destination file, the attempts with
exponential backoff and resume, progress, cancellation, and cleanup (``dest`` is removed on
every failure). Each attempt runs in its own worker thread (``attempt.run_attempt``) with a
blocking socket: Python's TLS and ``recv_into`` run in C there, and the bytes go from the
socket to the sink's buffers without an event-loop hop per chunk. The event loop only waits;
a cancel shuts the attempt's sockets down so the worker stops at once.

Start-up cost is nil: constructing a Downloader parses its config and imports no HTTP code. The
one shared httpx client is built on first use, inside a worker thread, so neither the import
(~70 ms) nor the client (~90 ms, mostly loading CA certificates) blocks the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sidecar.errors import Cancelled, DownloadFailed
from sidecar.fetch.api import Fetched, ProgressFn, Resume, SinkWriteError
from sidecar.fetch.config import FetchConfig
from sidecar.fetch.dial import Dial
from sidecar.fetch.resolve import Resolver, parse_rules
from sidecar.fetch.retry import ResumeState, Transient, backoff_delay
from sidecar.fetch.sink import Sink
from sidecar.fetch.urls import AllowedUrl, UrlPolicy

if TYPE_CHECKING:
    import httpx

__all__ = ["Downloader", "Fetched", "ProgressFn", "Resume"]

logger = logging.getLogger(__name__)
# How often the watchdog looks at a running attempt's head timeout (the worker may start
# awaiting a head, e.g. after a redirect, at any time).
WATCH_INTERVAL = 0.25


class HostSlots:
    """At most ``per_host`` downloads from one host at once; the others wait in FIFO order.
    Entries exist only while someone holds or waits for them."""

    def __init__(self, per_host: int) -> None:
        self.per_host = max(1, per_host)
        self._hosts: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        sem, users = self._hosts.get(host, (asyncio.Semaphore(self.per_host), 0))
        self._hosts[host] = (sem, users + 1)
        try:
            async with sem:
                yield
        finally:
            sem, users = self._hosts[host]
            if users <= 1:
                del self._hosts[host]
            else:
                self._hosts[host] = (sem, users - 1)


class Downloader:
    """Downloads into new files; at most ``config.per_host`` at once from one host and
    ``config.concurrency`` in all (others wait, first come first served)."""

    def __init__(self, config: FetchConfig) -> None:
        self.config = config
        self._resolver = Resolver(parse_rules(config.resolver_rules),
                                  allow_private_addresses=config.allow_private_addresses)
        self._policy = UrlPolicy(config.allowed_hosts,
                                 allow_http_loopback=config.allow_http_loopback,
                                 is_mapped=self._resolver.is_mapped)
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._slots = asyncio.Semaphore(max(1, config.concurrency))
        self._hosts = HostSlots(config.per_host)
        self._dials: set[Dial] = set()
        self._closed = False

    def check_url(self, url: str) -> None:
        """Raise ``HostNotAllowed`` if ``url`` may not be fetched (no network)."""
        self._policy.check(url)

    async def fetch(self, url: str, dest: Path, *, progress: ProgressFn | None = None,
                    cancel: asyncio.Event | None = None, resume: Resume | None = None
                    ) -> Fetched:
        target = self._policy.check(url)
        async with contextlib.AsyncExitStack() as slots:
            # Queued behind other downloads; a cancel ends the wait at once.
            await _unless_cancelled(self._take_slots(slots, target.host), cancel)
            if self._closed or (cancel is not None and cancel.is_set()):
                raise Cancelled("download cancelled")
            state = ResumeState(final_url=target.url)
            if resume is not None:
                state.total, state.etag, state.validator = (resume.total, resume.etag,
                                                            resume.validator)
                state.mime, state.learned = resume.mime, resume.learned
                state.resumable = resume.total is not None and resume.validator is not None
            relay = ProgressRelay(progress, state) if progress is not None else None
            sink = Sink(dest, relay)
            if resume is None:
                sink.open()
            else:  # hashes the bytes already there: in a thread
                await asyncio.to_thread(sink.open, append=True)
            try:
                await self._attempts(target, sink, state, cancel)
                sink.close()
                if relay is not None:
                    relay.flush()  # the final count, before fetch returns
            except BaseException:
                if resume is None:
                    sink.discard()
                else:  # the caller keeps the bytes for a later resume, or removes them
                    with contextlib.suppress(SinkWriteError):
                        sink.close()
                raise
            return Fetched(path=dest, size=sink.size, sha256=sink.hexdigest(), mime_type=state.mime,
                           final_url=state.final_url)

    async def _take_slots(self, stack: contextlib.AsyncExitStack, host: str) -> None:
        await stack.enter_async_context(self._hosts.hold(host))
        await stack.enter_async_context(self._slots)

    async def aclose(self) -> None:
        """Abort downloads in flight (they raise ``Cancelled``) and close the client."""
        self._closed = True
        for dial in list(self._dials):
            dial.abort()
        with self._client_lock:
            client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    # -- internals ----------------------------------------------------------------------------
    async def _attempts(self, target: AllowedUrl, sink: Sink, state: ResumeState,
                        cancel: asyncio.Event | None) -> None:
        cfg = self.config
        for attempt in range(1, max(1, cfg.max_attempts) + 1):
            try:
                await self._run_in_thread(target, sink, state, cancel)
                return
            except Transient as exc:
                if attempt >= cfg.max_attempts:
                    raise DownloadFailed(
                        f"download failed after {attempt} attempts: {exc}",
                        data={"attempts": attempt},
                    ) from (exc.__cause__ or exc)
                delay = backoff_delay(attempt, cfg.backoff_base, cfg.backoff_max, exc.retry_after)
                await _sleep(delay, cancel)
                if self._closed:
                    raise Cancelled("download cancelled: the downloader is closing") from exc

    async def _run_in_thread(self, target: AllowedUrl, sink: Sink, state: ResumeState,
                             cancel: asyncio.Event | None) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[BaseException | None] = loop.create_future()
        dial = Dial(target)

        def work() -> None:
            outcome: BaseException | None = None
            try:
                from sidecar.fetch.attempt import run_attempt  # lazy: imports httpx

                run_attempt(self._get_client(), self._policy, target, sink=sink, state=state,
                            dial=dial, config=self.config)
            except BaseException as exc:  # handed to the loop as a value, re-raised there
                outcome = exc
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                loop.call_soon_threadsafe(_settle, done, outcome)

        self._dials.add(dial)
        if self._closed:
            dial.abort()
        waiters: set[asyncio.Future[object]] = {done}  # type: ignore[arg-type]
        cancel_wait = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
        if cancel_wait is not None:
            waiters.add(cancel_wait)  # type: ignore[arg-type]
        threading.Thread(target=work, name="fetch-attempt", daemon=True).start()
        try:
            try:
                expired = await self._watch(dial, waiters)
            except asyncio.CancelledError:
                dial.abort()
                await _until_done(done)  # the worker must stop writing before dest goes
                raise
            if expired is not None:
                dial.abort()
                await _until_done(done)
                raise Transient(expired)
            if not done.done():  # the cancel event fired first
                dial.abort()
                await _until_done(done)
                raise Cancelled("download cancelled")
            outcome = done.result()
            if outcome is not None:
                raise outcome
        finally:
            self._dials.discard(dial)
            if cancel_wait is not None:
                cancel_wait.cancel()

    async def _watch(self, dial: Dial, waiters: set[asyncio.Future[object]]) -> str | None:
        """Wait for the attempt (or the cancel); the reason if it ran out of time first.
        The worker's socket reads have per-read timeouts only: a server trickling a byte
        every few seconds is stopped here, by the head timeout and the attempt deadline."""
        cfg = self.config
        deadline = time.monotonic() + cfg.attempt_deadline
        while True:
            now = time.monotonic()
            head_due = dial.head_due
            if head_due is not None and now >= head_due:
                return f"no complete response head within {cfg.head_timeout:g} s"
            if now >= deadline:
                return f"the attempt took longer than its deadline of {cfg.attempt_deadline:g} s"
            wake = min(deadline, head_due if head_due is not None else deadline) - now
            finished, _ = await asyncio.wait(waiters, timeout=min(wake, WATCH_INTERVAL),
                                             return_when=asyncio.FIRST_COMPLETED)
            if finished:
                return None

    def _get_client(self) -> httpx.Client:
        """The process's one client, built on first use (called from worker threads)."""
        with self._client_lock:
            if self._client is None:
                if self._closed:
                    raise Cancelled("download cancelled: the downloader is closed")
                from sidecar.fetch.transport import build_client  # lazy: imports httpx

                self._client = build_client(self.config, self._resolver)
            return self._client


class ProgressRelay:
    """Carries progress from the worker thread to the caller's loop, at most every 20 ms.

    A hop to the loop per 64 KiB chunk would wake it (and contend for the GIL) thousands of
    times a second on a fast link, costing more than the download; so a chunk's count is
    sent only if the last one was sent ``INTERVAL`` ago, and ``flush`` reports the final
    count. A slow download still reports every chunk.
    """

    INTERVAL = 0.02

    def __init__(self, progress: ProgressFn, state: ResumeState) -> None:
        self._progress = progress
        self._state = state
        self._loop = asyncio.get_running_loop()
        self._sent_at = 0.0
        self._latest = 0
        self._delivered = -1

    def __call__(self, done: int) -> None:  # in the worker thread
        self._latest = done
        now = time.monotonic()
        if now - self._sent_at >= self.INTERVAL:
            self._sent_at = now
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody listens
                self._loop.call_soon_threadsafe(self.flush)

    def flush(self) -> None:  # on the loop
        if self._latest != self._delivered:
            self._delivered = self._latest
            try:
                self._progress(self._latest, self._state.total)
            except Exception:
                # The caller's hook failing is no reason to lose the download.
                logger.exception("download progress callback failed")


def _settle(fut: asyncio.Future[BaseException | None], outcome: BaseException | None) -> None:
    if not fut.done():
        fut.set_result(outcome)


async def _until_done(fut: asyncio.Future[BaseException | None]) -> None:
    while not fut.done():
        try:
            await asyncio.wait({fut})
        except asyncio.CancelledError:
            continue  # still wait: the worker stops promptly once its dial is aborted


async def _unless_cancelled(aw: Coroutine[Any, Any, None], cancel: asyncio.Event | None
                            ) -> None:
    """Await ``aw``, unless ``cancel`` is set first: then ``aw`` is cancelled (its cleanup
    runs) and ``Cancelled`` is raised."""
    if cancel is None:
        await aw
        return
    task = asyncio.ensure_future(aw)
    waiter = asyncio.ensure_future(cancel.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if not task.cancelled() and task.exception() is None:
            return  # it finished in the same turn: the caller checks ``cancel`` next
        raise Cancelled("download cancelled while queued")
    task.result()


async def _sleep(delay: float, cancel: asyncio.Event | None) -> None:
    if cancel is None:
        await asyncio.sleep(delay)
        return
    try:
        await asyncio.wait_for(cancel.wait(), timeout=delay)
    except TimeoutError:
        return
    raise Cancelled("download cancelled")
