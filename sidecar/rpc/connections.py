"""Connections: a bound on how many the ROUTER holds, and who gets dropped first.

libzmq accepts every connection it can and gives the application no way to refuse or close
one peer; at the file-descriptor limit its listener spins on ``accept`` (EMFILE) and new
clients are never answered. So:

- at start the soft ``RLIMIT_NOFILE`` is raised to the hard limit (``raise_fd_limit``);
- a socket monitor (``ZMQ_EVENT_ACCEPTED`` / ``DISCONNECTED`` / ``ACCEPT_FAILED``, each with
  the connection's descriptor) keeps a table of the open connections;
- a connection is *authenticated* once a ``hello`` signed with the secret came in on it
  (``ZMQ_SRCFD`` of the message names the descriptor);
- a connection that has not said hello within ``hello_timeout`` is dropped, and so is the
  oldest such connection whenever the table reaches ``max_connections`` (the fd limit minus
  a reserve for the store, downloads and libzmq itself) or an accept fails with EMFILE/ENFILE.
  Dropping is ``shutdown(2)`` on libzmq's descriptor (never ``close``: libzmq owns it), which
  makes libzmq see the peer leave and release it; the descriptor is checked to still be the
  same socket (its inode) first. Authenticated connections are never dropped.

- bytes from strangers are bounded: libzmq holds a multipart message whole before the
  sidecar can see (and refuse) it, so the guard reads how many bytes each tcp connection
  without hello has received (``TCP_INFO.tcpi_bytes_received``) and drops one that sent more
  than ``stranger_bytes`` (a hello is one small message), and the largest ones while all
  strangers together exceed ``strangers_total``. Their partial messages are freed with them.
  The reading is driven by the data, not by a clock: each stranger's descriptor is in an
  edge-triggered epoll set (its own, watched by the event loop), so every arrival of bytes
  wakes the guard. How much a stranger gets into memory is then what arrives in one turn of
  the loop, whatever the speed of the machine's loopback (a 20 ms timer let a stranger put
  170 MiB into memory on a fast machine). A thread of its own was tried and was slower to
  react (it waits for the interpreter lock: 4 to 25 MiB against 2 to 13 MiB here). The
  descriptor is only registered, never read, duplicated or closed: libzmq owns it, and the
  kernel takes it out of the set when libzmq closes it.
  ipc connections (an owner-only socket) have no such counter and are not watched; neither
  are connections where epoll or ``TCP_INFO`` do not exist (macOS, Windows).

Each bound hit is logged once per interval with the counts, at warning level.

Why not libzmq's own options: ``ZMQ_MAX_SOCKETS`` bounds the context's sockets, not the
connections of one ROUTER; ``ZMQ_HANDSHAKE_IVL`` (30 s, kept) bounds only the ZMTP greeting,
which a stranger completes at once; ``ZMQ_ROUTER_NOTIFY`` is draft API and names no
descriptor; ``zmq_unbind`` would drop every client. The monitor events and ``ZMQ_SRCFD`` are
stable API and give the descriptor of each connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import os
import select
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

import zmq

log = logging.getLogger("sidecar.rpc.connections")

_EVENTS = zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_ACCEPT_FAILED
_monitor_ids = itertools.count(1)
LOG_INTERVAL = 5.0
SWEEP_INTERVAL = 0.5
_TCPI_BYTES_RECEIVED = 128  # offset of tcpi_bytes_received (u64) in struct tcp_info
FD_RESERVE = 256  # descriptors kept for the store, downloads, logs and libzmq's own


if sys.platform == "win32":
    def raise_fd_limit() -> tuple[int, int]:
        """Windows has no RLIMIT_NOFILE (sockets are handles, not C runtime fds)."""
        return 0, 0

    def send_queue_bytes(fd: int) -> int | None:
        """Not readable on Windows: the event budget falls back to the socket's HWM."""
        return None
else:
    import fcntl
    import resource
    import termios

    def raise_fd_limit() -> tuple[int, int]:
        """Raise the soft RLIMIT_NOFILE to the hard limit; return (soft, hard) as they are
        now."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and soft < hard:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                soft = hard
        return soft, hard

    def send_queue_bytes(fd: int) -> int | None:
        """Bytes queued in the kernel for the peer of socket ``fd`` and not yet taken by it
        (``SIOCOUTQ``; tcp and unix sockets on Linux), or None where that cannot be read."""
        if fd < 0:
            return None
        try:
            out = fcntl.ioctl(fd, termios.TIOCOUTQ, b"\0\0\0\0")
        except OSError:
            return None
        return int(struct.unpack("i", out)[0])


class Arrivals(Protocol):
    """A set of sockets that wakes its reader on each arrival of bytes on any of them."""

    def fileno(self) -> int: ...
    def add(self, fd: int) -> bool: ...
    def discard(self, fd: int) -> None: ...
    def ready(self) -> list[int]: ...
    def close(self) -> None: ...


if sys.platform == "linux":
    class _EpollArrivals:
        """An edge-triggered epoll set: every arrival of bytes on a socket in it makes its
        descriptor readable once (level-triggered would spin while libzmq has not read)."""

        def __init__(self) -> None:
            self._ep = select.epoll()

        def fileno(self) -> int:
            return self._ep.fileno()

        def add(self, fd: int) -> bool:
            try:
                self._ep.register(fd, select.EPOLLIN | select.EPOLLET)
            except OSError:
                return False  # closed already, or not a socket epoll can watch
            return True

        def discard(self, fd: int) -> None:
            with contextlib.suppress(OSError):  # closed: the kernel took it out already
                self._ep.unregister(fd)

        def ready(self) -> list[int]:
            return [fd for fd, _ in self._ep.poll(0)]

        def close(self) -> None:
            self._ep.close()

    def arrivals() -> Arrivals | None:
        """The strangers' set, where ``TCP_INFO`` can tell what they sent."""
        return _EpollArrivals() if hasattr(socket, "TCP_INFO") else None
else:
    def arrivals() -> Arrivals | None:
        """No epoll: strangers' bytes are not watched (see the module doc)."""
        return None


def connection_bound(configured: int, fd_soft_limit: int) -> int:
    """How many connections to hold: the configured bound, within the fd limit's reach."""
    room = max(fd_soft_limit - FD_RESERVE, 16) if fd_soft_limit > 0 else configured
    return max(1, min(configured, room))


def bytes_received(fd: int) -> int | None:
    """Bytes the tcp connection ``fd`` has received so far (None: not tcp, or unknown)."""
    tcp_info: int | None = getattr(socket, "TCP_INFO", None)  # Linux only
    if tcp_info is None:
        return None
    sock = None
    try:
        sock = socket.socket(fileno=fd)
        info = sock.getsockopt(socket.IPPROTO_TCP, tcp_info, 256)
    except OSError:
        return None
    finally:
        if sock is not None:
            sock.detach()  # libzmq owns the descriptor
    if len(info) < _TCPI_BYTES_RECEIVED + 8:
        return None
    return int(struct.unpack_from("=Q", info, _TCPI_BYTES_RECEIVED)[0])


@dataclass(slots=True)
class _Conn:
    accepted: float
    inode: int
    identity: bytes | None = None  # set once authenticated
    got: int = 0  # bytes received, as last read while a stranger
    watched: bool = False  # in the epoll set of strangers


def _inode(fd: int) -> int:
    try:
        return os.fstat(fd).st_ino
    except OSError:
        return -1


class ConnectionGuard:
    """Watches the ROUTER's connections on the event loop and drops idle strangers."""

    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]], router: zmq.Socket[bytes],
                 max_connections: int, hello_timeout: float,
                 on_gone: Callable[[bytes, int], None], *, stranger_bytes: int = 4 << 20,
                 strangers_total: int = 64 << 20) -> None:
        self.max_connections = max_connections
        self.hello_timeout = hello_timeout
        self.stranger_bytes = stranger_bytes
        self.strangers_total = strangers_total
        self._on_gone = on_gone
        addr = f"inproc://sidecar-monitor-{os.getpid()}-{next(_monitor_ids)}"
        router.monitor(addr, _EVENTS)
        self._router = router
        self._mon: zmq.Socket[bytes] = ctx.socket(zmq.PAIR)
        self._mon.setsockopt(zmq.RCVHWM, 100_000)  # bounded: stale entries are re-checked
        self._mon.setsockopt(zmq.LINGER, 0)
        self._mon.connect(addr)
        self._conns: dict[int, _Conn] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._strangers = arrivals()
        self._stranger_total = 0  # bytes received by the watched strangers together
        self._last_log: dict[str, float] = {}
        self.dropped = 0
        self.accept_failures = 0

    # -- running ------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        loop.add_reader(self._mon_fd(), self._drain)
        loop.call_soon(self._drain)
        self._timer = loop.call_later(SWEEP_INTERVAL, self._tick)
        if self._strangers is not None:
            loop.add_reader(self._strangers.fileno(), self._watch)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._loop is not None and not self._mon.closed:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._mon_fd())
        if self._strangers is not None:
            if self._loop is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self._strangers.fileno())
            self._strangers.close()
        with contextlib.suppress(zmq.ZMQError):
            self._router.disable_monitor()
        self._mon.close(0)

    def _mon_fd(self) -> int:
        fd = self._mon.getsockopt(zmq.FD)
        assert isinstance(fd, int)
        return fd

    @property
    def count(self) -> int:
        return len(self._conns)

    @property
    def unauthenticated(self) -> int:
        return sum(1 for c in self._conns.values() if c.identity is None)

    def authenticated(self, fd: int, identity: bytes) -> None:
        """A hello signed with the secret came in on ``fd``."""
        if fd < 0:
            return
        self._drain()  # its ACCEPTED event may still be queued
        conn = self._conns.get(fd)
        if conn is None or conn.inode != _inode(fd):
            conn = self._conns[fd] = _Conn(time.monotonic(), _inode(fd))
        self._unwatch(fd, conn)
        conn.identity = identity

    # -- monitor events -----------------------------------------------------------------

    def _drain(self) -> None:
        mon = self._mon
        while not mon.closed and cast(int, mon.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
            try:
                frames = mon.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if len(frames) < 2 or len(frames[0]) < 6:
                continue
            event, value = struct.unpack("=HI", frames[0][:6])
            self._on_event(event, value)

    def _on_event(self, event: int, value: int) -> None:
        if event == zmq.EVENT_ACCEPTED:
            old = self._conns.pop(value, None)
            if old is not None:
                self._unwatch(value, old)
                if old.identity is not None:
                    self._on_gone(old.identity, value)  # its DISCONNECTED was lost: gone
            new = self._conns[value] = _Conn(time.monotonic(), _inode(value))
            self._watch_stranger(value, new)
            if len(self._conns) >= self.max_connections:
                self._make_room("connection bound reached")
        elif event == zmq.EVENT_DISCONNECTED:
            gone = self._conns.pop(value, None)
            if gone is not None:
                self._unwatch(value, gone)
                if gone.identity is not None:
                    self._on_gone(gone.identity, value)
        elif event == zmq.EVENT_ACCEPT_FAILED:
            self.accept_failures += 1
            if value in (errno.EMFILE, errno.ENFILE):
                self._make_room(f"accept failed: {errno.errorcode.get(value, value)}")

    # -- dropping -----------------------------------------------------------------------

    def _watch_stranger(self, fd: int, conn: _Conn) -> None:
        """Put a new connection's descriptor in the strangers' epoll set, and read it once
        (bytes that came before it was registered wake no one)."""
        if self._strangers is None or conn.inode < 0 or not self._strangers.add(fd):
            return
        conn.watched = True
        self._check(fd, conn)
        self._over_total()

    def _unwatch(self, fd: int, conn: _Conn) -> None:
        """Take a connection out of the strangers' set (authenticated, gone or dropped)."""
        if not conn.watched:
            return
        conn.watched = False
        self._stranger_total -= conn.got
        if self._strangers is not None and _inode(fd) == conn.inode:
            self._strangers.discard(fd)

    def _watch(self) -> None:
        """Bytes came in on strangers' connections: drop those that sent more than a hello
        needs (see the module doc)."""
        if self._strangers is None:
            return
        self._drain()  # ACCEPTED and DISCONNECTED first: a descriptor may have changed hands
        for fd in self._strangers.ready():
            conn = self._conns.get(fd)
            if conn is None or not conn.watched or _inode(fd) != conn.inode:
                continue  # gone since (the kernel took it out of the set), or not ours
            self._check(fd, conn)
        self._over_total()

    def _check(self, fd: int, conn: _Conn) -> None:
        """Read one stranger's byte count; drop it once past ``stranger_bytes``."""
        got = bytes_received(fd)
        if got is None:
            self._unwatch(fd, conn)
            return
        self._stranger_total += got - conn.got
        conn.got = got
        if got > self.stranger_bytes and self._drop(fd):
            self._log("stranger_bytes", logging.WARNING,
                      "a connection without hello sent %d bytes (limit %d): dropped (%d "
                      "dropped so far)", got, self.stranger_bytes, self.dropped)

    def _over_total(self) -> None:
        """Drop the largest strangers while all of them together hold too many bytes."""
        if self._stranger_total <= self.strangers_total:
            return
        sizes = sorted(((c.got, fd) for fd, c in self._conns.items() if c.watched),
                       reverse=True)
        for got, fd in sizes:
            if self._stranger_total <= self.strangers_total:
                break
            if self._drop(fd):
                self._log("strangers_total", logging.WARNING,
                          "connections without hello hold %d bytes (limit %d): dropped "
                          "the largest", self._stranger_total + got, self.strangers_total)

    def _tick(self) -> None:
        self._drain()
        now = time.monotonic()
        late = [fd for fd, c in self._conns.items()
                if c.identity is None and now - c.accepted > self.hello_timeout]
        for fd in late:
            self._drop(fd)
        if late:
            self._log("hello_timeout", logging.INFO,
                      "dropped %d connections that sent no hello within %.1f s "
                      "(%d open, %d dropped so far)", len(late), self.hello_timeout,
                      len(self._conns), self.dropped)
        if self._loop is not None:
            self._timer = self._loop.call_later(SWEEP_INTERVAL, self._tick)

    def _make_room(self, why: str) -> None:
        """Drop the oldest unauthenticated connections down to a bit under the bound."""
        target = max(self.max_connections - max(self.max_connections // 16, 1), 0)
        strangers = sorted((c.accepted, fd) for fd, c in self._conns.items()
                           if c.identity is None)
        excess = max(len(self._conns) - target, 1)
        dropped = sum(self._drop(fd) for _, fd in strangers[:excess])
        level = logging.WARNING
        self._log(why, level, "%s: %d connections open (bound %d), %d authenticated; dropped "
                  "%d idle unauthenticated connections (%d so far)%s", why, len(self._conns),
                  self.max_connections, len(self._conns) - (len(strangers) - dropped), dropped,
                  self.dropped, "" if dropped else ": none left to drop, new clients wait")

    def _drop(self, fd: int) -> bool:
        conn = self._conns.pop(fd, None)
        if conn is None or conn.identity is not None:
            if conn is not None:
                self._conns[fd] = conn
            return False
        self._unwatch(fd, conn)
        if _inode(fd) != conn.inode:
            return False  # closed (and maybe reused) since: not ours to touch
        sock = None
        try:
            sock = socket.socket(fileno=fd)
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            return False
        finally:
            if sock is not None:
                sock.detach()  # libzmq owns the descriptor: never close it here
        self.dropped += 1
        return True

    def _log(self, key: str, level: int, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_log.get(key, -LOG_INTERVAL) >= LOG_INTERVAL:
            self._last_log[key] = now
            log.log(level, msg, *args)
