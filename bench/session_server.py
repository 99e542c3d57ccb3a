"""A sidecar process that serves only the session methods (hello, ping, subscribe, ...).

It is the real ``sidecar.rpc.server.Server`` over the real ``Router`` with no media service:
the benches and the reliability suite fall back to it while ``python -m sidecar serve``
cannot start yet, and use it for figures that must not depend on the store. It prints the
same one-line JSON ready line as ``serve`` and writes the same connection file.

    MEDIA_SIDECAR_SECRET=... python bench/session_server.py ENDPOINT CONNECTION_FILE
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
from pathlib import Path


async def serve(endpoint: str, conn_file: Path) -> None:
    import zmq

    from sidecar.events import EventBus
    from sidecar.rpc.dispatch import Handlers
    from sidecar.rpc.router import Router
    from sidecar.rpc.server import Server
    from sidecar.settings import Settings

    secret = os.environ.pop("MEDIA_SIDECAR_SECRET").encode()
    data = Path(tempfile.mkdtemp(prefix="session-server-"))
    settings = Settings(data_dir=data, secret=secret, runtime_dir=data)
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    transport = Router(zctx, settings.max_frame_bytes, 0)
    bound = transport.bind(endpoint)
    server = Server(settings, transport, Handlers(), bus, "session-server")
    info = {"endpoint": bound, "secret": secret.decode(), "pid": os.getpid()}
    conn_file.write_text(json.dumps(info))  # noqa: ASYNC240
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.request_stop)
    print(json.dumps({"event": "ready", "endpoint": bound, "pid": os.getpid(),
                      "connectionFile": str(conn_file)}), flush=True)
    await server.serve()
    transport.close()
    zctx.term()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], Path(sys.argv[2])))
