"""One operation over many items, a few at a time, counted by the status each ends in.

Used by retryAllUnsaved, downloadAllUrlOnly and the background retrier. A typed failure of
one item (a SidecarError) is counted as ``failed`` and logged; it never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from sidecar.errors import SidecarError

log = logging.getLogger("sidecar.service.batch")

FAILED = "failed"  # the operation answered an error
REMOVED = "removed"  # the item was removed before its turn


async def tally(item_ids: Sequence[str], one: Callable[[str], Awaitable[str]],
                concurrency: int, what: str) -> Counter[str]:
    """Run ``one`` on every id, at most ``concurrency`` at once; how many ended in each
    status (``one``'s answer, or FAILED)."""
    sem = asyncio.Semaphore(max(1, concurrency))
    counts: Counter[str] = Counter()

    async def run(item_id: str) -> None:
        async with sem:
            try:
                status = await one(item_id)
            except SidecarError as exc:
                log.warning("%s of %s failed: %s", what, item_id, exc.message)
                status = FAILED
        counts[status] += 1

    await asyncio.gather(*(run(i) for i in item_ids))
    return counts
