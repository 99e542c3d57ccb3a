"""Downloads through the fetcher seam (a scripted fake downloader): saved, expired, failed,
storage failures mid-download, cancellation, progress events, batch downloads."""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from protocol.events import DownloadProgress, ItemExpired
from sidecar.errors import DownloadFailed, UrlExpired
from sidecar.settings import Settings
from tests.service.caller import Caller, make_settings, open_caller, sha
from tests.service.fakes import FakeFetcher, Script

URL = "https://v3.fal.media/files/gen.mp4"


@pytest.fixture
def fetcher() -> FakeFetcher:
    return FakeFetcher()


@pytest.fixture
async def dl(settings: Settings, fetcher: FakeFetcher) -> AsyncIterator[Caller]:
    c = await open_caller(settings, fetcher)
    yield c
    await c.close()


def finals(caller: Caller) -> list[str | None]:
    return [e.outcome for e in caller.events if isinstance(e, DownloadProgress) and e.final]


async def test_add_with_download_saves_the_remote_bytes(dl: Caller, fetcher: FakeFetcher
                                                        ) -> None:
    data = os.urandom(300_000)
    fetcher.scripts[URL] = Script(data)
    res = await dl.call("addMediaItem", id="d1", projectId="p1", name="gen", type="video",
                        sourceUrl=URL, download=True, expectedSha256=sha(data))
    item = res["item"]
    assert res["created"] is True and res["durable"] is True and item["status"] == "saved"
    assert item["mimeType"] == "video/mp4" and item["sourceUrl"] == URL
    assert Path(item["localPath"]).read_bytes() == data
    names = [e.name for e in dl.events if e.name != "downloadProgress"]
    assert names == ["itemAdded", "itemSaved"]
    assert dl.named("itemAdded")[0].item.status == "urlOnly"  # type: ignore[attr-defined]
    assert finals(dl) == ["saved"]
    assert list((dl.service.store.data_dir / "tmp").iterdir()) == []


async def test_download_url_only_item_saves_it(dl: Caller, fetcher: FakeFetcher) -> None:
    fetcher.scripts[URL] = Script(b"later")
    await dl.call("addMediaItem", id="u1", projectId="p1", name="gen", type="video",
                  sourceUrl=URL)
    res = await dl.call("downloadUrlOnlyItem", id="u1", projectId="p1")
    assert res["durable"] is True and res["item"]["status"] == "saved"
    err = await dl.error("downloadUrlOnlyItem", id="u1")
    assert err.code == "conflict"


async def test_an_expired_url_marks_the_item_expired(dl: Caller, fetcher: FakeFetcher) -> None:
    fetcher.scripts[URL] = Script(error=UrlExpired("the URL answered 410 Gone"))
    await dl.call("addMediaItem", id="u1", projectId="p1", name="gen", type="video",
                  sourceUrl=URL)
    err = await dl.error("downloadUrlOnlyItem", id="u1")
    assert err.code == "url_expired"
    item = (await dl.call("getMediaItem", id="u1"))["item"]
    assert item["status"] == "expired" and item["storageError"]["errorType"] == "UrlExpired"
    assert item["metadata"]["urlOnly"] is False
    expired = dl.named("itemExpired")
    assert len(expired) == 1 and isinstance(expired[0], ItemExpired)
    assert finals(dl) == ["expired"]
    listed = await dl.call("listMediaItems", projectId="p1")
    assert listed["counts"]["expired"] == 1
    assert (await dl.error("downloadUrlOnlyItem", id="u1")).code == "conflict"


async def test_a_failed_download_leaves_the_item_url_only(dl: Caller, fetcher: FakeFetcher
                                                          ) -> None:
    fetcher.scripts[URL] = Script(error=DownloadFailed("503 after 5 attempts"))
    err = await dl.error("addMediaItem", id="d1", projectId="p1", name="gen", type="video",
                         sourceUrl=URL, download=True)
    assert err.code == "download_failed"
    item = (await dl.call("getMediaItem", id="d1"))["item"]
    assert item["status"] == "urlOnly"
    assert item["storageError"]["errorType"] == "DownloadFailed"
    assert finals(dl) == ["failed"]


async def test_disk_full_mid_download_keeps_the_item_url_only(dl: Caller, fetcher: FakeFetcher
                                                              ) -> None:
    fetcher.scripts[URL] = Script(os.urandom(500_000), sink_errno=errno.ENOSPC)
    res = await dl.call("addMediaItem", id="d1", projectId="p1", name="gen", type="video",
                        sourceUrl=URL, download=True)
    assert res["durable"] is False and res["item"]["status"] == "urlOnly"
    assert res["item"]["storageError"]["errno"] == "ENOSPC"
    assert len(dl.named("itemUrlOnly")) == 1
    assert finals(dl) == ["urlOnly"]
    assert list((dl.service.store.data_dir / "tmp").iterdir()) == []


async def test_a_transient_failure_after_the_download_holds_the_bytes(
        dl: Caller, fetcher: FakeFetcher) -> None:
    data = os.urandom(200_000)
    fetcher.scripts[URL] = Script(data)
    dl.service.faults.arm("blobRename", "EAGAIN")
    res = await dl.call("addMediaItem", id="d1", projectId="p1", name="gen", type="video",
                        sourceUrl=URL, download=True)
    assert res["item"]["status"] == "unsaved"
    retried = await dl.call("retrySaveItem", id="d1")
    assert sha(Path(retried["item"]["localPath"]).read_bytes()) == sha(data)
    assert fetcher.calls == [URL]  # the retry did not download again


async def test_cancel_download_answers_the_download_with_cancelled(
        dl: Caller, fetcher: FakeFetcher) -> None:
    gate = asyncio.Event()
    fetcher.scripts[URL] = Script(os.urandom(1_000_000), gate=gate)
    await dl.call("addMediaItem", id="u1", projectId="p1", name="gen", type="video",
                  sourceUrl=URL)
    running = asyncio.create_task(dl.call("downloadUrlOnlyItem", id="u1"))
    while not fetcher.calls:
        await asyncio.sleep(0.001)
    res = await dl.call("cancelDownload", id="u1", projectId="p1")
    assert res == {"id": "u1", "cancelled": True}
    with pytest.raises(Exception) as info:
        await running
    assert getattr(info.value, "code", None) == "cancelled"
    assert (await dl.call("getMediaItem", id="u1"))["item"]["status"] == "urlOnly"
    assert finals(dl) == ["cancelled"]
    assert (await dl.call("cancelDownload", id="u1"))["cancelled"] is False


async def test_removing_an_item_cancels_its_download(dl: Caller, fetcher: FakeFetcher) -> None:
    gate = asyncio.Event()
    fetcher.scripts[URL] = Script(os.urandom(1_000_000), gate=gate)
    await dl.call("addMediaItem", id="u1", projectId="p1", name="gen", type="video",
                  sourceUrl=URL)
    running = asyncio.create_task(dl.call("downloadUrlOnlyItem", id="u1"))
    while not fetcher.calls:
        await asyncio.sleep(0.001)
    await dl.call("removeMediaItem", id="u1")
    with pytest.raises(Exception) as info:
        await running
    assert getattr(info.value, "code", None) == "cancelled"
    assert (await dl.error("getMediaItem", id="u1")).code == "not_found"
    blobs = [p for p in (dl.service.store.data_dir / "blobs").rglob("*") if p.is_file()]
    assert blobs == []


async def test_progress_events_are_throttled_with_one_final(dl: Caller, fetcher: FakeFetcher
                                                            ) -> None:
    fetcher.chunk = 1024
    data = os.urandom(2_000_000)  # about 2000 progress callbacks
    fetcher.scripts[URL] = Script(data)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await dl.call("addMediaItem", projectId="p1", name="gen", type="video", sourceUrl=URL,
                  download=True)
    elapsed = loop.time() - started
    progress = [e for e in dl.events if isinstance(e, DownloadProgress)]
    assert progress[-1].final and progress[-1].bytes_done == len(data)
    assert progress[-1].total_bytes == len(data) and progress[-1].rate_bps > 0
    assert sum(1 for e in progress if e.final) == 1
    assert len(progress) - 1 <= 1 + elapsed * 4 + 1  # at most ~4 a second, plus the final


async def test_download_all_url_only_reports_each_outcome(dl: Caller, fetcher: FakeFetcher
                                                          ) -> None:
    urls = {f"https://v3.fal.media/files/{i}.mp4": i for i in range(4)}
    scripts = [Script(b"ok0"), Script(b"ok1"), Script(error=UrlExpired("404")),
               Script(error=DownloadFailed("timeout"))]
    for url, i in urls.items():
        fetcher.scripts[url] = scripts[i]
        await dl.call("addMediaItem", id=f"u{i}", projectId="p1", name="gen", type="video",
                      sourceUrl=url)
    await dl.call("addMediaItem", id="other", projectId="p2", name="gen", type="video",
                  sourceUrl="https://v3.fal.media/files/0.mp4")
    res = await dl.call("downloadAllUrlOnly", projectId="p1")
    assert res["attempted"] == 4 and res["saved"] == 2
    assert res["expired"] == 1 and res["failed"] == 1
    assert sorted(res["itemIds"]) == ["u0", "u1", "u2", "u3"]


async def test_a_url_outside_the_allowlist_is_refused_before_anything(dl: Caller) -> None:
    err = await dl.error("addMediaItem", projectId="p1", name="gen", type="video",
                         sourceUrl="https://evil.example/x.mp4", download=True)
    assert err.code == "host_not_allowed"
    assert (await dl.call("listMediaItems", projectId="p1"))["items"] == []


async def test_rollback_flag_lists_nothing_when_a_download_fails(tmp_path: Path,
                                                                 fetcher: FakeFetcher) -> None:
    caller = await open_caller(make_settings(tmp_path, rollback_on_failure=True), fetcher)
    try:
        fetcher.scripts[URL] = Script(error=DownloadFailed("503"))
        err = await caller.error("addMediaItem", projectId="p1", name="gen", type="video",
                                 sourceUrl=URL, download=True)
        assert err.code == "download_failed"
        assert (await caller.call("listMediaItems", projectId="p1"))["items"] == []
        fetcher.scripts[URL] = Script(b"fine")
        res = await caller.call("addMediaItem", projectId="p1", name="gen", type="video",
                                sourceUrl=URL, download=True)
        assert res["item"]["status"] == "saved"
        assert [e.name for e in caller.events if e.name != "downloadProgress"] == [
            "itemAdded", "itemSaved"]
    finally:
        await caller.close()


async def test_storage_url_only_items_are_downloaded_when_storage_recovers(
        tmp_path: Path, fetcher: FakeFetcher) -> None:
    settings = make_settings(tmp_path, auto_retry=True, retry_backoff_initial=0.01,
                             retry_backoff_max=0.05)
    caller = await open_caller(settings, fetcher)
    try:
        fetcher.scripts[URL] = Script(b"the generated video")
        caller.service.faults.arm("blobWrite", "EROFS", count=1_000_000)
        res = await caller.add(b"the generated video", id="g1", sourceUrl=URL)
        assert res["item"]["status"] == "urlOnly"
        caller.service.faults.clear()
        saved = await caller.wait_event("itemSaved")
        assert saved[0].item.id == "g1"  # type: ignore[attr-defined]
        assert fetcher.calls == [URL]
    finally:
        await caller.close()


async def test_without_a_downloader_downloads_fail_cleanly(caller: Caller) -> None:
    await caller.call("addMediaItem", id="u1", projectId="p1", name="gen", type="video",
                      sourceUrl=URL)
    err = await caller.error("downloadUrlOnlyItem", id="u1")
    assert err.code == "download_failed"
    res = await caller.call("downloadAllUrlOnly", projectId="p1")
    assert res["attempted"] == 1 and res["failed"] == 1
