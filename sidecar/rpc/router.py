"""The bound ZeroMQ ROUTER socket. Frames in, frames out, nothing else.

It runs on the event loop without zmq.asyncio's futures: the socket's file descriptor is
watched with ``loop.add_reader`` and every readable message is drained at once and handed to
a callback. ZeroMQ's descriptor is edge-triggered, so after every send the socket's EVENTS
are checked again (a send may consume the edge that announced pending input).

The signature is received as bytes (copying a small frame is cheaper than building a
zmq.Frame); the routing identity as a zmq.Frame, whose ``ZMQ_SRCFD`` names the connection
it came in on (``sidecar.rpc.connections``); the envelope and the payload frames, which may be
large (an envelope is refused over ``maxEnvelopeBytes`` but arrives whole first), are
received without copying (``copy=False`` gives zmq.Frame objects whose buffers are read in
place). ``ZMQ_MAXMSGSIZE`` makes libzmq drop a peer that sends a
frame over the limit before it is buffered. ROUTER never blocks on send: at the high-water
mark or for a vanished peer the message is dropped, which is what a server wants.

What libzmq holds before the sidecar sees a message: a multipart message is delivered
whole, so its frames (each at most ``ZMQ_MAXMSGSIZE``) are buffered by libzmq until the
last one arrives; no socket option bounds their number. ``RCVHWM`` bounds the whole
messages queued per peer. The sidecar frees a refused message at once (see
``sidecar.rpc.inbound``), and ``sidecar.rpc.connections`` closes a tcp connection without hello that
sends more than a hello needs, before libzmq has assembled its message (docs/PROTOCOL.md,
"The wire: what is promised against hostile input").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import cast

import zmq
from zmq.backend import Socket as _BackendSocket

from sidecar.portable.process import IPC_AVAILABLE

log = logging.getLogger("sidecar.rpc.router")

# The hot path calls the compiled socket's send/recv/get directly, with int flags: pyzmq's
# Python layer (send_multipart, enum flag arithmetic, option lookup) costs several times the
# send itself for small frames. Same calls, same semantics, minus the wrappers.
_send = _BackendSocket.send
_recv = _BackendSocket.recv
_get = _BackendSocket.get
_NOBLOCK = int(zmq.NOBLOCK)
_MORE_NOBLOCK = int(zmq.SNDMORE | zmq.NOBLOCK)
_EVENTS = int(zmq.EVENTS)
_RCVMORE = int(zmq.RCVMORE)
_POLLIN = int(zmq.POLLIN)
OnFrames = Callable[[list[zmq.Frame | bytes]], None]

IPC_PATH_MAX = 107
ZERO_COPY_BYTES = 64 * 1024  # larger frames are handed to libzmq without a copy


def _put(sock: zmq.Socket[bytes], frame: bytes | bytearray | memoryview, flags: int) -> None:
    """Queue one frame; a large one (a reply payload) without copying it (pyzmq keeps a
    reference until libzmq has sent it). Payloads are bytes or flat byte views."""
    if len(frame) < ZERO_COPY_BYTES:
        _send(sock, frame, flags)
    else:
        _send(sock, frame, flags, copy=False)


SMALL_FRAMES = 2  # the signature is received as bytes (identity: a Frame, for SRCFD)
RCVHWM = 1_000  # whole messages queued per peer before libzmq stops reading from it


class Router:
    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]], max_frame_bytes: int,
                 linger_ms: int) -> None:
        self._sock: zmq.Socket[bytes] = ctx.socket(zmq.ROUTER)
        self._sock.setsockopt(zmq.MAXMSGSIZE, max_frame_bytes)
        self._sock.setsockopt(zmq.LINGER, linger_ms)
        self._sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self._sock.setsockopt(zmq.SNDHWM, 10_000)
        self._sock.setsockopt(zmq.RCVHWM, RCVHWM)
        self.endpoint = ""
        self._ipc_path: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_frames: OnFrames | None = None
        self._scheduled = False
        self._draining = False

    def bind(self, endpoint: str) -> str:
        """Bind and return the real endpoint (with the port chosen for ``tcp://...:0``)."""
        if endpoint.startswith("tcp://") and endpoint.endswith(":0"):
            port = self._sock.bind_to_random_port(endpoint.rsplit(":", 1)[0])
            self.endpoint = f"{endpoint.rsplit(':', 1)[0]}:{port}"
        else:
            self._sock.bind(endpoint)
            last = self._sock.getsockopt(zmq.LAST_ENDPOINT)
            self.endpoint = last.decode() if isinstance(last, bytes) else endpoint
        if self.endpoint.startswith("ipc://"):
            self._ipc_path = Path(self.endpoint[len("ipc://"):])
            os.chmod(self._ipc_path, 0o600)
        return self.endpoint

    def start(self, loop: asyncio.AbstractEventLoop, on_frames: OnFrames) -> None:
        """Deliver every received message to ``on_frames`` on ``loop``."""
        self._loop = loop
        self._on_frames = on_frames
        loop.add_reader(self._fd(), self._drain)
        self._schedule()

    def stop_receiving(self) -> None:
        if self._loop is not None and not self._sock.closed:
            self._loop.remove_reader(self._fd())
        self._on_frames = None

    @property
    def socket(self) -> zmq.Socket[bytes]:
        return self._sock

    def _fd(self) -> int:
        fd = self._sock.getsockopt(zmq.FD)
        assert isinstance(fd, int)
        return fd

    def _readable(self) -> bool:
        return bool(cast(int, _get(self._sock, _EVENTS)) & _POLLIN)

    def _schedule(self) -> None:
        if self._loop is not None and not self._scheduled and self._on_frames is not None:
            self._scheduled = True
            self._loop.call_soon(self._drain)

    def _recv_message(self) -> list[zmq.Frame | bytes]:
        """One whole multipart message (libzmq delivers all parts or none)."""
        sock = self._sock
        frames: list[zmq.Frame | bytes] = [_recv(sock, _NOBLOCK, False)]
        while _get(sock, _RCVMORE):
            frames.append(_recv(sock, _NOBLOCK, len(frames) == 1))
        return frames

    def _drain(self) -> None:
        self._scheduled = False
        sock = self._sock
        budget = 256  # yield to the loop now and then under a flood
        self._draining = True  # sends below need not re-check EVENTS: this loop does
        # A wake-up almost always has a message: try it first and ask EVENTS only between
        # messages (one EVENTS call per message instead of two); after a miss, EVENTS is
        # read once so the edge-triggered descriptor is re-armed as libzmq requires.
        first = True
        try:
            while self._on_frames is not None and not sock.closed:
                if not first and not self._readable():
                    return
                first = False
                try:
                    frames = self._recv_message()
                except zmq.Again:
                    if self._readable():
                        self._schedule()
                    return
                try:
                    self._on_frames(frames)
                except Exception:
                    log.exception("message handler failed")
                budget -= 1
                if budget == 0:
                    self._schedule()
                    return
        finally:
            self._draining = False

    def send(self, identity: bytes, *frames: bytes | bytearray | memoryview) -> None:
        sock = self._sock
        if sock.closed:
            return
        try:
            # All parts are queued atomically by libzmq when the last one is sent; a ROUTER
            # with NOBLOCK never fails midway for one peer (it drops the whole message).
            _send(sock, identity, _MORE_NOBLOCK)
            for frame in frames[:-1]:
                _put(sock, frame, _MORE_NOBLOCK)
            _put(sock, frames[-1], _NOBLOCK)
        except zmq.Again:
            pass  # peer at its high-water mark: dropped, as ROUTER would
        except zmq.ZMQError as exc:
            if exc.errno != zmq.EHOSTUNREACH:
                log.warning("send failed: %s", exc)
        if not self._draining and self._readable():
            self._schedule()

    def close(self) -> None:
        self.stop_receiving()
        self._sock.close()
        if self._ipc_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._ipc_path.unlink()


def ipc_supported() -> bool:
    return IPC_AVAILABLE and bool(zmq.has("ipc"))


def default_endpoint(runtime_dir: Path, transport: str) -> str:
    """ipc in the owner-only runtime dir, or tcp on loopback where ipc cannot be used."""
    if transport == "ipc" and ipc_supported():
        path = runtime_dir / f"sidecar-{os.getpid()}.sock"
        if len(str(path)) <= IPC_PATH_MAX:
            return f"ipc://{path}"
    return "tcp://127.0.0.1:0"
