"""Finding and choosing a running sidecar for the debugger commands (attach-style selection).

Every client command takes the same options: ``--connection-file F``, or ``--pid N`` (the
connection file of that pid in the runtime dir), or nothing, which means "the one sidecar
that runs" (an error when none or several run). The secret comes from the connection file
(owner-only), so the debugger talks to the sidecar Electron started with nothing typed by
hand. ``open_client`` connects and says hello; errors here are ``AttachError`` (exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sidecar.portable.process import pid_alive

if TYPE_CHECKING:
    from sidecar.client import Client, ConnectionInfo

CLIENT_NAME = "media-sidecar-cli"
HELLO_TIMEOUT = 15.0  # a live sidecar answers hello at once; do not hang on a dead one


class AttachError(Exception):
    """No sidecar could be chosen or reached; the message says what to do."""


@dataclass(frozen=True)
class Found:
    """One connection file in the runtime dir, and what it says."""

    path: Path
    pid: int
    endpoint: str
    data_dir: str
    started_at: int
    alive: bool

    @property
    def uptime_s(self) -> float:
        return max(time.time() - self.started_at / 1000, 0.0)


def add_attach_args(p: argparse.ArgumentParser, *, timeout_flag: str = "--timeout",
                    default_timeout: float = 30.0) -> None:
    """The selection options every client command shares (``watch`` renames the reply
    timeout to ``--reply-timeout`` because its ``--timeout`` says when to stop)."""
    g = p.add_argument_group("choosing the sidecar")
    g.add_argument("--connection-file", type=Path, metavar="FILE",
                   help="the sidecar's connection file (endpoint + secret)")
    g.add_argument("--pid", type=int, help="the sidecar with this pid (its connection file "
                   "in the runtime dir)")
    g.add_argument("--runtime-dir", type=Path, metavar="DIR",
                   help="where sidecars write their connection files "
                   "(default: the platform's user runtime dir)")
    g.add_argument(timeout_flag, dest="timeout", type=float, default=default_timeout,
                   metavar="S", help=f"seconds to wait for each reply (default "
                   f"{default_timeout:g})")


def runtime_dir_of(args: argparse.Namespace) -> Path:
    from sidecar.settings import default_runtime_dir

    d: Path | None = getattr(args, "runtime_dir", None)
    return d if d is not None else default_runtime_dir()


def read_found(path: Path) -> Found | None:
    """What a connection file says, or None when it is not one (unreadable, half-written)."""
    from sidecar.client import ConnectionFileError, ConnectionInfo

    try:
        file = ConnectionInfo.load(path).file
    except ConnectionFileError:
        return None
    return Found(path=path, pid=file.pid, endpoint=file.endpoint, data_dir=file.data_dir,
                 started_at=file.started_at, alive=pid_alive(file.pid))


def discover(runtime_dir: Path) -> list[Found]:
    """Every connection file in ``runtime_dir`` (alive or stale), oldest first."""
    from sidecar.client import find_connection_files

    found = [f for p in find_connection_files(runtime_dir) if (f := read_found(p)) is not None]
    return sorted(found, key=lambda f: (f.started_at, str(f.path)))


def choose(args: argparse.Namespace) -> ConnectionInfo:
    """The connection info the options select; AttachError when there is no single answer."""
    conn_file: Path | None = getattr(args, "connection_file", None)
    pid: int | None = getattr(args, "pid", None)
    if conn_file is not None:
        if not conn_file.is_file():
            raise AttachError(f"no connection file at {conn_file}")
        return _load(conn_file)
    rdir = runtime_dir_of(args)
    if pid is not None:
        direct = rdir / f"sidecar-{pid}.json"
        if direct.is_file():
            return _load(direct)
        for f in discover(rdir):
            if f.pid == pid:
                return _load(f.path)
        raise AttachError(f"no connection file for pid {pid} in {rdir} "
                          "(see `media-sidecar ps`, or pass --connection-file)")
    alive = [f for f in discover(rdir) if f.alive]
    if not alive:
        raise AttachError(f"no running sidecar found in {rdir} "
                          "(start one, or pass --connection-file / --runtime-dir)")
    if len(alive) > 1:
        pids = ", ".join(str(f.pid) for f in alive)
        raise AttachError(f"{len(alive)} sidecars are running (pids {pids}); "
                          "choose one with --pid or --connection-file")
    return _load(alive[0].path)


def _load(path: Path) -> ConnectionInfo:
    from sidecar.client import ConnectionFileError, ConnectionInfo

    try:
        return ConnectionInfo.load(path)
    except ConnectionFileError as exc:
        raise AttachError(str(exc)) from exc


@contextlib.asynccontextmanager
async def open_client(args: argparse.Namespace, *, hello: bool = True,
                      ) -> AsyncIterator[Client]:
    """A connected client (hello done unless ``hello=False``), closed on exit."""
    from sidecar.client import Client

    info = choose(args)
    timeout: float = getattr(args, "timeout", 30.0)
    hello_timeout = min(timeout, HELLO_TIMEOUT)
    client = Client(info.endpoint, info.secret, timeout=hello_timeout)
    client.open()
    try:
        if hello:
            try:
                await client.hello(client_name=CLIENT_NAME)
            except TimeoutError as exc:
                raise AttachError(f"the sidecar ({describe(info)}) did not answer hello "
                                  f"within {hello_timeout:g} s; is it still running?") from exc
        client.timeout = timeout
        yield client
    finally:
        await client.close()


def describe(info: ConnectionInfo) -> str:
    """A short name for a sidecar in messages."""
    return f"pid {info.pid}"
