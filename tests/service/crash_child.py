"""The child of the crash test: runs the media service and adds items concurrently until it
is killed. Every acknowledged durable add is appended to the ack file as ``add <id> <sha>``
after its reply; removals are bracketed by ``removing <id>`` / ``removed <id>``.

Usage: python -m tests.service.crash_child DATA_DIR SPILL_DIR ACK_FILE SEED
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import sys
import uuid
from pathlib import Path

from protocol.media import AddMediaItemParams, RemoveMediaItemParams
from sidecar.events import EventBus
from sidecar.rpc.dispatch import CallContext
from sidecar.service.media import MediaService
from sidecar.settings import Settings
from sidecar.store.config import StoreConfig


async def main(data_dir: Path, spill: Path, ack_path: Path, seed: int) -> None:
    settings = Settings(data_dir=data_dir, secret=b"s" * 32, runtime_dir=spill / "run",
                        store=StoreConfig(spill_dir=spill, import_roots=(spill,)))
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    service = await MediaService.open(settings, bus, None)
    ack = os.open(ack_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    rng = random.Random(seed)
    shared = [os.urandom(rng.randrange(1, 200_000)) for _ in range(3)]
    acked: list[str] = []

    def note(line: str) -> None:
        os.write(ack, (line + "\n").encode())

    async def adder(worker: int) -> None:
        while True:
            data = rng.choice(shared) if rng.random() < 0.2 else os.urandom(
                rng.randrange(1, 1_500_000))
            digest = hashlib.sha256(data).hexdigest()
            item_id = f"w{worker}-{uuid.uuid4().hex[:12]}"
            ctx = CallContext(request_id=item_id, client=b"crash", payloads=[memoryview(data)],
                              payload_sha256=digest, payload_size=len(data))
            params = AddMediaItemParams(id=item_id, project_id="p1", name=item_id,
                                        type="video", metadata={"prompt": "crash test"})
            res = await service.add_media_item(ctx, params)
            if res.durable:
                note(f"add {item_id} {digest}")
                acked.append(item_id)
            if acked and rng.random() < 0.1:
                victim = acked.pop(rng.randrange(len(acked)))
                note(f"removing {victim}")
                await service.remove_media_item(
                    ctx, RemoveMediaItemParams(id=victim, project_id="p1"))
                note(f"removed {victim}")

    print("ready", flush=True)
    await asyncio.gather(*(adder(w) for w in range(4)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]),
                     int(sys.argv[4])))
