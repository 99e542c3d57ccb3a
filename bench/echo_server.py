"""Raw pyzmq ROUTER echo servers: the baselines the sidecar's round trips are held against.

Run as a child process::

    python bench/echo_server.py sync|async ENDPOINT SIZE [SIZE ...]

It binds a ROUTER at ENDPOINT, prints one line ``ready <endpoint>`` and answers every
message with prebuilt frames of the given sizes (the sizes of the sidecar's reply), doing
nothing else: no decoding, no signing. ``sync`` is a blocking recv/send loop; ``async`` is
the idiomatic ``zmq.asyncio`` loop (await recv, await send).
"""

from __future__ import annotations

import asyncio
import sys

import zmq
import zmq.asyncio


def _frames(sizes: list[int]) -> list[bytes]:
    return [bytes([65 + i % 26]) * n for i, n in enumerate(sizes)]


def _bind(sock: zmq.Socket[bytes] | zmq.asyncio.Socket, endpoint: str) -> str:
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 10_000)
    sock.setsockopt(zmq.RCVHWM, 10_000)
    if endpoint.endswith(":0"):
        port = sock.bind_to_random_port(endpoint.rsplit(":", 1)[0])
        return f"{endpoint.rsplit(':', 1)[0]}:{port}"
    sock.bind(endpoint)
    return endpoint


def run_sync(endpoint: str, reply: list[bytes]) -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    print("ready", _bind(sock, endpoint), flush=True)
    while True:
        frames = sock.recv_multipart(copy=True)
        sock.send_multipart([frames[0], *reply])


async def run_async(endpoint: str, reply: list[bytes]) -> None:
    ctx = zmq.asyncio.Context()
    sock = ctx.socket(zmq.ROUTER)
    print("ready", _bind(sock, endpoint), flush=True)
    while True:
        frames = await sock.recv_multipart(copy=True)
        await sock.send_multipart([frames[0], *reply])


def main(argv: list[str]) -> None:
    mode, endpoint, sizes = argv[0], argv[1], [int(x) for x in argv[2:]]
    reply = _frames(sizes)
    if mode == "sync":
        run_sync(endpoint, reply)
    else:
        asyncio.run(run_async(endpoint, reply))


if __name__ == "__main__":
    main(sys.argv[1:])
