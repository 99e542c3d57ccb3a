"""A client that asks for media ranges and never reads the replies: the sidecar's memory for
those replies is bounded in bytes.

libzmq's queue to a peer counts messages (10,000), and a readMediaRange reply carries up to
4 MiB: without a byte bound a client could make the sidecar hold tens of GiB. The sidecar
counts the reply bytes each client has not taken (its kernel send queue tells when it
drains) and answers further range requests ``busy`` beyond ``REPLY_BUDGET_BYTES``.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import Any

from protocol.vocabulary import ItemStatus, MediaType
from sidecar.client import Client
from sidecar.rpc.server import REPLY_BUDGET_BYTES
from tests.adversarial.conftest import Figures
from tests.adversarial.wire_support import Memory, MiB, Sleeper, alive, attacked_sidecar

PROJECT = "p-ranges"
RANGE = 4 * MiB
REQUESTS = 100  # 400 MiB of replies asked for, without reading one


async def test_a_client_that_never_reads_its_range_replies_costs_bounded_memory(
        tmp_path: Path, figures: Figures) -> None:
    data_dir = Path("/dev/shm") / f"sidecar-ranges-{uuid.uuid4().hex[:8]}"  # fast fsyncs
    try:
        await _attack(tmp_path, data_dir, figures)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def _attack(tmp_path: Path, data_dir: Path, figures: Figures) -> None:
    with attacked_sidecar(tmp_path, data_dir=data_dir) as sc:
        secret = sc.secret.encode()
        owner = await Client.connect(sc.connection_file, timeout=30)
        sleeper = Sleeper(sc.endpoint, secret)
        try:
            blob = bytes(range(256)) * (16 * MiB // 256)
            added = await owner.call("addMediaItem", {"id": "big", "projectId": PROJECT,
                                                      "name": "big.bin", "type": MediaType.VIDEO},
                                     payloads=[blob], timeout=60)
            assert added["item"]["status"] == ItemStatus.SAVED
            rid = await sleeper.send("hello", {"protocol": "1.0.0"})
            hello = await sleeper.recv(10)
            assert hello["type"] == "reply" and hello["id"] == rid

            with Memory(sc.pid) as mem:
                for i in range(REQUESTS):  # bounded: 100 requests, one at a time
                    await sleeper.send("readMediaRange", {
                        "projectId": PROJECT, "id": "big",
                        "offset": (i * RANGE) % (16 * MiB), "length": RANGE})
                    await asyncio.sleep(0.02)
                await asyncio.sleep(1)
                # meanwhile another client is served
                pong = await owner.call("ping", {}, timeout=10)
                assert pong["pong"] is True
            # now read everything that was answered
            replies: list[dict[str, Any]] = []
            for _ in range(REQUESTS):
                replies.append(await sleeper.recv(20))
            busy = [r for r in replies if r["type"] == "error"]
            served = [r for r in replies if r["type"] == "reply"]
            assert {r["error"]["code"] for r in busy} <= {"busy"}, busy[:1]
            assert busy, "every range was answered: nothing bounded the unread bytes"
            assert len(served) * RANGE <= REPLY_BUDGET_BYTES + 40 * RANGE
            # once the client has read, it is served again
            await sleeper.send("readMediaRange", {"projectId": PROJECT, "id": "big",
                                                  "offset": 0, "length": 1024})
            again = await sleeper.recv(20)
            assert again["type"] == "reply", again
            figures["range replies asked, unread (MiB)"] = REQUESTS * RANGE // MiB
            figures["answered / busy"] = f"{len(served)} / {len(busy)}"
            figures["peak RSS growth MiB"] = mem.growth
            assert mem.growth < 3 * REPLY_BUDGET_BYTES / MiB + 64, mem.growth
            assert alive(sc)
        finally:
            sleeper.close()
            await owner.close()
