"""The store's landing as the server sees it (``dispatch.Land``), and its use by an add.

``Landings`` is what the composition root injects into the server: it starts writing a
large payload to a durable temp file in a thread pool of its own, beside the server's own
hashing thread. Not the store's pool: with sixteen adds at once, the short store calls of
the adds already verified (get, save, counts) would queue behind the writes of the later
ones (measured: 0.78 to 0.91 of the aggregate rate, against 1.01 with a pool of its own).

``landed(ctx)`` is what an inline add hands to the store's ``Inline`` source once the
signature has verified: the landing, when it was written, else None (the save then writes
the bytes itself). The server deletes any landing the store did not take.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from sidecar.rpc.dispatch import CallContext, LandedPayload
from sidecar.store.blobs import BlobStore
from sidecar.store.landing import Landed, Lander

log = logging.getLogger("sidecar.service.landing")


class Landings:
    """``dispatch.Land`` over the store's blobs, in ``threads`` threads of its own."""

    def __init__(self, blobs: BlobStore, threads: int) -> None:
        self._lander = Lander(blobs)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="land")

    def __call__(self, payloads: Sequence[memoryview]) -> asyncio.Future[LandedPayload | None]:
        loop = asyncio.get_running_loop()
        try:
            return loop.run_in_executor(self._pool, self._lander, payloads)
        except RuntimeError:  # the pool is shut down (the service is closing): no landing
            done: asyncio.Future[LandedPayload | None] = loop.create_future()
            done.set_result(None)
            return done

    def close(self) -> None:
        """Wait for the landings under way (blocking: call it in a thread)."""
        self._pool.shutdown(wait=True)


async def landed(ctx: CallContext) -> Landed | None:
    """This call's landed payload once written; None when there is none or it failed. The
    wait is shielded: a cancelled handler leaves the landing to the server to delete."""
    if ctx.landed is None:
        return None
    try:
        got = await asyncio.shield(ctx.landed)
    except Exception:  # a landing's own storage failures return None; this is a bug
        log.exception("payload landing failed; the save writes the bytes itself")
        return None
    return got if isinstance(got, Landed) else None
