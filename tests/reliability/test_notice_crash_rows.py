"""After a SIGKILL, no row in the database says ``saved`` without its blob.

The database is read directly, before any sidecar starts on the data dir again: start-up
recovery would quietly turn a saved row without its blob into ``unsaved``, hiding a save
that committed the row before the blob was in place. Every saved row's blob must exist and
hash to the row's sha256, round after round of SIGKILL during concurrent adds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
from pathlib import Path

import pytest

from protocol.vocabulary import MediaType
from sidecar.client import Client, RemoteError
from tests.reliability.conftest import Figures, soak
from tests.reliability.helpers import connect, file_sha, kill
from tests.support import SidecarProcess, spawn_sidecar

ADDS = 300
CLIENTS = 10


def saved_rows_without_their_blob(data_dir: Path) -> tuple[int, list[str]]:
    """(saved rows, the ids of those whose blob is missing or wrong): read with sqlite3
    itself, as the killed sidecar left the file (WAL included)."""
    conn = sqlite3.connect(data_dir / "media.sqlite3")
    try:
        rows = conn.execute("SELECT id, sha256 FROM items WHERE status = 'saved'").fetchall()
    finally:
        conn.close()
    bad = []
    for item_id, sha in rows:
        blob = data_dir / "blobs" / sha[:2] / sha
        if not blob.is_file() or file_sha(blob) != sha:
            bad.append(item_id)
    return len(rows), bad


async def _adds_then_kill(sc: SidecarProcess, rnd: int, rng: random.Random) -> None:
    clients: list[Client] = [await connect(sc, timeout=30) for _ in range(CLIENTS)]

    async def add(i: int) -> None:
        data = os.urandom(rng.randrange(512, 64 * 1024))
        with contextlib.suppress(RemoteError, TimeoutError):  # only the rows are checked
            await clients[i % CLIENTS].call("addMediaItem", {
                "id": f"k{rnd}-{i}", "projectId": "p", "name": f"c{i}", "type": MediaType.VIDEO},
                payloads=[data])

    tasks = [asyncio.create_task(add(i)) for i in range(ADDS)]
    await asyncio.sleep(rng.uniform(0.1, 0.6))
    kill(sc)
    _, pending = await asyncio.wait(tasks, timeout=0.5)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for c in clients:
        await c.close()


@pytest.mark.timeout(soak(180, 1800))
async def test_no_saved_row_is_ever_without_its_blob_after_sigkill(
        tmp_path: Path, figures: Figures) -> None:
    rounds = soak(6, 40)
    rng = random.Random(20261130)
    data_dir = tmp_path / "data"
    env = {"MEDIA_SIDECAR_SPILL_DIR": str(tmp_path / "spill"),
           "MEDIA_SIDECAR_AUTO_RETRY": "0"}
    checked = 0
    for rnd in range(rounds):
        sc = spawn_sidecar(tmp_path, data_dir=data_dir, env=env)
        await _adds_then_kill(sc, rnd, rng)
        saved, bad = saved_rows_without_their_blob(data_dir)
        checked += saved
        assert bad == [], f"round {rnd}: saved rows without their blob after SIGKILL: {bad}"
    figures["rounds"] = rounds
    figures["saved rows checked (cumulative)"] = checked
    assert checked > 0
