"""A scriptable HTTP(S) server on 127.0.0.1 standing in for fal.media in the fetch tests.

Each path gets a list of responders; the n-th request to the path is answered by the n-th
responder (the last one repeats). Every accepted connection and request is logged, so a test
can assert that nothing at all reached the server. TLS certificates come from a trustme CA
for the names the test asks for; the handshake happens in the handler thread, and the SNI the
client sent is logged.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import trustme

Responder = Callable[["Handler"], None]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    sni: str | None


@dataclass
class Log:
    connections: int = 0
    requests: list[Seen] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: MediaServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        sni = getattr(self.connection, "sni", None)
        seen = Seen("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, sni)
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.log.requests.append(seen)
            responders = self.server.routes.get(path)
            n = self.server.counts.get(path, 0)
            self.server.counts[path] = n + 1
        if not responders:
            status(404)(self)
            return
        responders[min(n, len(responders) - 1)](self)

    @property
    def range_header(self) -> str | None:
        return self.headers.get("Range")

    def send(self, code: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if body:
            self.wfile.write(body)


class MediaServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ca: trustme.CA | None, names: tuple[str, ...] = ("fal.media",)) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes: dict[str, list[Responder]] = {}
        self.counts: dict[str, int] = {}
        self.log = Log()
        self.lock = threading.Lock()
        self.ctx: ssl.SSLContext | None = None
        if ca is not None:
            self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert(*names).configure_cert(self.ctx)

            def remember_sni(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None,
                             _: ssl.SSLContext) -> None:
                sock.sni = name  # type: ignore[union-attr]

            self.ctx.sni_callback = remember_sni
        # A short poll interval: shutdown() waits for it, once per server per test.
        self.thread = threading.Thread(target=self.serve_forever, args=(0.01,), daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def route(self, path: str, *responders: Responder) -> None:
        self.routes[path] = list(responders)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        with self.lock:
            self.log.connections += 1
        if self.ctx is not None:
            sock = self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # cut connections and refused handshakes are part of the tests

    def __enter__(self) -> MediaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


# -- responders -------------------------------------------------------------------------------
def serve(body: bytes, *, content_type: str = "video/mp4", etag: str | None = '"v1"',
          ranges: bool = True, extra: dict[str, str] | None = None) -> Responder:
    """A static file; honours Range (and If-Range against ``etag``) when ``ranges``."""

    def respond(h: Handler) -> None:
        headers = {"Content-Type": content_type, **(extra or {})}
        if etag:
            headers["ETag"] = etag
        if ranges:
            headers["Accept-Ranges"] = "bytes"
        rng, if_range = h.range_header, h.headers.get("If-Range")
        if ranges and rng and rng.startswith("bytes=") and (if_range in (None, etag)):
            start = int(rng[6:].split("-")[0])
            part = body[start:]
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            headers["Content-Length"] = str(len(part))
            h.send(206, headers, part)
            return
        headers["Content-Length"] = str(len(body))
        h.send(200, headers, body)

    return respond


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Responder:
    def respond(h: Handler) -> None:
        h.send(code, {"Content-Length": str(len(body)), "Content-Type": "text/plain",
                      **(headers or {})}, body)

    return respond


def redirect(location: str, code: int = 302) -> Responder:
    return status(code, {"Location": location})


def cut(body: bytes, after: int, *, etag: str | None = '"v1"') -> Responder:
    """Announce the whole body, send ``after`` bytes of it, then drop the connection."""

    def respond(h: Handler) -> None:
        headers = {"Content-Type": "video/mp4", "Content-Length": str(len(body)),
                   "Accept-Ranges": "bytes"}
        if etag:
            headers["ETag"] = etag
        h.send(200, headers, body[:after])
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)

    return respond


def chunked(body: bytes, *, content_type: str = "video/mp4", piece: int = 65536) -> Responder:
    def respond(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for i in range(0, len(body), piece):
            part = body[i:i + piece]
            h.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        h.wfile.write(b"0\r\n\r\n")

    return respond


def trickle(body: bytes, *, first: int, then_sleep: float) -> Responder:
    """Send ``first`` bytes, then stall for ``then_sleep`` seconds before the rest."""

    def respond(h: Handler) -> None:
        h.send(200, {"Content-Type": "video/mp4", "Content-Length": str(len(body)),
                     "Accept-Ranges": "bytes", "ETag": '"v1"'}, body[:first])
        h.wfile.flush()
        time.sleep(then_sleep)
        with contextlib.suppress(OSError):
            h.wfile.write(body[first:])

    return respond


def stall_head(seconds: float) -> Responder:
    """Accept the request, then say nothing for ``seconds`` (a read timeout)."""

    def respond(h: Handler) -> None:
        time.sleep(seconds)
        h.close_connection = True

    return respond
