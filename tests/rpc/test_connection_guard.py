"""The connection guard's byte watch, in process, on a real ROUTER and real tcp connections.

A connection without hello is a stranger: the guard reads what each one has received on
every arrival of its bytes, drops one past ``stranger_bytes``, drops the largest while all
of them together are past ``strangers_total``, and never drops an authenticated one for its
bytes. Each peer watches its own connection with a socket monitor, so "dropped" is what the
peer sees: the server closed it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import zmq
import zmq.asyncio

from sidecar.rpc.connections import ConnectionGuard
from sidecar.rpc.early import source_fd

MiB = 1 << 20
WAIT_S = 10.0  # every wait here is bounded by this

@dataclass
class Guarded:
    """The server side as the sidecar has it: a plain ROUTER and its guard on this loop (the
    application's reads are done in a thread here, so the loop stays the guard's)."""

    router: zmq.Socket[bytes]
    guard: ConnectionGuard
    endpoint: str
    peers_ctx: zmq.asyncio.Context
    gone: list[tuple[bytes, int]] = field(default_factory=list)

    async def recv(self) -> list[zmq.Frame]:
        frames: list[zmq.Frame] = await asyncio.to_thread(self.router.recv_multipart,
                                                          copy=False)
        return frames


@asynccontextmanager
async def guarded(*, stranger_bytes: int, strangers_total: int) -> AsyncIterator[Guarded]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    peers_ctx = zmq.asyncio.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.RCVTIMEO, int(WAIT_S * 1000))
    router.bind("tcp://127.0.0.1:0")
    endpoint = router.getsockopt_string(zmq.LAST_ENDPOINT)
    gone: list[tuple[bytes, int]] = []
    guard = ConnectionGuard(ctx, router, 64, 60.0, lambda i, fd: gone.append((i, fd)),
                            stranger_bytes=stranger_bytes, strangers_total=strangers_total)
    guard.start(asyncio.get_running_loop())
    try:
        yield Guarded(router, guard, endpoint, peers_ctx, gone)
    finally:
        guard.close()
        router.close(0)
        peers_ctx.term()
        ctx.term()


@dataclass
class Peer:
    """A DEALER that does not reconnect, with a monitor that says when the server closed it."""

    sock: zmq.asyncio.Socket
    monitor: zmq.asyncio.Socket
    closed: bool = False

    async def connected(self) -> None:
        await self._until(zmq.EVENT_CONNECTED)

    async def closed_by_server(self, within: float) -> bool:
        if not self.closed:
            try:
                await asyncio.wait_for(self._until(zmq.EVENT_DISCONNECTED), within)
                self.closed = True
            except TimeoutError:
                pass
        return self.closed

    async def _until(self, wanted: int) -> None:
        while True:
            frames = await self.monitor.recv_multipart()
            event = int.from_bytes(frames[0][:2], "little")
            if event == zmq.EVENT_DISCONNECTED:
                self.closed = True
            if event == wanted:
                return

    def close(self) -> None:
        self.monitor.close(0)
        self.sock.close(0)


@asynccontextmanager
async def peers(g: Guarded, n: int) -> AsyncIterator[list[Peer]]:
    made: list[Peer] = []
    try:
        for _ in range(n):
            sock = g.peers_ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.RECONNECT_IVL, -1)  # a dropped connection stays dropped
            monitor = sock.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
            peer = Peer(sock, monitor)
            made.append(peer)
            sock.connect(g.endpoint)
            await asyncio.wait_for(peer.connected(), WAIT_S)
        yield made
    finally:
        for p in made:
            p.close()


async def until(check: Callable[[], bool], within: float = WAIT_S) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.01)
    return check()


async def test_a_stranger_is_dropped_as_its_bytes_pass_the_limit_before_its_message_is_whole(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "sidecar.rpc.connections")
    async with guarded(stranger_bytes=256 * 1024, strangers_total=64 * MiB) as g, \
            peers(g, 1) as (stranger,):
        message = [b"x" * MiB for _ in range(64)]  # 64 MiB that never becomes whole
        await stranger.sock.send_multipart(message)
        assert await stranger.closed_by_server(WAIT_S)
        assert g.guard.dropped == 1
        sent = [int(n) for n in re.findall(r"without hello sent (\d+) bytes", caplog.text)]
        assert len(sent) == 1 and 256 * 1024 < sent[0] < 32 * MiB, (sent, caplog.text)
        assert g.router.poll(100) == 0  # nothing of it reached the application


async def test_an_authenticated_connection_is_never_dropped_for_its_bytes() -> None:
    async with guarded(stranger_bytes=256 * 1024, strangers_total=MiB) as g, \
            peers(g, 1) as (client,):
        await client.sock.send(b"hello")
        identity, hello = await g.recv()
        assert hello.bytes == b"hello"
        g.guard.authenticated(source_fd(identity), identity.bytes)
        big = [b"y" * MiB for _ in range(16)]
        await client.sock.send_multipart(big)
        frames = await g.recv()
        assert [f.bytes for f in frames[1:]] == big  # all 16 MiB: 64 times a stranger's limit
        assert not await client.closed_by_server(0.2)
        assert g.guard.dropped == 0 and g.guard.unauthenticated == 0
        client.close()  # the client leaves: the loop hears it is gone
        assert await until(lambda: bool(g.gone))
        assert g.gone == [(identity.bytes, source_fd(identity))]


async def test_strangers_together_past_their_total_lose_the_largest_first() -> None:
    async with guarded(stranger_bytes=16 * MiB, strangers_total=3 * MiB) as g, \
            peers(g, 3) as (small, middle, large):
        # each under the per-connection limit; complete messages the application never
        # reads, so libzmq holds them: 0.5 + 1 MiB first, under the total
        await small.sock.send(b"s" * (MiB // 2))
        await middle.sock.send(b"m" * MiB)
        assert not await large.closed_by_server(0.3)
        assert g.guard.dropped == 0
        await large.sock.send(b"l" * 4 * MiB)  # takes the total past 3 MiB
        assert await large.closed_by_server(WAIT_S)
        assert await until(lambda: g.guard.dropped == 1)
        assert not await small.closed_by_server(0.3)
        assert not await middle.closed_by_server(0.1)
        assert g.guard.dropped == 1 and g.guard.count == 2
