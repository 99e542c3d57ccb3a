"""Large inline adds land while their signature is checked, and nothing lands for good
unless an authentic add saves it: the server and the media service composed as the app
does (``server.landing = service.land``) on a real ROUTER socket, real files, a real store
whose OS seam is traced (which temp file was renamed onto the blob) and faulted.

* an authentic add renames the landed file onto its blob (no second temp file);
* a signature that does not verify, a method that takes no payload, an add that saves
  nothing (an existing id, a wrong expectedSha256): the landed file is deleted, and the
  bytes are nowhere in the data dir;
* a landing that fails (ENOSPC injected at its write) is dropped: the add is saved by the
  normal path.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zmq

from sidecar.events import EventBus
from sidecar.rpc.dispatch import Handlers
from sidecar.rpc.router import Router
from sidecar.rpc.server import Server
from sidecar.service.media import MediaService
from sidecar.settings import Settings
from sidecar.store.config import StoreConfig
from sidecar.store.osio import Call, Trace
from tests.reliability.helpers import RawDealer, request, signed

SECRET = b"0123456789abcdef0123456789abcdef"
MIB = 1024 * 1024
DRAINED_WITHIN_S = 10.0


@dataclass
class Served:
    service: MediaService
    server: Server
    trace: Trace
    peer: RawDealer
    data_dir: Path

    def temps(self) -> list[str]:
        return sorted(os.listdir(self.data_dir / "tmp"))

    def landed(self) -> list[Call]:
        return [c for c in self.trace.calls()
                if c.kind == "fsync" and os.path.basename(c.path).startswith("land-")]

    async def settled(self) -> None:
        """Wait (bounded) until no request is in flight and no temp file is left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAINED_WITHIN_S
        while self.server.in_flight or self.temps():
            if loop.time() > deadline:
                raise AssertionError(f"left behind: {self.temps()}")
            await asyncio.sleep(0.02)

    async def add(self, data: bytes, **params: Any) -> dict[str, Any]:
        return await self.peer.call("addMediaItem", {
            "projectId": "p1", "name": "clip.mp4", "type": "video", **params},
            payloads=[data])


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    settings = Settings(data_dir=tmp_path / "data", secret=SECRET, runtime_dir=tmp_path,
                        store=StoreConfig(spill_dir=tmp_path / "spill", auto_retry=False))
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    service = await MediaService.open(settings, bus, None)
    trace = Trace()
    service.store.io.trace = trace
    handlers = Handlers()
    service.register(handlers)
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    transport = Router(zctx, settings.max_frame_bytes, 0)
    endpoint = transport.bind(f"ipc://{tmp_path}/s.sock")
    server = Server(settings, transport, handlers, bus, "test-session")
    server.landing = service.land  # as sidecar.app composes it
    task = asyncio.create_task(server.serve())
    peer = RawDealer(endpoint, SECRET)
    try:
        await peer.hello()
        yield Served(service, server, trace, peer, settings.data_dir)
    finally:
        peer.close()
        server.request_stop(1.0)
        await asyncio.wait_for(task, 5)
        transport.close()
        zctx.term()
        await service.close()


def blob_files(data_dir: Path) -> set[str]:
    return {name for _, _, names in os.walk(data_dir / "blobs") for name in names}


async def test_an_authentic_add_installs_the_landed_file_as_its_blob(served: Served) -> None:
    data = os.urandom(3 * MIB + 5)
    reply = await served.add(data)
    assert reply["type"] == "reply", reply
    item = reply["result"]["item"]
    assert item["status"] == "saved" and reply["result"]["durable"] is True
    sha = hashlib.sha256(data).hexdigest()
    blob = served.data_dir / "blobs" / sha[:2] / sha
    assert blob.read_bytes() == data
    renames = [c for c in served.trace.calls() if c.kind == "replace"]
    assert len(renames) == 1 and renames[0].path == os.path.realpath(blob)
    assert os.path.basename(renames[0].src).startswith("land-")  # the landing, not a rewrite
    await served.settled()


async def test_a_bad_signature_leaves_no_bytes_behind(served: Served) -> None:
    data = os.urandom(2 * MIB)
    _, env = request("addMediaItem", {"projectId": "p1", "name": "x", "type": "video"})
    forged = signed(b"k" * len(SECRET), env, [data])
    await served.peer.send(forged)
    reply = await served.peer.recv()
    assert reply["type"] == "error" and reply["error"]["code"] == "unauthorized", reply
    await served.settled()
    assert served.landed(), "the payload was never landed: this test shows nothing"
    assert blob_files(served.data_dir) == set()
    listed = await served.peer.call("listMediaItems", {"projectId": "p1"})
    assert listed["result"]["items"] == []


async def test_a_payload_sent_to_a_method_that_is_not_an_add_leaves_no_bytes_behind(
        served: Served) -> None:
    reply = await served.peer.call("getMediaItem", {"id": "v1"}, payloads=[os.urandom(MIB)])
    assert reply["type"] == "error" and reply["error"]["code"] == "invalid_params", reply
    await served.settled()
    assert served.landed() and blob_files(served.data_dir) == set()


async def test_an_add_that_saves_nothing_leaves_no_landed_bytes_behind(
        served: Served) -> None:
    data = os.urandom(2 * MIB)
    wrong = await served.add(data, expectedSha256="0" * 64)
    assert wrong["type"] == "error" and wrong["error"]["code"] == "invalid_params", wrong
    await served.settled()
    assert served.landed() and blob_files(served.data_dir) == set()
    first = await served.add(data, id="v1")
    assert first["result"]["item"]["status"] == "saved"
    again = await served.add(data, id="v1")  # idempotent: its landing is not used
    assert again["result"]["created"] is False
    await served.settled()
    assert len(served.landed()) == 3
    assert blob_files(served.data_dir) == {hashlib.sha256(data).hexdigest()}


async def test_a_landing_that_fails_is_dropped_and_the_add_is_saved_by_the_normal_path(
        served: Served) -> None:
    served.service.faults.arm("blobWrite", "ENOSPC", 1)  # the landing's write takes it
    data = os.urandom(2 * MIB)
    reply = await served.add(data)
    assert reply["type"] == "reply", reply
    assert reply["result"]["item"]["status"] == "saved" and reply["result"]["durable"]
    renames = [c for c in served.trace.calls() if c.kind == "replace"]
    assert len(renames) == 1 and os.path.basename(renames[0].src).startswith("blob-")
    assert served.service.faults.active() == {}
    await served.settled()
    assert blob_files(served.data_dir) == {hashlib.sha256(data).hexdigest()}
