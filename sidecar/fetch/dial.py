"""Dial: the permit for one request's connections, and the handle that aborts them.

The downloader creates one ``Dial`` per attempt with the target it validated and installs it
for the worker thread (``dialing``); the transport connects only to that target and registers
each socket it opens here. ``abort`` (from any thread: a cancel, ``aclose``) shuts those sockets
down, which makes a read blocked in the worker fail at once. Plain stdlib: no httpx import.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sidecar.fetch.urls import AllowedUrl


class Dial:
    def __init__(self, target: AllowedUrl) -> None:
        self.target = target  # the attempt re-aims it at each redirect hop it validated
        self.aborted = False
        # monotonic time by which the response head now awaited must have arrived (None:
        # no head awaited); set by the worker, watched by the downloader's loop side
        self.head_due: float | None = None
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []

    def awaiting_head(self, timeout: float) -> None:
        self.head_due = time.monotonic() + timeout

    def head_received(self) -> None:
        self.head_due = None

    def adopt(self, sock: socket.socket) -> None:
        """Register a socket about to connect; ``ConnectionAbortedError`` once aborted."""
        with self._lock:
            if self.aborted:
                raise ConnectionAbortedError("download aborted")
            self._socks.append(sock)

    def abort(self) -> None:
        """Thread-safe: make any blocked or later read/write on this attempt's sockets fail."""
        with self._lock:
            self.aborted = True
            socks, self._socks = self._socks, []
        for sock in socks:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter drops the SSL object under a
    # concurrent reader, which would then read raw TLS records as plain data.
    with contextlib.suppress(OSError):  # not connected or closed: the flag still stops it
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_local = threading.local()


@contextmanager
def dialing(dial: Dial) -> Iterator[Dial]:
    """Requests made by this thread inside the block may connect to ``dial.target`` only."""
    previous = getattr(_local, "dial", None)
    _local.dial = dial
    try:
        yield dial
    finally:
        _local.dial = previous


def current_dial() -> Dial | None:
    dial: Dial | None = getattr(_local, "dial", None)
    return dial
