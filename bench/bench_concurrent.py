"""16 clients each adding 8 MiB inline at once: aggregate MB/s against 16 raw writers.

Each client is its own DEALER socket (its own session, hello'd); all 16 requests are signed
and built before the clock, sent back to back, and the figure is 16 × 8 MiB over the time
until the last durable reply. The raw baseline is 16 threads each doing temp + write + fsync
+ rename + dir fsync of 8 MiB into one directory, started together (the GIL is released
in every write and fsync, so they overlap like 16 writers do). Interleaved repetitions,
new bytes every time.
"""

# ruff: noqa: RUF001, RUF002
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.bench_media import _raw_durable_write
from bench.procs import start_sidecar
from bench.stats import interleave, median, paired_ratio
from bench.table import Row
from bench.wire_client import WireClient
from protocol.vocabulary import MediaType

MIB = 1 << 20


def _raw_parallel(n: int, mib: int, directory: Path) -> float:
    datas = [os.urandom(mib * MIB) for _ in range(n)]
    start = threading.Barrier(n + 1)
    threads = [threading.Thread(target=lambda d=d: (start.wait(), _raw_durable_write(
        d, directory))) for d in datas]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    for p in directory.iterdir():
        p.unlink()
    return n * mib * MIB / elapsed / 1e6


def _sidecar_parallel(clients: list[WireClient], mib: int) -> float:
    prepared = []
    for i, c in enumerate(clients):
        rid, frames = c.frames("addMediaItem", {"projectId": "many", "name": f"c{i}.mp4",
                                                "type": MediaType.VIDEO}, [os.urandom(mib * MIB)])
        prepared.append((c, rid, frames))
    t0 = time.perf_counter()
    for c, _, frames in prepared:
        c.sock.send_multipart(frames, copy=False)
    for c, rid, _ in prepared:
        while True:
            reply = c.sock.recv_multipart()
            if rid.encode() in reply[1]:
                break
        if b"durable\xc3" not in reply[1]:
            raise RuntimeError(f"add not durable: {reply[1][:300]!r}")
    elapsed = time.perf_counter() - t0
    return len(clients) * mib * MIB / elapsed / 1e6


def run(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    n, mib = 16, 8
    reps = 3 if quick else 7
    work = Path(tempfile.mkdtemp(prefix="bench-concurrent-"))
    raw_dir = work / "raw"
    raw_dir.mkdir()
    side = start_sidecar(work / "side")
    clients: list[WireClient] = []
    try:
        clients = [WireClient(side.endpoint, side.secret, timeout_ms=600_000)
                   for _ in range(n)]
        for c in clients:
            c.hello()
        _sidecar_parallel(clients[:2], 1)  # warm-up
        _raw_parallel(2, 1, raw_dir)
        res = interleave(reps, {"sidecar": lambda: _sidecar_parallel(clients, mib),
                                "raw": lambda: _raw_parallel(n, mib, raw_dir)})
    finally:
        for c in clients:
            c.close()
        side.stop()
        shutil.rmtree(work, ignore_errors=True)
    s, r = median(res["sidecar"]), median(res["raw"])
    row = Row(f"{n} clients × {mib} MiB inline at once (durable)", s, "MB/s",
              f"{n} raw writers (temp+write+fsync+rename+dir-fsync)", r, better="higher",
              target=0.8, paired=paired_ratio(res["sidecar"], res["raw"]),
              note="aggregate over all 16; the sidecar also hashes each add and commits "
                   "its row")
    return [row], {"sidecarMBs": res["sidecar"], "rawMBs": res["raw"]}
