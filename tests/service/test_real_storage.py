"""Real storage failures, from the kernel, not injected: a full tmpfs (ENOSPC) and a
read-only mount (EROFS). Needs root; skipped otherwise, but under CI=true it fails instead.

The read-only case puts a read-only bind mount over the data dir: the kernel refuses a
plain ``remount,ro`` while SQLite holds files open for writing (EBUSY), whereas every new
file the store creates (its blob temp files) now gets a genuine EROFS.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.caller import make_settings, open_caller, sha
from tests.service.fakes import FakeFetcher, Script
from tests.support import mounted_tmpfs, unmount

pytestmark = pytest.mark.root

URL = "https://v3.fal.media/files/generated.mp4"


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs; the data dir lives on it (unmounted in teardown)."""
    with mounted_tmpfs(tmp_path / "mnt", "4m") as mnt:
        yield mnt


def fill(path: Path) -> None:
    """Write ``path`` until the filesystem is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        chunk = b"\0" * 65536
        while True:
            try:
                os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                if len(chunk) == 1:
                    return
                chunk = chunk[: len(chunk) // 2]
    finally:
        os.close(fd)


async def test_full_disk_keeps_adds_unsaved_until_space_is_freed(tmp_path: Path, tmpfs: Path
                                                                 ) -> None:
    settings = make_settings(tmp_path, data_dir=tmpfs / "data")
    caller = await open_caller(settings)
    try:
        await caller.add(b"fits", id="before")
        ballast = tmpfs / "ballast"
        fill(ballast)
        blobs = {f"v{i}": os.urandom(300_000 + i) for i in range(3)}
        for item_id, data in blobs.items():
            res = await caller.add(data, id=item_id)
            assert res["durable"] is False and res["item"]["status"] == "unsaved"
            assert res["item"]["storageError"]["errno"] == "ENOSPC"
            assert res["item"]["storageError"]["errorType"] == "StorageBlocked"
        assert len(caller.named("itemUnsaved")) == 3
        changed = caller.named("storageStatusChanged")
        assert changed and changed[0].blocked is True  # type: ignore[attr-defined]
        listed = await caller.call("listMediaItems", projectId="p1")
        assert listed["counts"]["unsaved"] == 3 and listed["counts"]["saved"] == 1
        status = await caller.call("storageStatus")
        assert status["writable"] is False and status["blocked"] is True
        assert status["heldItems"] == 3

        ballast.unlink()
        summary = await caller.call("retryAllUnsaved", projectId="p1")
        assert summary["attempted"] == 3 and summary["saved"] == 3
        for item_id, data in blobs.items():
            item = (await caller.call("getMediaItem", id=item_id))["item"]
            assert item["status"] == "saved" and item["sha256"] == sha(data)
            assert Path(item["localPath"]).is_relative_to(tmpfs)
            assert sha(Path(item["localPath"]).read_bytes()) == sha(data)
        assert (await caller.call("storageStatus"))["writable"] is True
        assert list((tmpfs / "data" / "tmp").iterdir()) == []
    finally:
        await caller.close()


async def test_read_only_data_dir_keeps_items_with_a_url_url_only(tmp_path: Path, tmpfs: Path
                                                                  ) -> None:
    data_dir = tmpfs / "data"
    fetcher = FakeFetcher()
    remote = os.urandom(200_000)
    fetcher.scripts[URL] = Script(remote)
    caller = await open_caller(make_settings(tmp_path, data_dir=data_dir), fetcher)
    try:
        await caller.add(b"saved before", id="before")
        run("mount", "--bind", str(data_dir), str(data_dir))
        run("mount", "-o", "remount,bind,ro", str(data_dir))
        try:
            res = await caller.add(remote, id="u1", sourceUrl=URL)
            item = res["item"]
            assert res["durable"] is False and item["status"] == "urlOnly"
            assert item["storageError"]["errno"] == "EROFS"
            assert item["metadata"]["urlOnly"] is True
            assert len(caller.named("itemUrlOnly")) == 1
            local = await caller.add(b"no url", id="h1")
            assert local["item"]["status"] == "unsaved"
            assert local["item"]["storageError"]["errno"] == "EROFS"
            status = await caller.call("storageStatus")
            assert status["blocked"] is True and status["writable"] is False
        finally:
            unmount(data_dir)  # writable again
        downloaded = await caller.call("downloadUrlOnlyItem", id="u1")
        assert downloaded["item"]["status"] == "saved"
        assert sha(Path(downloaded["item"]["localPath"]).read_bytes()) == sha(remote)
        retried = await caller.call("retrySaveItem", id="h1")
        assert retried["item"]["status"] == "saved"
        listed = await caller.call("listMediaItems", projectId="p1")
        assert listed["counts"]["saved"] == 3
    finally:
        await caller.close()
