"""An in-process server on a real ROUTER socket (ipc or tcp), with only the session methods
plus a slow handler at the dispatch seam, for transport-level tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import zmq

from protocol.media import StatusCounts, StorageStatusParams, StorageStatusResult
from sidecar.client import Client
from sidecar.events import EventBus
from sidecar.rpc.dispatch import CallContext, Handlers
from sidecar.rpc.router import Router
from sidecar.rpc.server import Server
from sidecar.settings import Settings

SECRET = b"0123456789abcdef0123456789abcdef"


@dataclass
class Served:
    server: Server
    endpoint: str
    bus: EventBus
    settings: Settings
    task: asyncio.Task[None]

    async def client(self, *, hello: bool = True, secret: bytes = SECRET) -> Client:
        c = Client(self.endpoint, secret, timeout=10)
        c.open()
        if hello:
            await c.hello()
        return c


async def _slow_status(ctx: CallContext, p: StorageStatusParams) -> StorageStatusResult:
    await asyncio.sleep(0.5)
    return StorageStatusResult(data_dir="/x", writable=True, blocked=False, free_bytes=0,
                               total_bytes=0, held_bytes=0, held_items=0,
                               counts=StatusCounts(), rollback_on_failure=False)


@pytest.fixture(params=["ipc", "tcp"])
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Served]:
    settings = Settings(data_dir=tmp_path, secret=SECRET, runtime_dir=tmp_path,
                        max_envelope_bytes=64 * 1024, max_frame_bytes=8 * 1024 * 1024,
                        max_frames=4, replay_window_ms=5_000, max_in_flight_per_client=8)
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    handlers = Handlers()
    handlers.add("storageStatus", _slow_status)
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    transport = Router(zctx, settings.max_frame_bytes, 0)
    ep = f"ipc://{tmp_path}/s.sock" if request.param == "ipc" else "tcp://127.0.0.1:0"
    endpoint = transport.bind(ep)
    server = Server(settings, transport, handlers, bus, "test-session")
    task = asyncio.create_task(server.serve())
    yield Served(server, endpoint, bus, settings, task)
    server.request_stop(1.0)
    await asyncio.wait_for(task, 5)
    transport.close()
    zctx.term()
