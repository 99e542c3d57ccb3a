"""A FAL-like media host on loopback for the demo: HTTPS with a certificate made at run time.

``FakeFal`` serves clips at ``https://v3.fal.media/files/<path>`` (any ``*.fal.media`` name
and ``fal.media`` itself), the way FAL's CDN hands out generated videos. The sidecar reaches
it through its own settings, never through DNS: ``MEDIA_SIDECAR_HOST_RESOLVER_RULES`` maps
the names to ``127.0.0.1:<port>`` and ``MEDIA_SIDECAR_CA_FILE`` trusts the throw-away CA
(``trustme``) that signed the server's certificate. Clips marked expired answer 410 Gone and
unknown paths 404, as FAL does once it has deleted a file. Bodies are sent in small chunks
with a short pause so that download progress is visible.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sidecar.extras import require

HOSTS = ("fal.media", "*.fal.media")


@dataclass
class Hit:
    method: str
    host: str
    path: str
    status: int


@dataclass
class _Content:
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    chunk: int = 16 * 1024
    pause: float = 0.02


class _Handler(BaseHTTPRequestHandler):
    server_version = "fake-fal/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def content(self) -> _Content:
        c: _Content = self.server.content  # type: ignore[attr-defined]
        return c

    def log_message(self, format: str, *args: Any) -> None:
        return  # the demo prints what matters itself

    def _record(self, status: int) -> None:
        with self.content.lock:
            self.content.hits.append(Hit(self.command, self.headers.get("Host", ""),
                                         self.path, status))

    def _answer(self, status: int, reason: str) -> None:
        body = f"{status} {reason}\n".encode()
        self._record(status)
        self.send_response(status, reason)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        c = self.content
        with c.lock:
            gone = path in c.gone
            entry = c.files.get(path)
        if gone:
            self._answer(410, "Gone")
            return
        if entry is None:
            self._answer(404, "Not Found")
            return
        data, mime = entry
        start = 0
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes=") and rng[6:].split("-", 1)[0].isdigit():
            start = min(int(rng[6:].split("-", 1)[0]), len(data))
        body = data[start:]
        status = 206 if start else 200
        self._record(status)
        self.send_response(status)
        self.send_header("Content-Type", mime)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if self.command == "HEAD":
            return
        for i in range(0, len(body), c.chunk):
            self.wfile.write(body[i:i + c.chunk])
            self.wfile.flush()
            if c.pause:
                time.sleep(c.pause)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    content: _Content


class FakeFal:
    """Start with ``start(workdir)``; publish clips; ``close()`` stops it."""

    def __init__(self, *, chunk: int = 16 * 1024, pause: float = 0.02) -> None:
        self._content = _Content(chunk=chunk, pause=pause)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.ca_file: Path | None = None
        self.port = 0

    def start(self, workdir: Path) -> None:
        trustme = require("trustme", "the demo's throw-away CA")
        ca = trustme.CA(organization_name="media-sidecar demo CA (throw-away)")
        cert = ca.issue_cert(*HOSTS)
        self.ca_file = workdir / "fake-fal-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        server = _Server(("127.0.0.1", 0), _Handler)
        server.content = self._content
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fake-fal",
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def sidecar_env(self) -> dict[str, str]:
        """The sidecar's settings that route the FAL names here and trust our CA."""
        assert self.ca_file is not None
        return {
            "MEDIA_SIDECAR_HOST_RESOLVER_RULES":
                f"MAP fal.media 127.0.0.1:{self.port}, MAP *.fal.media 127.0.0.1:{self.port}",
            "MEDIA_SIDECAR_CA_FILE": str(self.ca_file),
            "MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES": "1",
        }

    def publish(self, path: str, data: bytes, mime: str = "video/mp4",
                host: str = "v3.fal.media") -> str:
        """Serve ``data`` at ``path``; returns its public URL."""
        with self._content.lock:
            self._content.files[path] = (data, mime)
            self._content.gone.discard(path)
        return f"https://{host}{path}"

    def expire(self, path: str) -> None:
        """FAL deleted the file: it answers 410 Gone from now on."""
        with self._content.lock:
            self._content.files.pop(path, None)
            self._content.gone.add(path)

    def hits(self, path: str | None = None) -> list[Hit]:
        with self._content.lock:
            return [h for h in self._content.hits if path is None or h.path == path]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
