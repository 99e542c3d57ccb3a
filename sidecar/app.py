"""The composition root: build every part from Settings, run the server, tear down in order.

Start-up is split at the ready line (docs/ARCHITECTURE.md, "Process lifecycle"). Before it,
only what a refusal needs and what ``hello`` needs: the data-dir lock and checks, the bound
socket, the connection file; ``hello`` and ``ping`` are then answered by the early stage
(``sidecar.rpc.early``) while the heavy part loads: the protocol models, the store, the
service and the server, imported in a thread, then built on the loop. This module therefore
imports nothing heavy at its top; ``load`` does.

Dependencies point one way: app → server → (transport, inbound, dispatch) and
app → service → (store, fetch). Nothing below imports this module.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import zmq

from sidecar import __version__
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
from sidecar.rpc.early import Lobby
from sidecar.rpc.router import Router, default_endpoint
from sidecar.settings import Settings
from sidecar.wire.facts import INTERNAL, PROTOCOL_VERSION

if TYPE_CHECKING:
    from sidecar.fetch.downloader import Downloader
    from sidecar.rpc.server import Server
    from sidecar.service.media import MediaService

log = logging.getLogger("sidecar.app")
LOAD_SWITCH_INTERVAL = 0.0005  # seconds (sys.setswitchinterval) while the heavy part loads


def _import_heavy() -> None:
    """The modules behind the ready line (run in a thread while the lobby answers)."""
    import sidecar.fetch.downloader
    import sidecar.rpc.server
    import sidecar.service.media  # noqa: F401


@dataclass
class Loaded:
    """What the second stage built; ``close`` tears it down in order."""

    server: Server
    service: MediaService
    fetcher: Downloader

    async def close(self) -> None:
        await self.service.close()
        await self.fetcher.aclose()


async def load(settings: Settings, transport: Router, session_id: str,
               lobby: Lobby) -> Loaded:
    """Import the heavy modules off the loop, open the store, build the server (which takes
    the lobby's sessions and held messages). Raises what opening the store raises."""
    # The loop answers hello meanwhile: with a short switch interval it waits at most that
    # long for the interpreter lock the importing thread holds (the default is 5 ms).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(LOAD_SWITCH_INTERVAL)
    try:
        await asyncio.to_thread(_import_heavy)
    finally:
        sys.setswitchinterval(interval)
    from sidecar.events import EventBus
    from sidecar.fetch.downloader import Downloader
    from sidecar.rpc.dispatch import Handlers
    from sidecar.rpc.server import Server
    from sidecar.service.media import MediaService

    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    handlers = Handlers(enable_test_hooks=settings.enable_test_hooks)
    fetcher = Downloader(settings.fetch)
    try:
        service = await MediaService.open(settings, bus, fetcher)
    except BaseException:
        await fetcher.aclose()
        raise
    service.register(handlers)
    server = Server(settings, transport, handlers, bus, session_id, lobby=lobby)
    server.landing = service.land
    server.on_drain.append(service.pause_downloads)
    return Loaded(server, service, fetcher)


def _load_error(exc: BaseException) -> tuple[str, str]:
    """The typed error the held requests get when the load failed."""
    try:
        from sidecar.errors import SidecarError
    except ImportError:  # what failed to load was the protocol itself
        return INTERNAL, "the sidecar could not start (see its log)"
    if isinstance(exc, SidecarError):
        return exc.code.value, f"the sidecar could not start: {exc.message}"
    return INTERNAL, "the sidecar could not start (see its log)"


class StopLatch:
    """A stop asked for (signal, parent death) before the server serves is kept for it."""

    def __init__(self) -> None:
        self._target: Callable[[float | None], None] | None = None
        self._asked = False
        self._drain_timeout: float | None = None

    def request(self, drain_timeout: float | None = None) -> None:
        if self._target is not None:
            self._target(drain_timeout)
        elif not self._asked or drain_timeout is not None:
            self._asked = True
            self._drain_timeout = drain_timeout

    def attach(self, target: Callable[[float | None], None]) -> None:
        self._target = target
        if self._asked:
            target(self._drain_timeout)


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
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    transport = Router(zctx, settings.max_frame_bytes, settings.linger_ms)
    conn_file = settings.connection_file
    guard: ConnectionGuard | None = None
    loaded: Loaded | None = None
    try:
        endpoint = transport.bind(
            settings.endpoint or default_endpoint(settings.runtime_dir, settings.transport))
        session_id = secrets.token_hex(16)  # as random as uuid4().hex, without uuid
        lobby = Lobby(settings, transport, session_id)
        max_conns = connection_bound(settings.max_connections, fd_soft)
        guard = ConnectionGuard(zctx, transport.socket, max_conns, settings.hello_timeout,
                                lobby.forget,
                                stranger_bytes=2 * settings.max_envelope_bytes + (64 << 10))
        lobby.on_authenticated = guard.authenticated
        log.info("connection bound", extra={"max_connections": max_conns,
                                            "fd_limit": fd_soft, "fd_hard_limit": fd_hard,
                                            "hello_timeout_s": settings.hello_timeout})
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
        stop = StopLatch()
        on_stop_signals(loop, stop.request)
        watcher = None
        if settings.watch_parent:
            def parent_gone(why: str) -> None:
                log.warning("stopping: %s", why)
                stop.request(min(settings.drain_timeout, 1.0))

            watcher = asyncio.create_task(
                watch_parent(settings.original_ppid if settings.original_ppid > 0
                             else os.getppid(), settings.parent_pid,
                             settings.parent_poll_interval, parent_gone))
        print_ready_line({"endpoint": endpoint, "pid": os.getpid(),
                          "protocol": PROTOCOL_VERSION, "connectionFile": str(conn_file)})
        transport.start(loop, lobby.on_message)
        guard.start(loop)
        try:
            loaded = await load(settings, transport, session_id, lobby)
        except BaseException as exc:
            lobby.fail(*_load_error(exc))
            raise
        # Everything built so far lives as long as the process: move it out of the
        # collector's sight, then collect as usual (the CLI disabled GC for start-up).
        gc.freeze()
        gc.enable()
        server = loaded.server
        server.on_authenticated = guard.authenticated
        # Once serving (the held requests taken in: they came before any stop and are
        # finished by the drain like any request in flight), a stop asked for meanwhile.
        loop.call_soon(stop.attach, server.request_stop)
        log.info("serving", extra={"endpoint": endpoint, "data_dir": str(settings.data_dir)})
        await server.serve()
        if watcher is not None:
            watcher.cancel()
    finally:
        if guard is not None:  # also on a start error after it was made: zctx.term() waits
            guard.close()    # for every socket
        if loaded is not None:
            await loaded.close()
        transport.close()
        zctx.term()
        remove_file(conn_file)
        lock.release()
    log.info("stopped")
    return 0
