"""Helpers of the file, path and download attacks (test_fs_*.py, test_fetch_*.py).

A real sidecar process, real HTTPS servers on 127.0.0.1 (``tests.fetch.server`` with a trustme
CA) reached through host resolver rules, and the sidecar's peak RSS from the kernel
(``VmHWM``: the high-water mark, so no sampling can miss a spike).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import trustme

from tests.fetch.server import MediaServer
from tests.reliability.helpers import RawDealer
from tests.support import SidecarProcess, spawn_sidecar

MiB = 1024 * 1024


def peak_rss(pid: int) -> int:
    """The process's peak resident set size in bytes (VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


@contextlib.contextmanager
def https_hosts(tmp: Path, names: tuple[str, ...] = ("fal.media", "*.fal.media")
                ) -> Iterator[tuple[MediaServer, Path]]:
    """A loopback HTTPS server with a certificate for ``names``, and the CA file."""
    ca = trustme.CA()
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with MediaServer(ca, names) as server:
        yield server, ca_file


def fetch_env(server: MediaServer, ca_file: Path, **extra: str) -> dict[str, str]:
    """Environment of a sidecar whose fal.media hosts are the loopback server."""
    p = server.port
    return {"MEDIA_SIDECAR_HOST_RESOLVER_RULES":
            f"MAP fal.media 127.0.0.1:{p}, MAP *.fal.media 127.0.0.1:{p}",
            "MEDIA_SIDECAR_CA_FILE": str(ca_file),
            "MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES": "1",
            "MEDIA_SIDECAR_DOWNLOAD_BACKOFF_BASE": "0.01",
            "MEDIA_SIDECAR_DOWNLOAD_BACKOFF_MAX": "0.05",
            **extra}


# Every attack's memory budget: the sidecar's peak RSS over its whole life (it idles at ~45 MiB).
RSS_BUDGET = 300 * MiB


@contextlib.contextmanager
def running(tmp: Path, *args: str, env: dict[str, str] | None = None
            ) -> Iterator[SidecarProcess]:
    """A real sidecar for the block; afterwards its peak RSS must be within RSS_BUDGET."""
    sc = spawn_sidecar(tmp, *args, env=env)
    try:
        yield sc
        peak = peak_rss(sc.pid)
        assert peak < RSS_BUDGET, f"peak RSS {peak // MiB} MiB, over the budget"
    finally:
        sc.stop()


@contextlib.asynccontextmanager
async def dealer(sc: SidecarProcess) -> AsyncIterator[RawDealer]:
    d = RawDealer(sc.endpoint, sc.secret.encode())
    try:
        await d.hello()
        yield d
    finally:
        d.close()


def code_of(msg: dict[str, Any]) -> str:
    return str(msg["error"]["code"]) if msg["type"] == "error" else "ok"


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.monotonic()

    @property
    def elapsed(self) -> float:
        return round(time.monotonic() - self.start, 2)


def no_traceback(sc: SidecarProcess) -> bool:
    text = sc.stderr()
    return "Traceback" not in text and '"internal"' not in text


def tree_modes(*roots: Path) -> dict[str, str]:
    """Every file and directory under ``roots`` (links not followed) with its mode, octal."""
    out: dict[str, str] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in [*dirnames, *filenames]:
                p = Path(dirpath) / name
                out[str(p)] = oct(p.lstat().st_mode & 0o7777)
        out[str(root)] = oct(root.lstat().st_mode & 0o7777)
    return out
