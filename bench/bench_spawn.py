"""Start-up: spawn → ready line → ``hello`` answered, against importing the dependencies.

The sidecar is spawned as a launcher does (secret by environment, a fresh data dir), its
ready line read from stdout, then a DEALER connects and sends a signed ``hello``; the figure
is the wall time from ``Popen`` to the hello reply. The baseline is the wall time of
``python -c 'import zmq, msgpack, httpx, pydantic'`` (what any Python sidecar with these
dependencies pays before doing anything). Runs are interleaved.

The sidecar prints its ready line and answers ``hello`` before pydantic, the store and the
service load (``sidecar.rpc.early``); the parts below say what each stage imports. Sources
are byte-compiled first (``compileall``), as an installed package or the frozen build is:
with ``PYTHONDONTWRITEBYTECODE`` set, every spawn would otherwise compile the sidecar's
sources again, which no user's start pays.
"""

from __future__ import annotations

import compileall
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.procs import ROOT, start_sidecar
from bench.stats import interleave, median, paired_ratio
from bench.table import Row
from bench.wire_client import WireClient

DEPS = "import zmq, msgpack, httpx, pydantic"
FLOOR = Path(__file__).resolve().parent / "boot_floor.py"


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


def floor_once(root: Path) -> float:
    """Seconds to the hello reply of bench/boot_floor.py (the split start-up's floor)."""
    work = Path(tempfile.mkdtemp(prefix="floor-", dir=root))
    secret = secrets.token_hex(32)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(FLOOR), str(work / "run")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "MEDIA_SIDECAR_SECRET": secret})
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    client = WireClient(ready["endpoint"], secret.encode())
    client.hello()
    elapsed = time.perf_counter() - t0
    client.close()
    proc.kill()
    proc.wait()
    proc.stdout.close()
    return elapsed


def imports_once() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", DEPS], check=True)
    return time.perf_counter() - t0


def python_once(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


# What start-up is made of, each in a fresh interpreter: the floor of any asyncio ZeroMQ
# server, that plus pydantic's BaseModel, what serve imports before its ready line, and
# that plus what it loads after it (the protocol models, the store, the service).
PARTS = {
    "bare interpreter": "pass",
    "import asyncio, zmq, msgpack": "import asyncio, zmq, msgpack",
    "+ pydantic BaseModel": "import asyncio, zmq, msgpack; from pydantic import BaseModel",
    "import protocol (GC off)": "import gc; gc.disable(); import protocol",
    "before the ready line: serve's imports (GC off)":
        "import gc; gc.disable(); import sidecar.cli.main, sidecar.cli.serve_cmd, sidecar.app",
    "+ after it: models, store, service (GC off)":
        "import gc; gc.disable(); import sidecar.app; sidecar.app._import_heavy()",
}


def compile_sources() -> None:
    """Byte-compile the sidecar's sources (what ``pip install`` and ``make dist`` do)."""
    for package in ("sidecar", "protocol"):
        compileall.compile_dir(ROOT / package, quiet=1)


def run(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    reps = 5 if quick else 21
    root = Path(tempfile.mkdtemp(prefix="bench-spawn-"))
    compile_sources()
    spawn_once(root)  # warm the page cache and the bytecode caches
    imports_once()
    floor_once(root)
    variants: dict[str, Any] = {"spawn": lambda: spawn_once(root), "deps": imports_once,
                                "floor": lambda: floor_once(root)}
    for name, code in PARTS.items():
        variants[name] = lambda code=code: python_once(code)
    res = interleave(reps, variants)
    ready = median([r[0] for r in res["spawn"]]) * 1e3
    hello = median([r[1] for r in res["spawn"]]) * 1e3
    deps = median(res["deps"]) * 1e3
    rows = [Row("spawn → ready line + hello answered", hello, "ms",
                "python -c 'import zmq, msgpack, httpx, pydantic'", deps, target=0.7,
                paired=paired_ratio([r[1] for r in res["spawn"]], res["deps"]),
                note=f"ready line alone {ready:.0f} ms; pydantic, the store and the service "
                     "load after it")]
    rows.append(Row("  design floor: ready + hello before the heavy imports",
                    median(res["floor"]) * 1e3, "ms", "the dependency imports", deps,
                    paired=paired_ratio(res["floor"], res["deps"]),
                    note="bench/boot_floor.py: the split start-up's first phase alone"))
    parts = {name: median(res[name]) * 1e3 for name in PARTS}
    for name, ms in parts.items():
        rows.append(Row(f"  start-up part: {name}", ms, "ms", "the dependency imports", deps,
                        paired=paired_ratio(res[name], res["deps"]),
                        note="what start-up is made of (no target)"))
    return rows, {"readyMs": ready, "helloMs": hello, "depsMs": deps, "partsMs": parts}
