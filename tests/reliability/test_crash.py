"""SIGKILL in the middle of 200 concurrent adds, round after round, on one data dir.

After every kill the sidecar is started again on the same data dir and every add that was
acknowledged in any round so far is checked: a durable add is ``saved`` with the same
sha256 and its blob file hashes to it; an unsaved one is still listed. Every blob file must
hash to its own name, and the temp dir must be empty once start-up recovery ran.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from protocol.vocabulary import ItemStatus, MediaType
from sidecar.client import Client, RemoteError
from tests.reliability.conftest import Figures, soak
from tests.reliability.helpers import connect, file_sha, kill, sha, stop
from tests.support import SidecarProcess, spawn_sidecar

ADDS = 200
CLIENTS = 8  # 25 in flight each: below the per-client limit


async def _round(sc: SidecarProcess, rnd: int, rng: random.Random,
                 acked: dict[str, dict[str, Any]]) -> dict[str, int]:
    clients: list[Client] = [await connect(sc, timeout=60) for _ in range(CLIENTS)]
    stats = {"acked durable": 0, "acked unsaved": 0, "errors": 0, "unanswered": 0}

    async def add(i: int) -> None:
        data = os.urandom(rng.randrange(1024, 256 * 1024))
        item_id = f"r{rnd}-{i}"
        try:
            res = await clients[i % CLIENTS].call("addMediaItem", {
                "id": item_id, "projectId": f"crash{i % 3}", "name": f"clip {i}",
                "type": MediaType.VIDEO}, payloads=[data])
        except RemoteError:
            stats["errors"] += 1
            return
        acked[item_id] = {"sha": sha(data), "durable": res["durable"],
                          "status": res["item"]["status"]}
        stats["acked durable" if res["durable"] else "acked unsaved"] += 1

    tasks = [asyncio.create_task(add(i)) for i in range(ADDS)]
    await asyncio.sleep(rng.uniform(0.05, 0.8))
    kill(sc)
    _, pending = await asyncio.wait(tasks, timeout=0.5)
    for t in pending:
        t.cancel()
    stats["unanswered"] = len(pending)
    await asyncio.gather(*pending, return_exceptions=True)
    for c in clients:
        await c.close()
    return stats


async def _verify(sc: SidecarProcess, acked: dict[str, dict[str, Any]]) -> dict[str, int]:
    out = {"lost": 0, "corrupt": 0, "temp leftovers": 0, "bad blobs": 0}
    c = await connect(sc, timeout=60)
    try:
        for item_id, want in acked.items():
            try:
                item = (await c.call("getMediaItem", {"id": item_id}))["item"]
            except RemoteError as exc:
                if exc.code == "not_found":
                    out["lost"] += 1
                    continue
                raise
            if want["durable"]:
                lp = item.get("localPath")
                if (item["status"] != ItemStatus.SAVED or item["sha256"] != want["sha"] or not lp
                        or not Path(lp).is_file() or file_sha(Path(lp)) != want["sha"]):
                    out["corrupt"] += 1
            elif item["status"] == ItemStatus.SAVED and item["sha256"] != want["sha"]:
                out["corrupt"] += 1
    finally:
        await c.close()
    tmp = sc.data_dir / "tmp"
    out["temp leftovers"] = sum(1 for p in tmp.iterdir()) if tmp.is_dir() else 0
    for blob in (sc.data_dir / "blobs").rglob("*"):
        if blob.is_file() and file_sha(blob) != blob.name:
            out["bad blobs"] += 1
    return out


@pytest.mark.timeout(soak(300, 3600))
async def test_acknowledged_adds_survive_sigkill_during_200_concurrent_adds(
        tmp_path: Path, figures: Figures) -> None:
    rounds = soak(5, 25)
    rng = random.Random(20261121)
    data_dir = tmp_path / "data"
    env = {"MEDIA_SIDECAR_SPILL_DIR": str(tmp_path / "spill")}
    acked: dict[str, dict[str, Any]] = {}
    totals: dict[str, int] = {}
    worst = {"lost": 0, "corrupt": 0, "temp leftovers": 0, "bad blobs": 0}
    t0 = time.perf_counter()
    for rnd in range(rounds):
        sc = spawn_sidecar(tmp_path, data_dir=data_dir, env=env)
        if rnd:
            found = await _verify(sc, acked)
            for k, v in found.items():
                worst[k] = max(worst[k], v)
        stats = await _round(sc, rnd, rng, acked)
        for k, v in stats.items():
            totals[k] = totals.get(k, 0) + v
    sc = spawn_sidecar(tmp_path, data_dir=data_dir, env=env)
    try:
        final = await _verify(sc, acked)
    finally:
        stop(sc)
    for k, v in final.items():
        worst[k] = max(worst[k], v)
    figures["rounds"] = rounds
    figures["adds acknowledged"] = len(acked)
    figures["outcomes"] = totals
    figures["worst after restart"] = worst
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    assert worst == {"lost": 0, "corrupt": 0, "temp leftovers": 0, "bad blobs": 0}
