"""The floor of the split start-up design (bench/analysis.md, "Start-up"): what a sidecar
pays before it can print its ready line and answer ``hello`` when pydantic, ``protocol``,
the store and the service are loaded only after that.

It does what that first phase would do, and nothing more: import asyncio, zmq, msgpack and
hmac, bind a ROUTER, write the owner-only connection file, print the ready line, and answer
every request with a prebuilt, signed ``hello``-shaped reply (checking the request's
signature). Then it imports the heavy part (``sidecar.app._import_heavy``: the protocol
models, the store, the service) in a thread while serving, as the sidecar does. Not a
server: a measuring stick for ``bench_spawn``.

    MEDIA_SIDECAR_SECRET=... python bench/boot_floor.py RUNTIME_DIR
"""

from __future__ import annotations

import gc

gc.disable()

import asyncio  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import msgpack  # noqa: E402
import zmq  # noqa: E402

DOMAIN = b"media-sidecar/1\x00"  # protocol.envelope.SIGNATURE_DOMAIN (a test-free copy)
_U32 = struct.Struct(">I").pack
EMPTY = hashlib.sha256().digest()


def _sign(key: bytes, envelope: bytes) -> bytes:
    return hmac.digest(key, b"".join((DOMAIN, _U32(len(envelope)), envelope, _U32(0), EMPTY)),
                       "sha256")


def main(run_dir: str) -> None:
    key = os.environ.pop("MEDIA_SIDECAR_SECRET").encode()
    os.makedirs(run_dir, mode=0o700, exist_ok=True)
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    endpoint = f"ipc://{run_dir}/s.sock"
    sock.bind(endpoint)
    conn = os.path.join(run_dir, "conn.json")
    fd = os.open(conn, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, json.dumps({"endpoint": endpoint, "pid": os.getpid()}).encode())
    os.close(fd)
    result = {"server": {"name": "media-sidecar", "version": "0.1.0"}, "protocol": "1.0.0",
              "session": "x" * 32, "methods": ["hello", "ping"] * 8, "events": ["e"] * 8,
              "limits": {"maxEnvelopeBytes": 1 << 20}, "features": {}, "dataDir": run_dir}
    print(json.dumps({"event": "ready", "endpoint": endpoint, "pid": os.getpid(),
                      "connectionFile": conn}), flush=True)
    from sidecar.app import _import_heavy  # light: the heavy part is what it imports

    threading.Thread(target=_import_heavy, daemon=True).start()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        loop.add_reader(sock.getsockopt(zmq.FD), ready.set)
        while True:
            while sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                ident, sig, env = sock.recv_multipart()[:3]
                if not hmac.compare_digest(_sign(key, env), sig):
                    continue
                req = msgpack.unpackb(env)
                out = msgpack.packb({"type": "reply", "id": req["id"], "result": result,
                                     "ts": int(time.time() * 1000)})
                sock.send_multipart([ident, _sign(key, out), out])
            ready.clear()
            await ready.wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main(sys.argv[1])
