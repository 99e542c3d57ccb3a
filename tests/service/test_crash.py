"""Crash consistency: SIGKILL the service at random moments during concurrent adds, restart,
and check that every acknowledged saved item is there with its exact bytes, nothing
half-written is visible, and no temp file survives. Several rounds on one data dir.

Two children: the media service alone (tests/service/crash_child.py), and the real server
(``python -m sidecar serve``) driven through ``sidecar.client``. The kill lands anywhere in
the save pipeline: mid-write, between fsync and rename, between the blob and its row,
mid-commit.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.service.caller import make_settings, open_caller
from tests.support import ROOT, spawn_sidecar

ROUNDS = 4
SERVER_ROUNDS = 2  # each round starts the real server twice


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_acks(path: Path) -> tuple[dict[str, str], set[str]]:
    added: dict[str, str] = {}
    removing: set[str] = set()
    if not path.exists():
        return added, removing
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "add":
            added[parts[1]] = parts[2]
        elif len(parts) == 2 and parts[0] == "removing":
            removing.add(parts[1])
    return added, removing


def run_child(data_dir: Path, spill: Path, ack: Path, seed: int, rng: random.Random) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.service.crash_child", str(data_dir), str(spill),
         str(ack), str(seed)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        before = len(read_acks(ack)[0])
        deadline = time.monotonic() + 20
        while len(read_acks(ack)[0]) < before + 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.6))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.slow
async def test_acknowledged_saves_survive_sigkill_at_random_moments(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    settings = make_settings(tmp_path)
    ack = tmp_path / "acks.txt"
    for round_ in range(ROUNDS):
        run_child(settings.data_dir, settings.store.spill_dir, ack, rng.randrange(1 << 30),
                  rng)
        caller = await open_caller(settings)
        try:
            store = caller.service.store
            where = f"seed {seed}, round {round_}"
            assert list((settings.data_dir / "tmp").iterdir()) == [], where
            added, removing = read_acks(ack)
            assert added, where
            for item_id, digest in added.items():
                rec = store.get(item_id)
                if item_id in removing:
                    assert rec is None or rec.status == "saved", where
                    continue
                assert rec is not None, f"acknowledged {item_id} lost ({where})"
                assert rec.status == "saved" and rec.sha256 == digest, where
                assert file_sha(store.blob_path(digest)) == digest, where
            blobs = {p.name for p in (settings.data_dir / "blobs").rglob("*") if p.is_file()}
            referenced = set()
            for status in ("saved", "unsaved"):
                for rec in store.with_status(status):
                    if status == "saved":
                        assert rec.sha256 in blobs, f"{rec.id} without its blob ({where})"
                    if rec.sha256:
                        referenced.add(rec.sha256)
            assert blobs <= referenced, f"orphan blobs after recovery ({where})"
            for name in blobs:
                path = store.blob_path(name)
                assert file_sha(path) == name, f"blob {name} is torn ({where})"
        finally:
            await caller.close()
        conn = sqlite3.connect(settings.data_dir / "media.sqlite3")
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        finally:
            conn.close()


async def _server_round(tmp: Path, data_dir: Path, rng: random.Random,
                        acked: dict[str, str]) -> None:
    """Start the real server, add concurrently through the client, SIGKILL it mid-adds."""
    from sidecar.client import Client

    proc = spawn_sidecar(tmp, data_dir=data_dir)
    try:
        client = await Client.connect(proc.connection_file)
        shared = os.urandom(rng.randrange(1, 100_000))

        async def adder(worker: int) -> None:
            while True:
                data = shared if rng.random() < 0.2 else os.urandom(rng.randrange(1, 600_000))
                item_id = f"s{worker}-{os.urandom(6).hex()}"
                res = await client.call("addMediaItem", {
                    "id": item_id, "projectId": "p1", "name": item_id, "type": "video"},
                    payloads=[data])
                if res["durable"]:
                    acked[item_id] = hashlib.sha256(data).hexdigest()

        tasks = [asyncio.create_task(adder(w)) for w in range(4)]
        start = len(acked)
        deadline = time.monotonic() + 20
        while len(acked) < start + 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        proc.kill()  # SIGKILL
        for task in tasks:
            task.cancel()
        # A send to the dead peer may not notice a cancel; closing the client ends it.
        await asyncio.wait(tasks, timeout=1)
        await client.close()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        proc.kill()
        _close_pipes(proc.proc)


@pytest.mark.slow
async def test_acknowledged_saves_survive_sigkill_of_the_real_server(tmp_path: Path) -> None:
    from sidecar.client import Client

    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    acked: dict[str, str] = {}
    for round_ in range(SERVER_ROUNDS):
        where = f"seed {seed}, round {round_}"
        await _server_round(tmp_path, data_dir, rng, acked)
        assert acked, where
        proc = spawn_sidecar(tmp_path, data_dir=data_dir)
        try:
            async with await Client.connect(proc.connection_file) as client:
                await client.call("storageStatus")  # answered once the store is open
                assert list((data_dir / "tmp").iterdir()) == [], where  # recovery ran
                for item_id, digest in acked.items():
                    item = (await client.call("getMediaItem", {"id": item_id}))["item"]
                    assert item["status"] == "saved" and item["sha256"] == digest, where
                    assert file_sha(Path(item["localPath"])) == digest, where
                cursor = None
                while True:
                    params: dict[str, object] = {"projectId": "p1", "limit": 500}
                    if cursor:
                        params["cursor"] = cursor
                    page = await client.call("listMediaItems", params)
                    for item in page["items"]:
                        if item["status"] == "saved":
                            path = Path(item["localPath"])
                            assert file_sha(path) == item["sha256"], f"torn blob ({where})"
                    cursor = page["nextCursor"]
                    if cursor is None:
                        break
        finally:
            proc.stop()
            _close_pipes(proc.proc)


def _close_pipes(proc: subprocess.Popen[str]) -> None:
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
