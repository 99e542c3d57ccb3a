"""Crash consistency: SIGKILL the service at random moments during concurrent adds, restart,
and check that every acknowledged saved item is there with its exact bytes, nothing
half-written is visible, and no temp file survives. Several rounds on one data dir.

The child runs the media service itself (tests/service/crash_child.py); the kill lands
anywhere in the save pipeline: mid-write, between fsync and rename, between the blob and
its row, mid-commit.
"""

from __future__ import annotations

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

from tests.service.harness import make_settings, open_caller
from tests.support import ROOT

ROUNDS = 4


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
