"""The composition root: build every part from Settings, run the server, tear down in order.

Dependencies point one way: app → server → (transport, inbound, dispatch) and
app → service → (store, fetch). Nothing below imports this module.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import uuid

import zmq

from protocol import PROTOCOL_VERSION
from sidecar import __version__
from sidecar.dispatch import Handlers
from sidecar.events import EventBus
from sidecar.fetch.downloader import Fetcher
from sidecar.lifecycle import (
    DataDirLock,
    ensure_private_dir,
    print_ready_line,
    remove_file,
    started_at_ms,
    watch_parent,
    write_connection_file,
)
from sidecar.portable.process import on_stop_signals
from sidecar.server import Server
from sidecar.service.media import MediaService
from sidecar.settings import Settings
from sidecar.transport import Transport, default_endpoint

log = logging.getLogger("sidecar.app")


async def run(settings: Settings) -> int:
    """Serve until shutdown, SIGTERM/SIGINT or the parent's death; return the exit code."""
    loop = asyncio.get_running_loop()
    lock = DataDirLock(settings.data_dir)
    lock.acquire()  # DataDirInUse propagates to the CLI, which prints it and exits 3
    ensure_private_dir(settings.runtime_dir)
    bus = EventBus()
    bus.bind(loop)
    handlers = Handlers(enable_test_hooks=settings.enable_test_hooks)
    fetcher = Fetcher(settings.fetch)
    service = await MediaService.open(settings, bus, fetcher)
    service.register(handlers)
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    transport = Transport(zctx, settings.max_frame_bytes, settings.linger_ms)
    conn_file = settings.connection_file
    try:
        endpoint = transport.bind(
            settings.endpoint or default_endpoint(settings.runtime_dir, settings.transport))
        session_id = uuid.uuid4().hex
        server = Server(settings, transport, handlers, bus, session_id)
        server.on_drain.append(service.pause_downloads)
        if conn_file is None:
            conn_file = settings.runtime_dir / f"sidecar-{os.getpid()}.json"
        write_connection_file(conn_file, {
            "endpoint": endpoint,
            "secret": settings.secret.decode(),
            "signatureScheme": "hmac-sha256",
            "pid": os.getpid(),
            "protocol": PROTOCOL_VERSION,
            "server": __version__,
            "session": session_id,
            "dataDir": str(settings.data_dir),
            "startedAt": started_at_ms(),
        })
        on_stop_signals(loop, server.request_stop)
        watcher = None
        if settings.watch_parent:
            def parent_gone(why: str) -> None:
                log.warning("stopping: %s", why)
                server.request_stop(min(settings.drain_timeout, 1.0))

            watcher = asyncio.create_task(
                watch_parent(settings.original_ppid if settings.original_ppid > 0
                             else os.getppid(), settings.parent_pid,
                             settings.parent_poll_interval, parent_gone))
        print_ready_line({"endpoint": endpoint, "pid": os.getpid(),
                          "protocol": PROTOCOL_VERSION, "connectionFile": str(conn_file)})
        # Everything built so far lives as long as the process: move it out of the
        # collector's sight, then collect as usual (the CLI disabled GC for start-up).
        gc.freeze()
        gc.enable()
        log.info("serving", extra={"endpoint": endpoint, "data_dir": str(settings.data_dir)})
        await server.serve()
        if watcher is not None:
            watcher.cancel()
    finally:
        await service.close()
        await fetcher.aclose()
        transport.close()
        zctx.term()
        remove_file(conn_file)
        lock.release()
    log.info("stopped")
    return 0
