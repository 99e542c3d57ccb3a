"""When the metadata database itself cannot be written, the records of unsaved / urlOnly
items go to the fallback journal (in the spill dir) and stay listed, across a restart."""

from __future__ import annotations

import json
from pathlib import Path

from tests.service.caller import make_settings, open_caller

URL = "https://v3.fal.media/files/gen.mp4"


async def test_records_the_database_refuses_are_journalled_and_listed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    caller = await open_caller(settings)
    try:
        await caller.add(b"before", id="a0")
        faults = caller.service.faults
        faults.arm("blobWrite", "ENOSPC", count=100)
        faults.arm("dbCommit", "ENOSPC", count=100)
        await caller.add(b"held", id="a1")
        await caller.add(b"remote", id="a2", sourceUrl=URL)
        journal = caller.service.store.journal.path
        assert not journal.is_relative_to(settings.data_dir)
        ids = {json.loads(line)["id"] for line in journal.read_text().splitlines()}
        assert ids == {"a1", "a2"}
        listed = await caller.call("listMediaItems", projectId="p1", sort="createdAt",
                                   order="asc", limit=2)
        assert [i["id"] for i in listed["items"]] == ["a0", "a1"]
        rest = await caller.call("listMediaItems", projectId="p1", sort="createdAt",
                                 order="asc", limit=2, cursor=listed["nextCursor"])
        assert [i["id"] for i in rest["items"]] == ["a2"] and rest["nextCursor"] is None
        assert listed["counts"] == {"saved": 1, "unsaved": 1, "urlOnly": 1, "expired": 0, "lost": 0,
                                    "total": 3}
        only_unsaved = await caller.call("listMediaItems", projectId="p1", status=["unsaved"])
        assert [i["id"] for i in only_unsaved["items"]] == ["a1"]
    finally:
        await caller.close()

    caller = await open_caller(settings)  # fresh faults: the database takes the journal
    try:
        assert caller.service.store.recovery.journal_applied == 2
        assert not caller.service.store.journal.path.exists()
        listed = await caller.call("listMediaItems", projectId="p1")
        assert {i["id"]: i["status"] for i in listed["items"]} == {
            "a0": "saved", "a1": "unsaved", "a2": "urlOnly"}
        assert (await caller.call("retrySaveItem", id="a1"))["item"]["status"] == "saved"
    finally:
        await caller.close()


async def test_retry_all_flushes_journalled_records_once_the_database_works(tmp_path: Path
                                                                           ) -> None:
    caller = await open_caller(make_settings(tmp_path))
    try:
        faults = caller.service.faults
        faults.arm("blobWrite", "ENOSPC", count=1)
        faults.arm("dbCommit", "ENOSPC", count=1)
        await caller.add(b"held", id="a1")
        assert caller.service.store.pending_count == 1
        summary = await caller.call("retryAllUnsaved", projectId="p1")
        assert summary["saved"] == 1
        assert caller.service.store.pending_count == 0
        assert not caller.service.store.journal.path.exists()
    finally:
        await caller.close()


async def test_removing_a_journalled_item_does_not_bring_it_back(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    caller = await open_caller(settings)
    try:
        faults = caller.service.faults
        faults.arm("blobWrite", "ENOSPC", count=1)
        faults.arm("dbCommit", "ENOSPC", count=1)
        await caller.add(b"held", id="a1")
        res = await caller.call("removeMediaItem", id="a1", projectId="p1")
        assert res["removed"] is True
    finally:
        await caller.close()
    caller = await open_caller(settings)
    try:
        listed = await caller.call("listMediaItems", projectId="p1")
        assert listed["items"] == []
    finally:
        await caller.close()
