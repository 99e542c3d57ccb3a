"""A subscriber that never reads: the sidecar's memory for its events is bounded in bytes.

libzmq's queue to a peer is bounded in messages (10,000), so large events (an item with
64 KiB of metadata) could make the sidecar hold hundreds of MiB for a peer that stopped
reading. The sidecar counts the event bytes each subscriber has not taken (its kernel
send queue tells when it drains) and drops events beyond the budget, skipping their seq.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import time
import uuid
from pathlib import Path

from protocol.vocabulary import ItemStatus, MediaType
from sidecar.client import Client
from tests.adversarial.conftest import Figures, soak
from tests.adversarial.wire_support import Memory, MiB, Sleeper, alive, attacked_sidecar

PROJECT = "p-events"
BUDGET = 2 * MiB


def _metadata() -> dict[str, str]:
    return {"prompt": os.urandom(30_000).hex()[:60_000]}  # ~60 KiB, under the 64 KiB cap


async def _drain(sleeper: Sleeper, most: int) -> list[int]:
    """The seqs of the events the sleeper has waiting (until 1 s of quiet)."""
    got: list[int] = []
    while len(got) < most:
        try:
            msg = await sleeper.recv(1)
        except TimeoutError:
            break
        if msg["type"] == "event":
            got.append(int(msg["seq"]))
    return got


async def _reader(client: Client, seqs: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            ev = await client.next_event(0.2)
        except TimeoutError:
            continue
        seqs.append(int(ev["seq"]))


async def test_a_subscriber_that_never_reads_costs_a_bounded_amount_of_memory(
        tmp_path: Path, figures: Figures) -> None:
    data_dir = Path("/dev/shm") / f"sidecar-events-{uuid.uuid4().hex[:8]}"  # fast fsyncs
    env = {"MEDIA_SIDECAR_EVENT_BUDGET_BYTES": str(BUDGET)}
    adds = soak(600, 3_000)
    try:
        with attacked_sidecar(tmp_path, env=env, data_dir=data_dir) as sc:
            secret = sc.secret.encode()
            sleeper = Sleeper(sc.endpoint, secret)
            reader = await Client.connect(sc.connection_file, timeout=30)
            writer = await Client.connect(sc.connection_file, timeout=30)
            try:
                hello = await sleeper.call("hello", {"protocol": "1.0.0"})
                assert hello["type"] == "reply"
                sub = await sleeper.call("subscribe", {"projectId": PROJECT})
                assert sub["type"] == "reply"
                await reader.subscribe(project_id=PROJECT)
                seqs: list[int] = []
                stop = asyncio.Event()
                reading = asyncio.create_task(_reader(reader, seqs, stop))
                meta = _metadata()
                started = time.monotonic()
                with Memory(sc.pid) as mem:
                    window = asyncio.Semaphore(16)

                    async def add(i: int) -> str:
                        async with window:
                            r = await writer.call(
                                "addMediaItem", {"id": f"e{i}", "projectId": PROJECT,
                                                 "name": f"e{i}", "type": MediaType.IMAGE,
                                                 "metadata": meta},
                                payloads=[i.to_bytes(4, "big")], timeout=60)
                            return str(r["item"]["status"])

                    statuses = await asyncio.wait_for(
                        asyncio.gather(*(add(i) for i in range(adds))), 120)
                    # the honest reader gets the last events
                    deadline = time.monotonic() + 30
                    while len(seqs) < 2 * adds and time.monotonic() < deadline:
                        await asyncio.sleep(0.1)
                elapsed = time.monotonic() - started
                stop.set()
                await reading
                assert statuses == [ItemStatus.SAVED] * adds
                # now the sleeper reads what was kept, then one more event: its seq jumps
                t_drain = time.monotonic()
                got = await _drain(sleeper, 4 * adds)
                await writer.call("addMediaItem", {"id": "last", "projectId": PROJECT,
                                                   "name": "last", "type": MediaType.IMAGE},
                                  payloads=[b"last"])
                got += await _drain(sleeper, 4)
                drain_s = time.monotonic() - t_drain
                event_bytes = 2 * adds * (len(meta["prompt"]) + 300)
                gaps = sum(1 for a, b in itertools.pairwise(got) if b != a + 1)
                figures["events sent to each subscriber"] = 2 * adds
                figures["event bytes to the sleeper without a bound MiB"] = round(
                    event_bytes / MiB)
                figures["budget per subscriber MiB"] = BUDGET / MiB
                figures["peak RSS growth MiB"] = mem.growth
                figures["honest reader: events / seq gaps"] = (
                    f"{len(seqs)} / "
                    f"{sum(1 for a, b in itertools.pairwise(seqs) if b != a + 1)}")
                figures["sleeper: events delivered / gaps"] = f"{len(got)} / {gaps}"
                figures["adds s"] = round(elapsed, 1)
                figures["sleeper drain s"] = round(drain_s, 1)
                assert seqs == list(range(1, 2 * adds + 1))  # the honest reader: no gap
                assert got[-1] > 2 * adds, got[-5:]  # the sleeper sees the newest events
                assert len(got) < 2 * adds and gaps >= 1, got[:20]  # after a gap
                assert mem.growth < event_bytes / MiB / 2, mem
                assert alive(sc)
            finally:
                sleeper.close()
                await reader.close()
                await writer.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
