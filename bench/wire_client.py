"""A minimal synchronous, signed pyzmq DEALER client for the benches.

It does the least a correct client must (sign each request with a fresh id and ``ts``, by
``sidecar.client.frames`` like every Python peer) and prebuilds the frames of a batch before
the clock starts, so a figure measures the server and not the client. Replies are checked
for their id only in the timed loop; ``call`` (untimed) opens the reply (signature checked,
decoded).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import zmq

from sidecar.client.frames import Framer, ReceivedEvent, result_of

Frames = list[bytes]


class WireClient:
    def __init__(self, endpoint: str, secret: bytes, timeout_ms: int = 60_000) -> None:
        self.framer = Framer(secret)
        self._ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.sock = self._ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
        self.sock.connect(endpoint)

    def frames(self, method: str, params: dict[str, Any] | None = None,
               payloads: Sequence[bytes | memoryview] = ()) -> tuple[str, list[Any]]:
        request = self.framer.request(method, params, payloads)
        return request.id, request.frames

    def call(self, method: str, params: dict[str, Any] | None = None,
             payloads: Sequence[bytes | memoryview] = ()) -> dict[str, Any]:
        rid, frames = self.frames(method, params, payloads)
        self.sock.send_multipart(frames, copy=len(payloads) == 0)
        while True:
            got = self.framer.open(self.sock.recv_multipart())
            if not isinstance(got, ReceivedEvent) and got.id == rid:
                return result_of(got, method)

    def hello(self) -> dict[str, Any]:
        return self.call("hello", {"protocol": "1.0.0",
                                   "client": {"name": "bench", "version": "0"}})

    def raw_reply_sizes(self, method: str) -> list[int]:
        """The frame sizes of one reply to ``method`` (for echo baselines of equal shape)."""
        _, frames = self.frames(method)
        self.sock.send_multipart(frames)
        return [len(f) for f in self.sock.recv_multipart()]

    def close(self) -> None:
        self.sock.close(0)
        self._ctx.term()


def round_trips(sock: zmq.Socket[bytes], batch: list[list[Any]]) -> list[float]:
    """One request at a time; returns each round trip in seconds."""
    out: list[float] = []
    clock = time.perf_counter
    send, recv = sock.send_multipart, sock.recv_multipart
    for frames in batch:
        t0 = clock()
        send(frames)
        recv()
        out.append(clock() - t0)
    return out


def pipelined(sock: zmq.Socket[bytes], batch: list[list[Any]], depth: int) -> float:
    """Keep ``depth`` requests in flight until the batch is answered; returns requests/s."""
    send, recv = sock.send_multipart, sock.recv_multipart
    n = len(batch)
    t0 = time.perf_counter()
    sent = 0
    for frames in batch[:depth]:
        send(frames)
        sent += 1
    for _ in range(n):
        recv()
        if sent < n:
            send(batch[sent])
            sent += 1
    return n / (time.perf_counter() - t0)
