"""Replies and events never claim more than is durable (in process, real files and SQLite).

Retry of an item with nothing to retry is a typed error; a failed ``download: true`` add
names the item it left so a retry makes no duplicate; item events carry the project's
counts; URL-only records the database refuses say so and do not flicker the storage status;
spilled copies live under the data dir, owner-only, and go once resolved.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from protocol.events import ItemAdded, ItemRemoved, ItemSaved, StorageStatusChanged
from sidecar.errors import DownloadFailed
from tests.service.caller import Caller, make_settings, open_caller, sha
from tests.service.fakes import FakeFetcher, Script

URL = "https://v3.fal.media/files/gen.mp4"


@pytest.fixture
async def dl(tmp_path: Path) -> AsyncIterator[tuple[Caller, FakeFetcher]]:
    fetcher = FakeFetcher()
    c = await open_caller(make_settings(tmp_path), fetcher)
    yield c, fetcher
    await c.close()


async def test_retry_of_an_item_with_nothing_to_retry_is_a_typed_conflict(
        caller: Caller) -> None:
    await caller.add(b"saved bytes", id="s1")
    err = await caller.error("retrySaveItem", id="s1")
    assert err.code == "conflict"
    assert err.data == {"itemId": "s1", "status": "saved", "bytesState": "durable"}
    await caller.call("addMediaItem", id="u1", projectId="p1", name="u", type="video",
                      sourceUrl=URL)
    err = await caller.error("retrySaveItem", id="u1")
    assert err.data == {"itemId": "u1", "status": "urlOnly", "bytesState": "none"}


async def test_a_failed_download_add_names_its_item_and_a_retry_makes_no_duplicate(
        dl: tuple[Caller, FakeFetcher]) -> None:
    caller, fetcher = dl
    fetcher.scripts[URL] = Script(error=DownloadFailed("HTTP 503 after 5 attempts"))
    add = {"projectId": "p1", "name": "gen", "type": "video", "sourceUrl": URL,
           "download": True}
    err = await caller.error("addMediaItem", **add)
    assert err.code == "download_failed"
    assert err.data is not None and err.data["status"] == "urlOnly"
    assert err.data["created"] is True
    item_id = err.data["itemId"]
    got = (await caller.call("getMediaItem", id=item_id))["item"]
    assert got["status"] == "urlOnly" and got["sourceUrl"] == URL
    fetcher.scripts[URL] = Script(b"the bytes at last")
    res = await caller.call("addMediaItem", id=item_id, **add)
    assert res["created"] is False and res["item"]["status"] == "saved"
    counts = (await caller.call("listMediaItems", projectId="p1"))["counts"]
    assert counts["total"] == 1 and counts["saved"] == 1


async def test_cancelled_download_adds_name_their_items(dl: tuple[Caller, FakeFetcher]
                                                        ) -> None:
    caller, fetcher = dl
    fetcher.scripts[URL] = Script(b"x" * 200_000, gate=asyncio.Event())  # stalls after a chunk
    ids = []
    for _ in range(5):
        call = asyncio.create_task(caller.error(
            "addMediaItem", projectId="p1", name="gen", type="video", sourceUrl=URL,
            download=True))
        for _ in range(500):  # bounded: until the download runs
            running = (await caller.call("listDownloads", projectId="p1"))["downloads"]
            if running:
                break
            await asyncio.sleep(0.01)
        assert len(running) == 1 and running[0]["projectId"] == "p1"
        await caller.call("cancelDownload", id=running[0]["id"])
        err = await call
        assert err.code == "cancelled" and err.data is not None
        assert err.data["itemId"] == running[0]["id"] and err.data["status"] == "urlOnly"
        ids.append(err.data["itemId"])
    assert len(set(ids)) == 5
    counts = (await caller.call("listMediaItems", projectId="p1"))["counts"]
    assert counts["total"] == 5  # one per add; the client now knows each id
    assert not list((caller.service.store.data_dir / "downloads").glob("*.part"))


async def test_item_events_carry_the_projects_counts_after_the_change(caller: Caller) -> None:
    await caller.add(b"one", id="a1")
    await caller.add(b"two", id="a2", project="p2")
    await caller.call("removeMediaItem", id="a1")
    added = [e for e in caller.events if isinstance(e, ItemAdded)]
    saved = [e for e in caller.events if isinstance(e, ItemSaved)]
    removed = [e for e in caller.events if isinstance(e, ItemRemoved)]
    assert [(e.counts.total if e.counts else None) for e in added] == [1, 1]
    assert saved[0].counts is not None and saved[0].counts.saved == 1
    assert removed[0].counts is not None and removed[0].counts.total == 0


async def test_url_only_records_the_database_refuses_say_so_without_a_flicker(
        caller: Caller) -> None:
    caller.service.faults.arm("dbCommit", "ENOSPC", count=1000)
    res = await caller.call("addMediaItem", id="j1", projectId="p1", name="u", type="video",
                            sourceUrl=URL)
    assert res["created"] is True and res["recorded"] is False
    assert res["item"]["recordState"] == "journalled"
    res = await caller.call("addMediaItem", id="j2", projectId="p1", name="u", type="video",
                            sourceUrl=URL.replace("gen", "gen2"))
    assert res["recorded"] is False
    changes = [e for e in caller.events if isinstance(e, StorageStatusChanged)]
    assert [(c.writable, c.blocked) for c in changes] == [(False, True)]  # once, and true
    caller.service.faults.clear()
    await caller.call("retryAllUnsaved", projectId="p1")  # flushes waiting records
    got = (await caller.call("getMediaItem", id="j1"))["item"]
    assert got["recordState"] == "stored"


async def test_spilled_copies_live_under_the_data_dir_and_go_once_saved(tmp_path: Path
                                                                         ) -> None:
    settings = make_settings(tmp_path, spill_dir=None, hold_memory_budget=0)
    caller = await open_caller(settings)
    try:
        caller.service.faults.arm("blobWrite", "EAGAIN")
        res = await caller.add(b"held on disk", id="h1")
        assert res["item"]["status"] == "unsaved" and res["item"]["bytesState"] == "held"
        held = settings.data_dir / "spill" / "held"
        assert (held / sha(b"held on disk")).read_bytes() == b"held on disk"
        for d in (held, held.parent):
            assert stat.S_IMODE(d.stat().st_mode) == 0o700
        retried = await caller.call("retrySaveItem", id="h1")
        assert retried["item"]["status"] == "saved"
        assert list(held.iterdir()) == []
    finally:
        await caller.close()
    assert not held.parent.exists()  # nothing held: no empty spill directory is left behind
