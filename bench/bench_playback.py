"""Playback rows: electron-shim's media handler (the `media-sidecar:` scheme's code) in front
of a real sidecar, against node reading the same file, in the same run (bench_playback.mjs).

* stream: a 256 MiB saved item, GET through the handler read to its end, against
  ``fs.createReadStream`` of its blob (default 64 KiB chunks; and 512 KiB, the handler's);
* seek → first byte: a ``Range: bytes=<random>-`` request to its first body chunk (the
  getMediaSource round trip, open, first read), against ``fs.createReadStream({start})`` to
  its first chunk (open, first read); p50 and p99;
* held: an unsaved item held in the sidecar's memory, streamed with readMediaRange.

The shim is built first (``npm run build`` → electron-shim/dist).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.stats import median, paired_ratio, percentile
from bench.table import Row

ROOT = Path(__file__).resolve().parent.parent
SHIM = ROOT / "electron-shim"
MIB = 1 << 20


def _measure(mib: int, reps: int, seeks: int) -> dict[str, Any]:
    subprocess.run(["npm", "run", "--silent", "build"], cwd=SHIM, check=True, timeout=300,
                   capture_output=True)
    done = subprocess.run(["node", str(ROOT / "bench" / "bench_playback.mjs"), "--mib", str(mib),
                           "--reps", str(reps), "--seeks", str(seeks)],
                          cwd=ROOT, check=True, timeout=600, capture_output=True, text=True)
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def _rate(size: int, seconds: list[float]) -> float:
    return size / median(seconds) / 1e6


def run(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    mib, reps, seeks = (32, 3, 50) if quick else (256, 11, 200)
    d = _measure(mib, reps, seeks)
    st, held, seek = d["stream"], d["held"], d["seek"]
    size = st["bytes"]
    rows = [
        Row(f"playback: stream a {mib} MiB saved item (handler)", _rate(size, st["handler"]),
            "MB/s", "fs.createReadStream (64 KiB chunks)", _rate(size, st["fs"]),
            better="higher", target=0.8, paired=paired_ratio(st["fs"], st["handler"]),
            note="GET through createMediaHandler, body read to the end; 512 KiB fd reads"),
        Row(f"playback: stream a {mib} MiB saved item (handler)", _rate(size, st["handler"]),
            "MB/s", "fs.createReadStream (512 KiB chunks)", _rate(size, st["fs512"]),
            better="higher", target=0.8, paired=paired_ratio(st["fs512"], st["handler"]),
            note="the same chunk size on both sides"),
        Row("playback: seek → first byte, p50", median(seek["handler"]), "ms",
            "fs.createReadStream({start}) first chunk", median(seek["fs"]),
            note=f"{len(seek['handler'])} random seeks; + the getMediaSource round trip"),
        Row("playback: seek → first byte, p99", percentile(seek["handler"], 99), "ms",
            "fs.createReadStream({start}) first chunk", percentile(seek["fs"], 99)),
        Row(f"playback: stream a {held['bytes'] // MIB} MiB unsaved item from memory",
            _rate(held["bytes"], held["handler"]), "MB/s", "fs.createReadStream (64 KiB)",
            _rate(held["bytes"], held["fs"]), better="higher",
            paired=paired_ratio(held["fs"], held["handler"]),
            note=f"readMediaRange, 1 MiB ranges, one in flight (held in {d['heldWhere']})"),
    ]
    info = {"openStreamsAfter": d["openStreamsAfter"], "heldStatus": d["heldStatus"]}
    return rows, info
