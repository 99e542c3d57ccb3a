"""The download behaviours of the service, through the real downloader (sidecar.fetch) and
a real HTTPS server on loopback (a trustme CA, FAL names mapped to 127.0.0.1): saved with
the right bytes, an expired URL, a 5xx retried, a cut connection resumed with Range, the
size cap, a cancel mid-download, a host outside the allow-list, download-all. The fake
fetcher of test_downloads.py is kept for what a real server cannot stage (disk full at a
chosen byte); these make sure the real one is wired the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from protocol.events import DownloadProgress
from sidecar.fetch.config import FetchConfig
from sidecar.fetch.downloader import Downloader
from tests.fetch.server import MediaServer, cut, serve, status, trickle
from tests.service.caller import Caller, make_settings, open_caller

BODY = os.urandom(700_000)
SHA = hashlib.sha256(BODY).hexdigest()
URL = "https://v3.fal.media/files/clip.mp4"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def fal(ca: trustme.CA) -> Iterator[MediaServer]:
    with MediaServer(ca, ("fal.media", "*.fal.media")) as server:
        yield server


@pytest.fixture
async def real(tmp_path: Path, fal: MediaServer, ca: trustme.CA) -> AsyncIterator[Caller]:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    config = FetchConfig(map_hosts=(f"MAP fal.media 127.0.0.1:{fal.port}",
                                    f"MAP *.fal.media 127.0.0.1:{fal.port}"),
                         ca_file=ca_file, allow_private_addresses=True, max_attempts=3,
                         backoff_base=0.01, backoff_max=0.02, connect_timeout=5,
                         read_timeout=5, max_bytes=1_000_000)
    config.validate()
    fetcher = Downloader(config)
    caller = await open_caller(make_settings(tmp_path), fetcher)
    try:
        yield caller
    finally:
        await caller.close()
        await fetcher.aclose()


def finals(c: Caller) -> list[str | None]:
    return [e.outcome for e in c.events if isinstance(e, DownloadProgress) and e.final]


async def _item(c: Caller, item_id: str) -> dict[str, Any]:
    item: dict[str, Any] = (await c.call("getMediaItem", id=item_id))["item"]
    return item


async def test_add_with_download_saves_the_served_bytes(real: Caller, fal: MediaServer) -> None:
    fal.route("/files/clip.mp4", serve(BODY))
    res = await real.call("addMediaItem", id="a", projectId="p", name="clip.mp4",
                          type="video", sourceUrl=URL, download=True, expectedSha256=SHA)
    assert res["durable"] is True and res["item"]["status"] == "saved"
    assert hashlib.sha256(Path(res["item"]["localPath"]).read_bytes()).hexdigest() == SHA
    assert finals(real) == ["saved"]
    assert fal.log.requests[-1].sni == "v3.fal.media"


async def test_an_expired_url_marks_the_item_expired(real: Caller, fal: MediaServer) -> None:
    fal.route("/files/clip.mp4", status(404))
    await real.call("addMediaItem", id="e", projectId="p", name="gone", type="video",
                    sourceUrl=URL)
    err = await real.error("downloadUrlOnlyItem", id="e")
    assert err.code == "url_expired"
    item = await _item(real, "e")
    assert item["status"] == "expired" and item["storageError"]["errorType"] == "UrlExpired"
    assert finals(real) == ["expired"]
    assert fal.counts["/files/clip.mp4"] == 1  # a gone URL is not retried


async def test_a_5xx_is_retried_and_a_cut_body_resumed_with_range(
        real: Caller, fal: MediaServer) -> None:
    fal.route("/files/clip.mp4", status(503), cut(BODY, 300_000), serve(BODY))
    res = await real.call("addMediaItem", id="r", projectId="p", name="clip", type="video",
                          sourceUrl=URL, download=True)
    assert res["item"]["status"] == "saved" and res["item"]["sha256"] == SHA
    ranges = [s.headers.get("range") for s in fal.log.requests]
    assert ranges[-1] == "bytes=300000-"  # only the rest was fetched


async def test_a_download_over_the_cap_answers_payload_too_large(
        real: Caller, fal: MediaServer) -> None:
    fal.route("/files/big.mp4", serve(os.urandom(1_200_000)))
    err = await real.error("addMediaItem", id="b", projectId="p", name="big", type="video",
                           sourceUrl="https://fal.media/files/big.mp4", download=True)
    assert err.code == "payload_too_large"
    blobs = [p for p in (real.service.store.data_dir / "blobs").rglob("*") if p.is_file()]
    assert blobs == []


async def test_cancel_mid_download_answers_cancelled(real: Caller, fal: MediaServer) -> None:
    fal.route("/files/slow.mp4", trickle(BODY, first=100_000, then_sleep=3.0))
    await real.call("addMediaItem", id="s", projectId="p", name="slow", type="video",
                    sourceUrl="https://fal.media/files/slow.mp4")
    running = asyncio.create_task(real.call("downloadUrlOnlyItem", id="s"))
    for _ in range(500):
        if fal.counts.get("/files/slow.mp4"):
            break
        await asyncio.sleep(0.01)
    assert fal.counts.get("/files/slow.mp4"), "the download never reached the server"
    res = await real.call("cancelDownload", id="s", projectId="p")
    assert res == {"id": "s", "cancelled": True}
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(running, 10)
    assert getattr(info.value, "code", None) == "cancelled"
    assert (await _item(real, "s"))["status"] == "urlOnly"
    assert finals(real)[-1] == "cancelled"


async def test_a_host_outside_the_allow_list_is_refused_without_a_request(
        real: Caller, fal: MediaServer) -> None:
    err = await real.error("addMediaItem", id="h", projectId="p", name="x", type="video",
                           sourceUrl=f"https://127.0.0.1:{fal.port}/files/clip.mp4",
                           download=True)
    assert err.code == "host_not_allowed"
    assert fal.log.requests == []


async def test_download_all_saves_every_url_only_item(real: Caller, fal: MediaServer) -> None:
    bodies = {f"/files/{i}.mp4": os.urandom(50_000 + i) for i in range(3)}
    for path, body in bodies.items():
        fal.route(path, serve(body))
    fal.route("/files/gone.mp4", status(410))
    for i, path in enumerate([*bodies, "/files/gone.mp4"]):
        await real.call("addMediaItem", id=f"u{i}", projectId="p", name=path, type="video",
                        sourceUrl=f"https://fal.media{path}")
    res = await real.call("downloadAllUrlOnly", projectId="p")
    assert (res["attempted"], res["saved"], res["expired"]) == (4, 3, 1)
    for i, body in enumerate(bodies.values()):
        item = await _item(real, f"u{i}")
        assert item["sha256"] == hashlib.sha256(body).hexdigest()
