"""A loopback HTTP server the harness runs for the download cases (plain http, 127.0.0.1).

Routes: ``/ok/<name>`` serves published bytes (404 when none), ``/gone/<name>`` answers 410,
``/fail/<name>`` 500, ``/parked/<name>`` 404 (URLs of url-only items nobody should fetch),
and ``/slow/<name>`` sends headers and a first chunk, then holds the rest until released,
so a download can be cancelled while it runs. A server under test can use these only if it
allows http from loopback hosts; otherwise the download cases do not apply.
"""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_TOTAL = 4 * 1024 * 1024
SLOW_FIRST = 64 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fixture: HttpFixture


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return  # quiet: the harness prints one line per case

    def do_GET(self) -> None:
        fixture = self.server.fixture
        route, _, name = self.path.lstrip("/").partition("/")
        fixture.record(self.path)
        if route == "ok" and name in fixture.files:
            self._send(200, fixture.files[name])
        elif route == "gone":
            self._send(410, b"gone")
        elif route == "fail":
            self._send(500, b"failing on purpose")
        elif route == "slow":
            self._slow(name)
        else:
            self._send(404, b"not here")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "video/mp4" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client stopped reading (over its cap)
            self.wfile.write(body)

    def _slow(self, name: str) -> None:
        fixture = self.server.fixture
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(SLOW_TOTAL))
        self.end_headers()
        try:
            self.wfile.write(b"\0" * SLOW_FIRST)
            self.wfile.flush()
            fixture.slow_started.set()
            fixture.release.wait(30)
            self.wfile.write(b"\0" * (SLOW_TOTAL - SLOW_FIRST))
        except OSError:
            pass  # the client went away (cancelled): that is the point


class HttpFixture:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.slow_started = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fixture = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name="harness-http")
        self._thread.start()

    def url(self, route: str, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{route}/{name}"

    def publish(self, name: str, data: bytes) -> str:
        self.files[name] = data
        return self.url("ok", name)

    def record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
