"""Start-up: spawn → ready line → ``hello`` answered, against importing the dependencies.

The sidecar is spawned as a launcher does (secret by environment, a fresh data dir), its
ready line read from stdout, then a DEALER connects and sends a signed ``hello``; the figure
is the wall time from ``Popen`` to the hello reply. The baseline is the wall time of
``python -c 'import zmq, msgpack, httpx, pydantic'`` (what any Python sidecar with these
dependencies pays before doing anything). Runs are interleaved.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.procs import start_sidecar
from bench.stats import interleave, median, paired_ratio
from bench.table import Row
from bench.wire_client import WireClient

DEPS = "import zmq, msgpack, httpx, pydantic"


def spawn_once(root: Path) -> tuple[float, float]:
    """(seconds to the ready line, seconds to the hello reply)."""
    work = Path(tempfile.mkdtemp(prefix="spawn-", dir=root))
    t0 = time.perf_counter()
    child = start_sidecar(work)
    t_ready = time.perf_counter() - t0
    client = WireClient(child.endpoint, child.secret)
    client.hello()
    t_hello = time.perf_counter() - t0
    client.close()
    child.stop()
    return t_ready, t_hello


def imports_once() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", DEPS], check=True)
    return time.perf_counter() - t0


def bare_once() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t0


def run(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    reps = 5 if quick else 21
    root = Path(tempfile.mkdtemp(prefix="bench-spawn-"))
    spawn_once(root)  # warm the page cache and the bytecode caches
    imports_once()
    res = interleave(reps, {"spawn": lambda: spawn_once(root), "deps": imports_once,
                            "bare": bare_once})
    ready = median([r[0] for r in res["spawn"]]) * 1e3
    hello = median([r[1] for r in res["spawn"]]) * 1e3
    deps = median(res["deps"]) * 1e3
    bare = median(res["bare"]) * 1e3
    rows = [Row("spawn → ready line + hello answered", hello, "ms",
                "python -c 'import zmq, msgpack, httpx, pydantic'", deps, target=0.7,
                paired=paired_ratio([r[1] for r in res["spawn"]], res["deps"]),
                note=f"ready line alone {ready:.0f} ms; bare interpreter {bare:.0f} ms")]
    return rows, {"readyMs": ready, "helloMs": hello, "depsMs": deps, "bareMs": bare}
