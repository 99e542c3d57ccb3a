"""The frozen sidecar (``make dist``) against the venv: spawn → ready line → ``hello``
answered, both in the same run (interleaved), and the build's size on disk.

The frozen build is found in ``dist/media-sidecar/`` (built with packaging/build.py when it
is missing or older than the sources). Both are spawned as the shim spawns them: the secret
by environment, a fresh data dir, the ready line read from stdout, then a signed ``hello``.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.bench_spawn import DEPS, compile_sources, imports_once
from bench.procs import PY, ROOT, _read_ready
from bench.stats import interleave, median, paired_ratio
from bench.table import Row
from bench.wire_client import WireClient

DIST = ROOT / "dist" / "media-sidecar"
BINARY = DIST / "media-sidecar"


def ensure_build() -> float | None:
    """Build when missing or stale; the seconds the build took (None: it was up to date)."""
    newest_source = max(p.stat().st_mtime for pkg in ("sidecar", "protocol")
                        for p in (ROOT / pkg).rglob("*") if p.is_file())
    if BINARY.exists() and BINARY.stat().st_mtime >= newest_source:
        return None
    t0 = time.perf_counter()
    subprocess.run([PY, str(ROOT / "packaging" / "build.py")], check=True, cwd=ROOT)
    return time.perf_counter() - t0


def spawn_once(argv: list[str], root: Path) -> tuple[float, float]:
    """(seconds to the ready line, seconds to the hello reply)."""
    import json

    work = Path(tempfile.mkdtemp(prefix="spawn-", dir=root))
    secret = secrets.token_hex(32)
    env = {**os.environ, "MEDIA_SIDECAR_SECRET": secret}
    cmd = [*argv, "serve", "--data-dir", str(work / "data"), "--runtime-dir", str(work / "run"),
           "--log-level", "warning"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=root)
    try:
        ready = json.loads(_read_ready(proc, 30.0, None))
        t_ready = time.perf_counter() - t0
        client = WireClient(str(ready["endpoint"]), secret.encode())
        client.hello()
        t_hello = time.perf_counter() - t0
        client.close()
    finally:
        proc.terminate()
        proc.wait(15)
        if proc.stdout is not None:
            proc.stdout.close()
    return t_ready, t_hello


def size_on_disk(root: Path) -> tuple[int, int]:
    """(bytes, files) of a directory tree, symlinks not followed."""
    total = files = 0
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
            files += 1
    return total, files


def run(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    build_s = ensure_build()
    reps = 5 if quick else 15
    root = Path(tempfile.mkdtemp(prefix="bench-frozen-"))
    variants = {"frozen": [str(BINARY)], "venv": [PY, "-m", "sidecar"]}
    compile_sources()
    for argv in variants.values():
        spawn_once(argv, root)  # warm the page cache and the bytecode caches
    imports_once()
    def spawner(argv: list[str]) -> Callable[[], tuple[float, float]]:
        return lambda: spawn_once(argv, root)

    runs = {k: spawner(a) for k, a in variants.items()}
    runs["deps"] = lambda: (0.0, imports_once())  # (no ready line, the imports)
    res = interleave(reps, runs)
    deps = [r[1] for r in res.pop("deps")]
    hello = {k: median([r[1] for r in v]) * 1e3 for k, v in res.items()}
    ready = {k: median([r[0] for r in v]) * 1e3 for k, v in res.items()}
    size, files = size_on_disk(DIST)
    lib = sum(p.stat().st_size for p in DIST.rglob("libpython*") if p.is_file())
    rows = [
        Row("spawn → hello: frozen build (onedir)", hello["frozen"], "ms",
            "the venv: python -m sidecar serve", hello["venv"], target=1.0,
            paired=paired_ratio([r[1] for r in res["frozen"]], [r[1] for r in res["venv"]]),
            note=f"ready line alone {ready['frozen']:.0f} ms vs {ready['venv']:.0f} ms"),
        Row("spawn → ready line + hello: frozen build", hello["frozen"], "ms",
            f"python -c '{DEPS}'", median(deps) * 1e3, target=0.7,
            paired=paired_ratio([r[1] for r in res["frozen"]], deps),
            note="the start-up row, measured the same way for the frozen build"),
        Row("frozen build: size on disk", size / 2**20, "MiB",
            note=f"{files} files, libpython {lib / 2**20:.0f} MiB"
                 + (f"; built in {build_s:.0f} s" if build_s is not None else "")),
    ]
    return rows, {"helloMs": hello, "readyMs": ready, "sizeBytes": size, "files": files,
                  "buildSeconds": build_s}
