"""Close and reopen the service on the same data dir: unsaved and urlOnly records are listed
again, spilled bytes still retry, the background retrier saves them without being asked."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.service.caller import make_settings, open_caller, sha

URL = "https://v3.fal.media/files/gen.mp4"


async def test_restart_keeps_url_only_and_unsaved_items_listed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    caller = await open_caller(settings)
    caller.service.faults.arm("blobWrite", "EROFS")
    await caller.add(b"remote bytes", id="u1", sourceUrl=URL)
    caller.service.faults.arm("blobWrite", "EAGAIN")
    await caller.add(b"held bytes", id="h1")
    await caller.add(b"saved bytes", id="s1")
    await caller.close()

    caller = await open_caller(settings)
    try:
        listed = await caller.call("listMediaItems", projectId="p1", sort="name", order="asc")
        status = {i["id"]: i["status"] for i in listed["items"]}
        assert status == {"u1": "urlOnly", "h1": "unsaved", "s1": "saved"}
        assert listed["counts"] == {"saved": 1, "unsaved": 1, "urlOnly": 1, "expired": 0, "lost": 0,
                                    "total": 3}
        retried = await caller.call("retrySaveItem", id="h1")
        assert retried["item"]["status"] == "saved"
        assert Path(retried["item"]["localPath"]).read_bytes() == b"held bytes"
    finally:
        await caller.close()


async def test_spilled_bytes_survive_a_crash_and_are_retried(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, hold_memory_budget=0)
    caller = await open_caller(settings)
    caller.service.faults.arm("blobWrite", "ENOSPC")
    data = b"spilled" * 999
    await caller.add(data, id="h1")
    # A crash: nothing of close() runs, the store is simply abandoned.
    caller.service.workers.pool.shutdown(wait=True)
    caller.service.store.db.close()

    caller = await open_caller(settings)
    try:
        assert caller.service.store.recovery.held_found == 1
        retried = await caller.call("retrySaveItem", id="h1")
        assert retried["item"]["status"] == "saved"
        assert sha(Path(retried["item"]["localPath"]).read_bytes()) == sha(data)
    finally:
        await caller.close()


async def test_memory_held_bytes_lost_in_a_crash_are_reported_honestly(tmp_path: Path
                                                                       ) -> None:
    settings = make_settings(tmp_path)
    caller = await open_caller(settings)
    caller.service.faults.arm("blobWrite", "ENOSPC", count=2)
    await caller.add(b"in memory", id="h1")
    await caller.add(b"in memory too", id="h2", sourceUrl=URL.replace("gen", "h2"))
    caller.service.faults.arm("blobWrite", "EAGAIN")
    await caller.add(b"transient", id="h3", sourceUrl=URL)
    caller.service.workers.pool.shutdown(wait=True)
    caller.service.store.db.close()  # crash: memory copies are gone

    caller = await open_caller(settings)
    try:
        h1 = (await caller.call("getMediaItem", id="h1"))["item"]
        # typed, no English to parse: lost, its bytes gone; the seeds' flag still reads unsaved
        assert (h1["status"], h1["bytesState"], h1["durable"]) == ("lost", "gone", False)
        assert h1["metadata"]["unsaved"] is True
        h3 = (await caller.call("getMediaItem", id="h3"))["item"]
        assert h3["status"] == "urlOnly"  # the URL is known: it can be downloaded again
        assert h3["bytesState"] == "none"
        counts = (await caller.call("listMediaItems", projectId="p1"))["counts"]
        assert (counts["unsaved"], counts["lost"]) == (0, 1)  # the Retry-all banner clears
        err = await caller.error("retrySaveItem", id="h1")
        assert err.code == "conflict"
        assert err.data == {"itemId": "h1", "status": "lost", "bytesState": "gone"}
        after = (await caller.call("getMediaItem", id="h1"))["item"]
        assert after["status"] == "lost"
        summary = await caller.call("retryAllUnsaved", projectId="p1")
        assert summary["attempted"] == 0  # a lost item is never retried
        readded = await caller.add(b"in memory", id="h1")  # only its bytes bring it back
        assert readded["item"]["status"] == "saved" and readded["created"] is False
    finally:
        await caller.close()


async def test_unsaved_items_are_retried_automatically_at_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    caller = await open_caller(settings)
    caller.service.faults.arm("blobWrite", "ENOSPC", count=3)
    for i in range(3):
        await caller.add(f"bytes {i}".encode(), id=f"h{i}")
    await caller.close()  # an orderly close spills the memory copies

    auto = make_settings(tmp_path, auto_retry=True, retry_backoff_initial=0.01)
    caller = await open_caller(auto)
    try:
        await caller.wait_event("itemSaved", 3)
        listed = await caller.call("listMediaItems", projectId="p1")
        assert listed["counts"]["saved"] == 3 and listed["counts"]["unsaved"] == 0
    finally:
        await caller.close()


async def test_background_retry_saves_once_storage_recovers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, auto_retry=True, retry_backoff_initial=0.01,
                             retry_backoff_max=0.05)
    caller = await open_caller(settings)
    try:
        caller.service.faults.arm("blobWrite", "ENOSPC", count=1_000_000)
        await caller.add(b"waiting for space", id="h1")
        # While the disk stays "full" the retrier probes and backs off (several rounds at
        # 0.01-0.05 s); nothing is saved and the item stays unsaved.
        await asyncio.sleep(0.3)
        assert caller.named("itemSaved") == []
        got = await caller.call("getMediaItem", id="h1", projectId="p1")
        assert got["item"]["status"] == "unsaved"
        caller.service.faults.clear()
        saved = await caller.wait_event("itemSaved", 1)
        assert saved[0].item.id == "h1"  # type: ignore[attr-defined]
        changes = caller.named("storageStatusChanged")
        assert changes[-1].writable is True  # type: ignore[attr-defined]
    finally:
        await caller.close()
