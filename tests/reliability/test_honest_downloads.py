"""Downloads are durable work: a real sidecar killed (SIGKILL) or stopped (``shutdown``)
mid-download resumes the download at its next start from the partial file, with a Range
request, and the saved file hashes right.

The server is a real HTTPS server on loopback (``tests/fetch/server.py``, a trustme CA the
sidecar is told to trust, fal.media mapped to it) serving an 8 MiB file slowly, in 64 KiB
pieces, honouring ``Range`` + ``If-Range``; it counts the body bytes it wrote per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme

from protocol.vocabulary import DownloadOutcome, ItemStatus, MediaType
from sidecar.client import Client, RemoteError
from tests.fetch.server import Handler, MediaServer
from tests.reliability.conftest import Figures
from tests.reliability.helpers import connect, file_sha, sha, stop
from tests.support import SidecarProcess, spawn_sidecar

BODY = os.urandom(8 * 1024 * 1024)
PIECE = 64 * 1024
URL = "https://v3.fal.media/files/long.mp4"


@dataclass
class Served:
    """What the slow responder did, per request: the Range start and body bytes written."""

    delay: float = 0.02
    requests: list[tuple[int, str | None, int]] = field(default_factory=list)

    def responder(self, h: Handler) -> None:
        start, code = 0, 200
        rng, if_range = h.headers.get("Range"), h.headers.get("If-Range")
        if rng and rng.startswith("bytes=") and if_range in (None, '"v1"'):
            start, code = int(rng[6:].split("-")[0]), 206
        headers = {"Content-Type": "video/mp4", "ETag": '"v1"', "Accept-Ranges": "bytes",
                   "Content-Length": str(len(BODY) - start)}
        if code == 206:
            headers["Content-Range"] = f"bytes {start}-{len(BODY) - 1}/{len(BODY)}"
        h.send(code, headers)
        index = len(self.requests)
        self.requests.append((start, rng, 0))
        written = 0
        with contextlib.suppress(OSError):
            for i in range(start, len(BODY), PIECE):
                h.wfile.write(BODY[i:i + PIECE])
                written += len(BODY[i:i + PIECE])
                self.requests[index] = (start, rng, written)
                time.sleep(self.delay)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def served(ca: trustme.CA) -> Iterator[tuple[MediaServer, Served]]:
    state = Served()
    with MediaServer(ca, ("fal.media", "*.fal.media")) as server:
        server.route("/files/long.mp4", state.responder)
        yield server, state


def sidecar_env(tmp: Path, ca: trustme.CA, port: int) -> dict[str, str]:
    ca_file = tmp / "ca.pem"
    if not ca_file.exists():
        ca.cert_pem.write_to_path(str(ca_file))
    return {"MEDIA_SIDECAR_HOST_RESOLVER_RULES":
            f"MAP fal.media 127.0.0.1:{port}, MAP *.fal.media 127.0.0.1:{port}",
            "MEDIA_SIDECAR_CA_FILE": str(ca_file), "MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES": "1",
            "MEDIA_SIDECAR_AUTO_RETRY": "0"}


async def progress_past(client: Client, item_id: str, fraction: float) -> int:
    """Wait for downloadProgress of ``item_id`` past ``fraction`` of the body."""
    while True:
        ev = await client.wait_event("downloadProgress", timeout=30, id=item_id)
        done = int(ev["data"]["bytesDone"])
        if done >= fraction * len(BODY):
            return done


async def until_saved(client: Client, item_id: str, limit: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        item: dict[str, Any] = (await client.call("getMediaItem", {"id": item_id}))["item"]
        if item["status"] != ItemStatus.URL_ONLY:
            return item
        await asyncio.sleep(0.1)
    raise AssertionError(f"{item_id} was not saved within {limit} s")


def part_files(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "downloads").glob("*.part"))


async def test_a_download_killed_at_half_resumes_from_the_partial_file(
        tmp_path: Path, ca: trustme.CA, served: tuple[MediaServer, Served],
        figures: Figures) -> None:
    server, state = served
    env = sidecar_env(tmp_path, ca, server.port)
    sc = spawn_sidecar(tmp_path, env=env)
    client = await connect(sc)
    await client.subscribe(["downloadProgress"])
    call = asyncio.create_task(client.call("addMediaItem", {
        "projectId": "p", "name": "long", "type": MediaType.VIDEO, "sourceUrl": URL,
        "download": True, "expectedSha256": sha(BODY)}, timeout=60))
    try:
        # The sidecar chose the id: a window that reloaded finds the download this way.
        listed: list[dict[str, Any]] = []
        for _ in range(200):
            listed = (await client.call("listDownloads", {"projectId": "p"}))["downloads"]
            if listed:
                break
            await asyncio.sleep(0.02)
        assert len(listed) == 1 and listed[0]["projectId"] == "p"
        item_id = listed[0]["id"]
        reached = await progress_past(client, item_id, 0.5)
        sc.kill()  # SIGKILL: no final progress, no reply, nothing cleaned up
    finally:
        call.cancel()
        with contextlib.suppress(BaseException):
            await call
        await client.close()
    parts = part_files(sc.data_dir)
    assert len(parts) == 1
    kept = parts[0].stat().st_size
    assert kept >= reached >= len(BODY) // 2

    state.delay = 0.03  # slower, so the resumed download is seen running
    sc2 = spawn_sidecar(tmp_path, env=env, data_dir=sc.data_dir)
    client = await connect(sc2)
    try:
        running = (await client.call("listDownloads", {}))["downloads"]
        item = await until_saved(client, item_id)
    finally:
        await client.close()
        stop(sc2)
    assert item["status"] == ItemStatus.SAVED and item["sha256"] == sha(BODY)
    assert file_sha(Path(item["localPath"])) == sha(BODY)
    assert part_files(sc.data_dir) == []  # the partial file became the blob
    if running:  # seen before it ended: it says where it resumed from
        assert running[0]["id"] == item_id and running[0]["resumedFromBytes"] == kept
    (first_start, _, first_sent), (start, rng, sent) = state.requests[0], state.requests[-1]
    assert first_start == 0 and len(state.requests) == 2
    assert rng == f"bytes={kept}-" and start == kept  # only the rest was asked for ...
    assert sent == len(BODY) - kept  # ... and sent
    figures["body bytes"] = len(BODY)
    figures["bytes kept at the kill"] = kept
    figures["bytes sent before the kill"] = first_sent
    figures["bytes sent after the restart"] = sent
    figures["bytes sent in all / body"] = round((first_sent + sent) / len(BODY), 3)


async def test_shutdown_pauses_a_download_at_once_and_the_next_start_resumes_it(
        tmp_path: Path, ca: trustme.CA, served: tuple[MediaServer, Served],
        figures: Figures) -> None:
    server, state = served
    env = sidecar_env(tmp_path, ca, server.port)
    sc: SidecarProcess = spawn_sidecar(tmp_path, env=env)
    client = await connect(sc)
    await client.subscribe(["downloadProgress"])
    call = asyncio.create_task(client.call("addMediaItem", {
        "id": "quit-1", "projectId": "p", "name": "long", "type": MediaType.VIDEO, "sourceUrl": URL,
        "download": True}, timeout=60))
    await progress_past(client, "quit-1", 0.3)
    t0 = time.monotonic()
    await client.call("shutdown", {"drainTimeoutMs": 20_000})
    with pytest.raises(RemoteError) as err:
        await call
    final = await client.wait_event("downloadProgress", timeout=10, id="quit-1", final=True)
    answered = time.monotonic() - t0
    await client.close()
    assert sc.wait(20) == 0
    assert err.value.code == "cancelled"
    assert err.value.data is not None and err.value.data["resumable"] is True
    assert err.value.data["itemId"] == "quit-1" and err.value.data["status"] == ItemStatus.URL_ONLY
    assert final["data"]["outcome"] == DownloadOutcome.PAUSED
    kept = part_files(sc.data_dir)[0].stat().st_size
    assert kept >= int(final["data"]["bytesDone"]) > 0

    sc2 = spawn_sidecar(tmp_path, env=env, data_dir=sc.data_dir)
    client = await connect(sc2)
    try:
        item = await until_saved(client, "quit-1")
    finally:
        await client.close()
        stop(sc2)
    assert item["status"] == ItemStatus.SAVED and file_sha(Path(item["localPath"])) == sha(BODY)
    _, rng, sent = state.requests[-1]
    assert rng == f"bytes={kept}-" and sent == len(BODY) - kept
    figures["shutdown answered the download call after (s)"] = round(answered, 2)
    figures["bytes kept at the shutdown"] = kept
    figures["bytes sent after the restart"] = sent
