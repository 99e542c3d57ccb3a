"""Downloads through the real Downloader (sidecar.fetch.downloader) from a real HTTP server on
loopback: the bytes land in the store via temp file + fsync + rename, an expired URL (410)
marks the item expired."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from protocol.events import DownloadProgress
from sidecar.fetch.config import FetchConfig
from tests.service.caller import Caller, make_settings, open_caller, sha

BODY = os.urandom(3 * 1024 * 1024 + 11)


class Handler(BaseHTTPRequestHandler):
    # path → (Content-Type, body): media whose server type or extension lies
    routes: dict[str, tuple[str, bytes]] = {}

    def do_GET(self) -> None:
        if self.path in self.routes:
            content_type, body = self.routes[self.path]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/files/ok.mp4":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
        else:
            self.send_response(410)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
async def real(tmp_path: Path) -> AsyncIterator[Caller]:
    try:
        from sidecar.fetch.downloader import Downloader
    except ImportError:  # pragma: no cover - the downloader is a sibling component
        from tests.support import require

        require(False, "sidecar.fetch.downloader")
        raise
    fetcher = Downloader(FetchConfig(allowed_hosts=("localhost",), allow_http_loopback=True,
                                  allow_private_addresses=True, max_attempts=2,
                                  backoff_base=0.01))
    caller = await open_caller(make_settings(tmp_path), fetcher)
    try:
        yield caller
    finally:
        await caller.close()
        await fetcher.aclose()


async def test_a_real_download_is_saved_in_the_store(real: Caller, server: str) -> None:
    res = await real.call("addMediaItem", projectId="p1", name="gen", type="video",
                          sourceUrl=f"{server}/files/ok.mp4", download=True,
                          expectedSha256=sha(BODY))
    item = res["item"]
    assert res["durable"] is True and item["status"] == "saved"
    assert item["size"] == len(BODY) and item["mimeType"] == "video/mp4"
    assert sha(Path(item["localPath"]).read_bytes()) == sha(BODY)
    final = [e for e in real.events if isinstance(e, DownloadProgress) and e.final]
    assert [e.outcome for e in final] == ["saved"] and final[0].bytes_done == len(BODY)
    assert list((real.service.store.data_dir / "tmp").iterdir()) == []


async def test_a_real_410_marks_the_item_expired(real: Caller, server: str) -> None:
    await real.call("addMediaItem", id="u1", projectId="p1", name="gen", type="video",
                    sourceUrl=f"{server}/files/gone.mp4")
    err = await real.error("downloadUrlOnlyItem", id="u1", projectId="p1")
    assert err.code == "url_expired"
    item = (await real.call("getMediaItem", id="u1"))["item"]
    assert item["status"] == "expired"
    assert len(real.named("itemExpired")) == 1


async def test_downloaded_bytes_are_sniffed_the_server_type_is_only_a_fallback(
        real: Caller, server: str, media_files: dict[str, bytes]) -> None:
    Handler.routes.update({
        "/files/webm-said-mp4.mp4": ("video/mp4", media_files["clip.webm"]),
        "/files/png-octets.mp4": ("application/octet-stream", media_files["still.png"]),
        "/files/later.mov": ("video/quicktime", media_files["sound.wav"]),
    })
    webm = await real.call("addMediaItem", projectId="p1", name="gen.mp4", type="video",
                           sourceUrl=f"{server}/files/webm-said-mp4.mp4", download=True)
    assert webm["item"]["mimeType"] == "video/webm"
    png = await real.call("addMediaItem", projectId="p1", name="gen.mp4", type="image",
                          sourceUrl=f"{server}/files/png-octets.mp4", download=True)
    assert png["item"]["mimeType"] == "image/png"
    # a urlOnly item downloaded later, with the client's own (wrong) type
    await real.call("addMediaItem", id="later", projectId="p1", name="later.mov",
                    type="video", mimeType="video/quicktime",
                    sourceUrl=f"{server}/files/later.mov")
    done = await real.call("downloadUrlOnlyItem", id="later", projectId="p1")
    assert done["item"]["status"] == "saved" and done["item"]["mimeType"] == "audio/wav"
    # random bytes: nothing to sniff, the server's type stays (the test above)
