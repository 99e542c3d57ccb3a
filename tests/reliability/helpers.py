"""Helpers of the reliability suite: raw signed frames, a raw async DEALER, process facts.

Frames are built and opened by ``sidecar.client.frames`` (as by every Python peer); a test
that needs a broken message changes the envelope or the bytes before ``signed``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
import zmq
import zmq.asyncio

from sidecar.client import Client
from sidecar.client.frames import Payload, RequestIds, open_message, request_envelope, seal
from sidecar.wire.codec import encode
from tests.support import SidecarProcess

_ids = RequestIds("r")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def request(method: str, params: dict[str, Any] | None = None, *, rid: str | None = None,
            ts: int | None = None) -> tuple[str, bytes]:
    """A request envelope, packed (to be signed, or broken first), and its id."""
    rid = rid or _ids.next()
    return rid, encode(request_envelope(method, params, rid, ts))


def signed(secret: bytes, env: bytes, payloads: Sequence[bytes] = ()) -> list[Payload]:
    return seal(secret, env, payloads)


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


async def connect(sc: SidecarProcess, *, hello: bool = True, timeout: float = 30) -> Client:
    return await Client.connect(sc.connection_file, hello=hello, timeout=timeout)


class RawDealer:
    """A bare async DEALER for tests that count every reply themselves."""

    def __init__(self, endpoint: str, secret: bytes) -> None:
        self.secret = secret
        self.ctx = zmq.asyncio.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.connect(endpoint)

    async def send(self, frames: Sequence[bytes]) -> None:
        await self.sock.send_multipart(list(frames))

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        """The next message from the server, signature checked, envelope decoded."""
        if not await self.sock.poll(int(timeout * 1000)):
            raise TimeoutError("no message from the server")
        return open_message(self.secret, await self.sock.recv_multipart()).raw

    async def call(self, method: str, params: dict[str, Any] | None = None,
                   payloads: Sequence[bytes] = (), timeout: float = 10) -> dict[str, Any]:
        rid, env = request(method, params)
        await self.send(signed(self.secret, env, payloads))
        while True:
            msg = await self.recv(timeout)
            if msg.get("id") == rid:
                return msg

    async def hello(self) -> dict[str, Any]:
        msg = await self.call("hello", {"protocol": "1.0.0"})
        assert msg["type"] == "reply", msg
        return msg

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


def close_pipes(sc: SidecarProcess) -> None:
    if sc.proc.stdout is not None and not sc.proc.stdout.closed:
        sc.proc.stdout.close()


def stop(sc: SidecarProcess) -> int:
    """SIGTERM, wait, and close our end of its stdout."""
    code = sc.stop()
    close_pipes(sc)
    return code


def kill(sc: SidecarProcess) -> None:
    """SIGKILL, reap, and close our end of its stdout."""
    if sc.proc.poll() is None:
        os.kill(sc.pid, 9)
        sc.proc.wait(10)
    close_pipes(sc)
