"""On a real full disk (a tmpfs filled to the last block), a URL-only add that the database
refuses is answered as what it is: listed, ``recorded: false``, its ``recordState`` not
``stored``; and no ``storageStatusChanged`` says "writable" while the disk is full. Once
space is back, the next real save says so, once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.vocabulary import ByteLocation, BytesState, ItemStatus, MediaType, RecordState
from sidecar.client import Client, RemoteError
from tests.reliability.conftest import Figures
from tests.reliability.helpers import connect, stop
from tests.support import mounted_tmpfs, spawn_sidecar

pytestmark = pytest.mark.root
MIB = 1 << 20


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "mnt", "8m") as mnt:
        yield mnt


def fill(path: Path) -> None:
    """Write ``path`` until the filesystem refuses another byte."""
    with path.open("wb") as f, contextlib.suppress(OSError):
        for _ in range(64):
            f.write(b"\0" * MIB)
            f.flush()
        for _ in range(1024):
            f.write(b"\0" * 4096)
            f.flush()


def drain(client: Client) -> list[dict[str, Any]]:
    out = []
    while client.pending_events():
        out.append(client._events.get_nowait())  # the test reads what has arrived
    return out


async def test_url_only_adds_on_a_full_disk_say_they_are_not_recorded(
        tmp_path: Path, tmpfs: Path, figures: Figures) -> None:
    sc = spawn_sidecar(tmp_path, data_dir=tmpfs / "data",
                       env={"MEDIA_SIDECAR_AUTO_RETRY": "0"})
    client = await connect(sc)
    try:
        await client.subscribe(["storageStatusChanged", "itemAdded"])
        fill(tmpfs / "filler")
        replies: list[dict[str, Any]] = []
        for i in range(40):  # the database may still fit a few rows in pages it has
            res = await client.call("addMediaItem", {
                "id": f"u{i}", "projectId": "full", "name": f"u{i}", "type": MediaType.VIDEO,
                "sourceUrl": f"https://v3.fal.media/files/u{i}.mp4"})
            replies.append(res)
            if not res["recorded"]:
                break
        refused = [r for r in replies if not r["recorded"]]
        assert refused, "the database never refused a record: the disk did not fill"
        item = refused[0]["item"]
        assert refused[0]["created"] is True and refused[0]["durable"] is False
        assert item["recordState"] in (RecordState.JOURNALLED, RecordState.MEMORY)
        got = (await client.call("getMediaItem", {"id": item["id"]}))["item"]
        assert got["recordState"] == item["recordState"] and got["status"] == ItemStatus.URL_ONLY
        await client.call("ping")  # every event of the adds has arrived before this reply
        during = [e["data"] for e in drain(client) if e["event"] == "storageStatusChanged"]
        assert during and all(not d["writable"] for d in during), during
        assert len(during) == 1, "one change, not a flicker"

        (tmpfs / "filler").unlink()
        saved = await client.call("addMediaItem", {
            "id": "after", "projectId": "full", "name": "after", "type": MediaType.VIDEO},
            payloads=[os.urandom(4096)])
        assert saved["item"]["status"] == ItemStatus.SAVED and saved["recorded"] is True
        await client.call("ping")
        after = [e["data"] for e in drain(client) if e["event"] == "storageStatusChanged"]
        assert [d["writable"] for d in after] == [True]
        flushed = await client.call("retryAllUnsaved", {"projectId": "full"})
        assert flushed["attempted"] == 0
        got = (await client.call("getMediaItem", {"id": item["id"]}))["item"]
        # storage is back: the record reached the db
        assert got["recordState"] == RecordState.STORED
    finally:
        await client.close()
        stop(sc)
    figures["URL-only adds before the database refused one"] = len(replies)
    figures["record state of the refused one"] = item["recordState"]


async def test_held_bytes_lost_to_a_sigkill_on_a_full_disk_say_lost_not_unsaved(
        tmp_path: Path, tmpfs: Path, figures: Figures) -> None:
    """Real ENOSPC: the blob does not fit, the record does; the bytes are held in memory.
    SIGKILL, restart: the item is ``lost`` (typed), not counted as unsaved, not retryable."""
    env = {"MEDIA_SIDECAR_AUTO_RETRY": "0"}
    sc = spawn_sidecar(tmp_path, data_dir=tmpfs / "data", env=env)
    client = await connect(sc)
    data = os.urandom(2 * MIB)
    try:
        with (tmpfs / "filler").open("wb") as f:  # leave ~1 MiB: rows fit, the blob does not
            free = os.statvfs(tmpfs).f_bavail * os.statvfs(tmpfs).f_frsize
            f.write(b"\0" * max(free - MIB, 0))
        res = await client.call("addMediaItem", {"id": "k1", "projectId": "kill", "name": "k1",
                                                 "type": MediaType.VIDEO}, payloads=[data])
        item = res["item"]
        assert (item["status"], item["bytesState"]) == (ItemStatus.UNSAVED, BytesState.HELD)
        assert res["recorded"] is True and item["storageError"]["errno"] == "ENOSPC"
    finally:
        await client.close()
    sc.kill()  # SIGKILL: the memory copy is gone
    (tmpfs / "filler").unlink()
    sc2 = spawn_sidecar(tmp_path, data_dir=tmpfs / "data", env=env)
    client = await connect(sc2)
    try:
        got = (await client.call("getMediaItem", {"id": "k1"}))["item"]
        assert (got["status"], got["bytesState"], got["durable"]) == (
            ItemStatus.LOST, BytesState.GONE, False)
        counts = (await client.call("listMediaItems", {"projectId": "kill"}))["counts"]
        assert (counts["unsaved"], counts["lost"]) == (0, 1)
        with pytest.raises(RemoteError) as err:
            await client.call("retrySaveItem", {"id": "k1"})
        assert err.value.code == "conflict"
        assert err.value.data == {"itemId": "k1", "status": ItemStatus.LOST,
                                  "bytesState": BytesState.GONE}
        # playback: no local bytes, said the typed way (the media scheme answers 410 lost)
        source = await client.call("getMediaSource", {"id": "k1", "projectId": "kill"})
        assert (source["status"], source["bytes"], source["path"]) == (
            ItemStatus.LOST, ByteLocation.NONE, None)
        with pytest.raises(RemoteError) as err:
            await client.read_range("kill", "k1", 0, 1024)
        assert (err.value.code, err.value.data) == ("no_local_bytes", {"status": ItemStatus.LOST})
        again = await client.call("addMediaItem", {"id": "k1", "projectId": "kill",
                                                   "name": "k1", "type": MediaType.VIDEO},
                                  payloads=[data])
        assert again["item"]["status"] == ItemStatus.SAVED and again["created"] is False
    finally:
        await client.close()
        stop(sc2)
    figures["status after SIGKILL"] = got["status"]
