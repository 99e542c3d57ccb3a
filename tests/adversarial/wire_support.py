"""Support for the adversarial wire tests: a sidecar to attack, raw signed frames, the
sidecar's memory as the kernel reports it, and a bystander that pings while an attack runs.

Everything goes to loopback; every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from sidecar.client.frames import open_message
from tests.reliability.helpers import RawDealer, kill, request, signed, stop
from tests.support import SidecarProcess, spawn_sidecar

MiB = 1024 * 1024


def status_kib(pid: int, field_name: str) -> int:
    """A ``/proc/<pid>/status`` figure in KiB (VmRSS, VmHWM, ...)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise KeyError(field_name)


def reset_peak(pid: int) -> None:
    """Make VmHWM start again from the current RSS (``clear_refs`` 5; same user or root)."""
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


@dataclass
class Memory:
    """The sidecar's RSS before an attack and its peak (VmHWM) during it, in MiB."""

    pid: int
    before: float = 0.0
    peak: float = 0.0
    after: float = 0.0

    def __enter__(self) -> Memory:
        self.before = status_kib(self.pid, "VmRSS") / 1024
        reset_peak(self.pid)
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak = status_kib(self.pid, "VmHWM") / 1024
        self.after = status_kib(self.pid, "VmRSS") / 1024

    @property
    def growth(self) -> float:
        return round(self.peak - self.before, 1)


@dataclass
class Bystander:
    """Another, honest client pinging every 10 ms while an attack runs: how long it waited."""

    dealer: RawDealer
    waits: list[float] = field(default_factory=list)
    failures: int = 0

    @property
    def worst_ms(self) -> float:
        return round(max(self.waits, default=0.0) * 1000, 1)

    @property
    def median_ms(self) -> float:
        w = sorted(self.waits)
        return round(w[len(w) // 2] * 1000, 2) if w else 0.0

    async def run(self, stop_at: asyncio.Event, limit: float) -> None:
        deadline = time.monotonic() + limit
        while not stop_at.is_set() and time.monotonic() < deadline:
            start = time.monotonic()
            try:
                msg = await self.dealer.call("ping", timeout=min(limit, 30))
                if msg.get("type") != "reply":
                    self.failures += 1
            except TimeoutError:
                self.failures += 1
            self.waits.append(time.monotonic() - start)
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def bystander(sc: SidecarProcess, limit: float = 60) -> AsyncIterator[Bystander]:
    dealer = RawDealer(sc.endpoint, sc.secret.encode())
    await dealer.hello()
    b = Bystander(dealer)
    done = asyncio.Event()
    task = asyncio.create_task(b.run(done, limit))
    try:
        await asyncio.sleep(0.05)
        yield b
    finally:
        done.set()
        await asyncio.wait_for(task, 35)
        dealer.close()


@contextlib.contextmanager
def attacked_sidecar(tmp: Path, *args: str, env: dict[str, str] | None = None,
                     data_dir: Path | None = None, secret: str | None = None,
                     prlimit_nofile: int | None = None) -> Iterator[SidecarProcess]:
    """A real sidecar on tcp loopback; with ``prlimit_nofile`` its fd limit (soft = hard)."""
    pre: tuple[str, ...] = ("-m", "sidecar")
    python = sys.executable
    if prlimit_nofile is not None:
        prlimit = shutil.which("prlimit")
        assert prlimit, "prlimit (util-linux) is needed"
        pre = (f"--nofile={prlimit_nofile}:{prlimit_nofile}", sys.executable, "-m", "sidecar")
        python = prlimit
    sc = spawn_sidecar(tmp, "--transport", "tcp", "--import-root", str(tmp), *args,
                       env=env, data_dir=data_dir, secret=secret, python=python,
                       pre_args=pre)
    try:
        yield sc
    finally:
        if sc.proc.poll() is None:
            try:
                stop(sc)
            except Exception:
                kill(sc)


class Attacker:
    """A peer driven from a worker thread (its own context, zero-copy sends), so that the
    test's event loop, where the bystander pings, is not the one stalled by sending."""

    def __init__(self, endpoint: str, secret_for_replies: bytes) -> None:
        self.secret = secret_for_replies
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def _exchange(self, frames: list[bytes], timeout: float) -> dict[str, Any]:
        self.sock.send_multipart(frames, copy=False)
        if not self.sock.poll(int(timeout * 1000)):
            raise TimeoutError("no reply from the sidecar")
        return open_message(self.secret, self.sock.recv_multipart()).raw

    async def exchange(self, frames: list[bytes], timeout: float = 60) -> dict[str, Any]:
        """Send one message and read the one reply, in a thread."""
        return await asyncio.to_thread(self._exchange, frames, timeout)

    async def try_exchange(self, frames: list[bytes], timeout: float) -> dict[str, Any] | None:
        """Like ``exchange``, but None when no reply comes within ``timeout`` (the sidecar
        cut the connection off before the message arrived whole)."""
        try:
            return await self.exchange(frames, timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


def alive(sc: SidecarProcess) -> bool:
    return sc.proc.poll() is None and os.path.exists(f"/proc/{sc.pid}")


class Sleeper:
    """A DEALER that sends requests and then does not read (tiny queues on its side, so the
    bytes pile up on the sidecar's side, as with a stalled renderer or main process)."""

    def __init__(self, endpoint: str, secret: bytes) -> None:
        self.secret = secret
        self.ctx = zmq.asyncio.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVHWM, 1)
        self.sock.setsockopt(zmq.RCVBUF, 4096)
        self.sock.connect(endpoint)

    async def send(self, method: str, params: dict[str, Any]) -> str:
        """Send one request without waiting; its id."""
        rid, env = request(method, params)
        await self.sock.send_multipart(signed(self.secret, env))
        return rid

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one request and read until its reply."""
        rid = await self.send(method, params)
        while True:
            msg = await self.recv(10)
            if msg.get("id") == rid:
                return msg

    async def recv(self, timeout: float) -> dict[str, Any]:
        if not await self.sock.poll(int(timeout * 1000)):
            raise TimeoutError("nothing from the sidecar")
        return open_message(self.secret, await self.sock.recv_multipart()).raw

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()
