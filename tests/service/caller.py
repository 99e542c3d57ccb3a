"""An in-process caller of the media service: params validated by the real dispatch table,
payload frames passed like the transport does (with their sha256), events collected."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protocol.events import Event
from sidecar.errors import SidecarError
from sidecar.events import EventBus
from sidecar.rpc.dispatch import CallContext, Handlers
from sidecar.service.downloads import Fetcher
from sidecar.service.media import MediaService
from sidecar.settings import Settings
from sidecar.store.config import StoreConfig


def make_settings(tmp: Path, **store: Any) -> Settings:
    imports = tmp / "imports"
    imports.mkdir(exist_ok=True)
    store.setdefault("spill_dir", tmp / "spill")
    store.setdefault("import_roots", (imports,))
    store.setdefault("auto_retry", False)
    data_dir = store.pop("data_dir", tmp / "data")
    return Settings(data_dir=data_dir, secret=b"s" * 32, enable_test_hooks=True,
                    runtime_dir=tmp / "run",
                    store=StoreConfig(**store))


@dataclass
class Caller:
    service: MediaService
    bus: EventBus
    handlers: Handlers
    events: list[Event] = field(default_factory=list)

    async def call(self, method: str, payloads: Sequence[bytes] = (), **params: Any
                   ) -> dict[str, Any]:
        """Call like a client would; returns the wire dict of the result."""
        p = self.handlers.params_for(method, params)
        data = b"".join(payloads)
        ctx = CallContext(request_id=uuid.uuid4().hex, client=b"test",
                          payloads=[memoryview(b) for b in payloads],
                          payload_sha256=hashlib.sha256(data).hexdigest() if payloads else None,
                          payload_size=len(data))
        result = await self.handlers.call(method, ctx, p)
        return result.wire()

    async def error(self, method: str, payloads: Sequence[bytes] = (), **params: Any
                    ) -> SidecarError:
        """Call expecting a typed error; returns it."""
        try:
            await self.call(method, payloads, **params)
        except SidecarError as exc:
            return exc
        raise AssertionError(f"{method} succeeded, an error was expected")

    async def add(self, data: bytes, project: str = "p1", **params: Any) -> dict[str, Any]:
        params.setdefault("name", "clip.mp4")
        params.setdefault("type", "video")
        return await self.call("addMediaItem", [data], projectId=project, **params)

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]

    async def wait_event(self, name: str, count: int = 1, timeout: float = 10.0) -> list[Event]:
        async def until() -> None:
            while len(self.named(name)) < count:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(until(), timeout)
        return self.named(name)

    async def close(self) -> None:
        await self.service.close()


async def open_caller(settings: Settings, fetcher: Fetcher | None = None) -> Caller:
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    events: list[Event] = []
    bus.listen(events.append)
    service = await MediaService.open(settings, bus, fetcher)
    handlers = Handlers(enable_test_hooks=settings.enable_test_hooks)
    service.register(handlers)
    return Caller(service, bus, handlers, events)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
