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
from sidecar.events import EventBus
from sidecar.fetch.downloader import Downloader
from sidecar.lifecycle import (
    DataDirLock,
    check_connection_file,
    ensure_private_dir,
    print_ready_line,
    remove_file,
    restrict_umask,
    started_at_ms,
    watch_parent,
    write_connection_file,
)
from sidecar.portable.process import on_stop_signals
from sidecar.rpc.connections import ConnectionGuard, connection_bound, raise_fd_limit
from sidecar.rpc.dispatch import Handlers
from sidecar.rpc.router import Router, default_endpoint
from sidecar.rpc.server import Server
from sidecar.service.media import MediaService
from sidecar.settings import Settings

log = logging.getLogger("sidecar.app")


async def run(settings: Settings) -> int:
    """Serve until shutdown, SIGTERM/SIGINT or the parent's death; return the exit code."""
    restrict_umask()
    loop = asyncio.get_running_loop()
    fd_soft, fd_hard = raise_fd_limit()
    lock = DataDirLock(settings.data_dir)
    lock.acquire()  # StartRefused (in use, unsafe) propagates to the CLI: message, exit 3
    try:
        check_connection_file(settings.connection_file)  # refused before anything is bound
    except BaseException:
        lock.release()
        raise
    ensure_private_dir(settings.runtime_dir)
    bus = EventBus()
    bus.bind(loop)
    handlers = Handlers(enable_test_hooks=settings.enable_test_hooks)
    fetcher = Downloader(settings.fetch)
    service = await MediaService.open(settings, bus, fetcher)
    service.register(handlers)
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    transport = Router(zctx, settings.max_frame_bytes, settings.linger_ms)
    conn_file = settings.connection_file
    guard: ConnectionGuard | None = None
    try:
        endpoint = transport.bind(
            settings.endpoint or default_endpoint(settings.runtime_dir, settings.transport))
        session_id = uuid.uuid4().hex
        server = Server(settings, transport, handlers, bus, session_id)
        max_conns = connection_bound(settings.max_connections, fd_soft)
        guard = ConnectionGuard(zctx, transport.socket, max_conns, settings.hello_timeout,
                                server.forget,
                                stranger_bytes=2 * settings.max_envelope_bytes + (64 << 10))
        server.on_authenticated = guard.authenticated
        server.landing = service.land
        log.info("connection bound", extra={"max_connections": max_conns,
                                            "fd_limit": fd_soft, "fd_hard_limit": fd_hard,
                                            "hello_timeout_s": settings.hello_timeout})
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
        guard.start(loop)
        await server.serve()
        if watcher is not None:
            watcher.cancel()
    finally:
        if guard is not None:  # also on a start error after it was made: zctx.term() waits
            guard.close()    # for every socket
        await service.close()
        await fetcher.aclose()
        transport.close()
        zctx.term()
        remove_file(conn_file)
        lock.release()
    log.info("stopped")
    return 0
