"""Storage failures injected at the store's OS seam: items are kept (unsaved / urlOnly),
replies tell the truth, events go out, retries work, nothing is half-visible."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from protocol.events import ItemUnsaved, ItemUrlOnly, StorageStatusChanged
from tests.service.caller import Caller, make_settings, open_caller, sha

URL = "https://v3.fal.media/files/gen.mp4"


def blob_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]


def temp_files(data_dir: Path) -> list[Path]:
    return list((data_dir / "tmp").iterdir())


async def test_add_keeps_item_unsaved_when_disk_is_full(caller: Caller) -> None:
    caller.service.faults.arm("blobWrite", "ENOSPC")
    data = b"generated video" * 100
    res = await caller.add(data, id="v1")
    item = res["item"]
    assert res["created"] is True and res["durable"] is False
    assert item["status"] == "unsaved" and item["durable"] is False
    assert item["storageError"]["errorType"] == "StorageBlocked"
    assert item["storageError"]["errno"] == "ENOSPC"
    assert item["metadata"]["unsaved"] is True
    assert item["metadata"]["storageError"]["errorType"] == "StorageBlocked"
    assert item["localPath"] is None
    unsaved = caller.named("itemUnsaved")
    assert len(unsaved) == 1 and isinstance(unsaved[0], ItemUnsaved)
    assert unsaved[0].error.errno == "ENOSPC"
    status = caller.named("storageStatusChanged")
    assert isinstance(status[0], StorageStatusChanged) and status[0].blocked is True
    listed = await caller.call("listMediaItems", projectId="p1")
    assert [i["id"] for i in listed["items"]] == ["v1"]
    assert listed["counts"]["unsaved"] == 1
    assert temp_files(caller.service.store.data_dir) == []


async def test_retry_saves_an_unsaved_item_from_held_bytes(caller: Caller) -> None:
    caller.service.faults.arm("blobWrite", "EAGAIN")
    data = b"held" * 1000
    res = await caller.add(data, id="v1")
    assert res["item"]["storageError"]["errorType"] == "StorageTransient"
    retried = await caller.call("retrySaveItem", id="v1", projectId="p1")
    assert retried["durable"] is True and retried["item"]["status"] == "saved"
    assert Path(retried["item"]["localPath"]).read_bytes() == data
    assert retried["item"]["metadata"]["unsaved"] is False
    assert "storageError" not in retried["item"]["metadata"]
    assert len(caller.named("itemSaved")) == 1
    status = caller.named("storageStatusChanged")
    assert [s.writable for s in status if isinstance(s, StorageStatusChanged)] == [False, True]


async def test_failed_retry_stays_unsaved_with_a_fresh_error(caller: Caller) -> None:
    caller.service.faults.arm("blobWrite", "EAGAIN")
    first = await caller.add(b"data", id="v1")
    caller.service.faults.arm("blobFsync", "EBUSY")
    retried = await caller.call("retrySaveItem", id="v1")
    assert retried["durable"] is False and retried["item"]["status"] == "unsaved"
    assert retried["item"]["storageError"]["errno"] == "EBUSY"
    assert retried["item"]["storageError"]["timestamp"] >= first["item"]["storageError"][
        "timestamp"]
    assert len(caller.named("itemUnsaved")) == 2


async def test_retry_of_a_saved_item_is_a_conflict(caller: Caller) -> None:
    await caller.add(b"data", id="v1")
    err = await caller.error("retrySaveItem", id="v1")
    assert err.code == "conflict"


async def test_eio_on_fsync_rewrites_the_whole_blob_on_retry(caller: Caller) -> None:
    store = caller.service.store
    caller.service.faults.arm("blobFsync", "EIO")
    data = os.urandom(300_000)
    res = await caller.add(data, id="v1")
    assert res["item"]["storageError"]["errorType"] == "StorageIOError"
    assert blob_files(store.data_dir) == [] and temp_files(store.data_dir) == []
    writes: list[int] = []
    real_write = store.io.write_all

    def counting(fd: int, chunk: bytes | bytearray | memoryview, op: str = "blobWrite"
                 ) -> None:
        writes.append(memoryview(chunk).nbytes)
        real_write(fd, chunk, op)

    store.io.write_all = counting  # type: ignore[method-assign]
    retried = await caller.call("retrySaveItem", id="v1")
    assert retried["item"]["status"] == "saved"
    assert sum(writes) == len(data)  # every byte written again, from the held copy
    assert sha(Path(retried["item"]["localPath"]).read_bytes()) == sha(data)


async def test_failure_between_blob_and_row_commit_leaves_nothing_half_visible(
        caller: Caller) -> None:
    caller.service.faults.arm("dbCommit", "EAGAIN")
    data = b"committed later" * 50
    res = await caller.add(data, id="v1")
    item = res["item"]
    assert item["status"] == "unsaved" and item["localPath"] is None
    got = await caller.call("getMediaItem", id="v1")
    assert got["item"]["status"] == "unsaved"
    retried = await caller.call("retrySaveItem", id="v1")
    assert retried["item"]["status"] == "saved"
    assert Path(retried["item"]["localPath"]).read_bytes() == data
    assert len(blob_files(caller.service.store.data_dir)) == 1


async def test_rename_failure_keeps_the_item_unsaved_without_stray_files(
        caller: Caller) -> None:
    caller.service.faults.arm("blobRename", "EBUSY")
    res = await caller.add(b"x" * 10_000, id="v1")
    assert res["item"]["status"] == "unsaved"
    store = caller.service.store
    assert blob_files(store.data_dir) == [] and temp_files(store.data_dir) == []


async def test_directory_fsync_failure_takes_the_blob_back(caller: Caller) -> None:
    caller.service.faults.arm("dirFsync", "EIO")
    res = await caller.add(b"y" * 10_000, id="v1")
    assert res["item"]["status"] == "unsaved"
    store = caller.service.store
    assert blob_files(store.data_dir) == [] and temp_files(store.data_dir) == []
    assert (await caller.call("retrySaveItem", id="v1"))["item"]["status"] == "saved"


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EROFS", "EACCES", "EPERM", "EDQUOT"])
async def test_blocked_storage_with_a_known_url_keeps_the_item_url_only(
        caller: Caller, errno_name: str) -> None:
    caller.service.faults.arm("blobWrite", errno_name)
    res = await caller.add(b"bytes", id="v1", sourceUrl=URL)
    item = res["item"]
    assert item["status"] == "urlOnly" and res["durable"] is False
    assert item["sourceUrl"] == URL
    assert item["storageError"]["errorType"] == "StorageBlocked"
    assert item["metadata"]["urlOnly"] is True and item["metadata"]["unsaved"] is False
    events = caller.named("itemUrlOnly")
    assert len(events) == 1 and isinstance(events[0], ItemUrlOnly)
    assert events[0].error is not None and events[0].error.errno == errno_name
    assert caller.service.store.holding.items_held == 0


async def test_transient_failure_with_a_url_holds_the_bytes(caller: Caller) -> None:
    caller.service.faults.arm("blobWrite", "EAGAIN")
    res = await caller.add(b"bytes", id="v1", sourceUrl=URL)
    assert res["item"]["status"] == "unsaved"


async def test_add_fails_honestly_when_bytes_cannot_be_held(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, hold_memory_budget=10, spill_budget=10)
    caller = await open_caller(settings)
    try:
        caller.service.faults.arm("blobWrite", "ENOSPC")
        err = await caller.error("addMediaItem", [b"x" * 1000], id="v1", projectId="p1",
                                 name="x", type="video")
        assert err.code == "storage_blocked"
        listed = await caller.call("listMediaItems", projectId="p1")
        assert listed["items"] == [] and listed["counts"]["total"] == 0
        assert caller.named("itemAdded") == []
    finally:
        await caller.close()


async def test_bytes_beyond_the_memory_budget_are_spilled(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, hold_memory_budget=100)
    caller = await open_caller(settings)
    try:
        caller.service.faults.arm("blobWrite", "ENOSPC")
        data = b"s" * 5000
        await caller.add(data, id="v1")
        spilled = list((caller.service.store.spill_dir / "held").iterdir())
        assert [p.name for p in spilled] == [sha(data)]
        assert not spilled[0].is_relative_to(settings.data_dir)
        status = await caller.call("storageStatus")
        assert status["heldBytes"] == 5000 and status["heldItems"] == 1
        res = await caller.call("retrySaveItem", id="v1")
        assert res["item"]["status"] == "saved"
        assert list((caller.service.store.spill_dir / "held").iterdir()) == []
    finally:
        await caller.close()


async def test_rollback_flag_restores_the_old_behaviour(tmp_path: Path) -> None:
    caller = await open_caller(make_settings(tmp_path, rollback_on_failure=True))
    try:
        caller.service.faults.arm("dbCommit", "ENOSPC")
        err = await caller.error("addMediaItem", [b"bytes"], id="v1", projectId="p1",
                                 name="x", type="video", sourceUrl=URL)
        assert err.code == "storage_blocked"
        gone = await caller.error("getMediaItem", id="v1")
        assert gone.code == "not_found", gone
        listed = await caller.call("listMediaItems", projectId="p1")
        assert listed["items"] == []
        assert blob_files(settings_dir := tmp_path / "data") == []
        assert temp_files(settings_dir) == []
        caller.service.faults.arm("blobWrite", "EAGAIN")
        err = await caller.error("addMediaItem", [b"bytes"], id="v2", projectId="p1",
                                 name="x", type="video")
        assert err.code == "storage_failed"
        status = await caller.call("storageStatus")
        assert status["rollbackOnFailure"] is True
    finally:
        await caller.close()


async def test_retry_all_saves_every_unsaved_item_of_the_project(caller: Caller) -> None:
    caller.service.faults.arm("blobWrite", "ENOSPC", count=5)
    blobs = {f"v{i}": os.urandom(1000 + i) for i in range(5)}
    for item_id, data in blobs.items():
        await caller.add(data, id=item_id)
    await caller.add(b"other project", id="o1", project="p2")
    listed = await caller.call("listMediaItems", projectId="p1")
    assert listed["counts"]["unsaved"] == 5
    summary = await caller.call("retryAllUnsaved", projectId="p1")
    assert summary["attempted"] == 5 and summary["saved"] == 5
    assert sorted(summary["itemIds"]) == sorted(blobs)
    for item_id, data in blobs.items():
        item = (await caller.call("getMediaItem", id=item_id))["item"]
        assert sha(Path(item["localPath"]).read_bytes()) == sha(data)


async def test_storage_status_reports_disk_and_counts(caller: Caller) -> None:
    await caller.add(b"a")
    status = await caller.call("storageStatus")
    assert status["writable"] is True and status["blocked"] is False
    assert status["totalBytes"] > 0 and status["freeBytes"] > 0
    assert status["counts"]["saved"] == 1 and status["counts"]["total"] == 1
    assert status["dataDir"] == str(caller.service.store.data_dir)


async def test_test_fault_method_arms_and_clears_faults(caller: Caller) -> None:
    res = await caller.call("testFault", op="blobWrite", errno="EIO", count=2)
    assert res["active"] == {"blobWrite": 2}
    res = await caller.call("testFault", op="clear")
    assert res["active"] == {}


async def test_test_fault_is_an_unknown_method_without_test_hooks(tmp_path: Path) -> None:
    settings = dataclasses.replace(make_settings(tmp_path), enable_test_hooks=False)
    caller = await open_caller(settings)
    try:
        caller.service.faults.arm("blobWrite", "EIO", count=2)
        err = await caller.error("testFault", op="clear")
        assert err.code == "unknown_method" and err.field == "method"
        assert caller.service.faults.active() == {"blobWrite": 2}  # nothing was cleared
    finally:
        await caller.close()
