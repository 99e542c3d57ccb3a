"""Forbidden URLs are refused, every one, and not a single connection is made for them.

A loopback listener (IPv4 and IPv6) counts every TCP connection it accepts; every URL below
points at it one way or another (literal loopback in its many spellings, userinfo and
fragment tricks, other schemes, allowed names whose resolver rule maps them to loopback).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.vocabulary import ItemStatus, MediaType
from tests.reliability.conftest import Figures
from tests.reliability.helpers import RawDealer, stop
from tests.support import SidecarProcess, spawn_sidecar


class ConnectionCounter:
    def __init__(self) -> None:
        self.count = 0
        self._socks: list[socket.socket] = []
        s4 = socket.socket(socket.AF_INET)
        s4.bind(("127.0.0.1", 0))
        self.port = s4.getsockname()[1]
        self._socks.append(s4)
        with contextlib.suppress(OSError):
            s6 = socket.socket(socket.AF_INET6)
            s6.bind(("::1", self.port))
            self._socks.append(s6)
        self._stop = False
        self._threads = [threading.Thread(target=self._serve, args=(s,), daemon=True)
                         for s in self._socks]

    def _serve(self, s: socket.socket) -> None:
        s.listen(64)
        s.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = s.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.count += 1
            conn.close()

    def __enter__(self) -> ConnectionCounter:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        for t in self._threads:
            t.join(2)
        for s in self._socks:
            s.close()


@pytest.fixture
def counter() -> Iterator[ConnectionCounter]:
    with ConnectionCounter() as c:
        yield c


def forbidden_urls(p: int) -> list[str]:
    """URLs refused by the policy itself (both for download and for URL-only items)."""
    return [
        f"http://127.0.0.1:{p}/a.mp4", f"https://127.0.0.1:{p}/a.mp4",
        f"http://localhost:{p}/a.mp4", f"https://localhost:{p}/a.mp4",
        f"https://[::1]:{p}/a.mp4", f"http://[::ffff:127.0.0.1]:{p}/a.mp4",
        f"https://2130706433:{p}/a.mp4", f"https://0x7f000001:{p}/a.mp4",
        f"https://127.1:{p}/a.mp4", f"https://0177.0.0.1:{p}/a.mp4",
        f"https://fal.media@127.0.0.1:{p}/a.mp4", f"https://127.0.0.1:{p}/#@fal.media",
        f"https://127.0.0.1:{p}?.fal.media", f"https://fal.media.127.0.0.1.nip.io:{p}/",
        f"https://evilfal.media:{p}/a.mp4", f"https://fal.media.evil.example:{p}/",
        "http://fal.media/a.mp4", "ftp://fal.media/a.mp4", "file:///etc/passwd",
        f"gopher://127.0.0.1:{p}/", "data:video/mp4;base64,AAAA", "javascript:alert(1)",
        f"HTTPS://127.0.0.1:{p}/a.mp4",
        f"https://fal.media\\@127.0.0.1:{p}/", f"https://127.0.0.1%2f:{p}/",
    ]


def mapped_urls(p: int) -> list[str]:
    """Allowed names whose resolver rule maps them to the loopback listener: registering
    them URL-only is fine (no request), downloading them must be refused at resolution."""
    return ["https://fal.media/a.mp4", "https://v3.fal.media/files/b.mp4",
            "https://deep.sub.fal.media/c.mp4", f"https://fal.media:{p}/a.mp4",
            f"https://v3.fal.media:{p}/a.mp4"]


async def test_forbidden_urls_are_refused_and_no_connection_is_made(
        tmp_path: Path, counter: ConnectionCounter, figures: Figures) -> None:
    p = counter.port
    # Mapped to a name, not an address: a rule naming a loopback address outright is refused
    # at start (serve would exit 2); a name that resolves there is what a rebinding DNS
    # answer looks like, and must be refused at resolution time.
    rules = f"MAP fal.media localhost:{p}, MAP *.fal.media localhost:{p}"
    sc: SidecarProcess = spawn_sidecar(
        tmp_path, env={"MEDIA_SIDECAR_HOST_RESOLVER_RULES": rules,
                       "MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS": "1"})
    dealer = RawDealer(sc.endpoint, sc.secret.encode())
    refused = total = 0
    codes: dict[str, int] = {}
    accepted: list[str] = []
    try:
        await dealer.hello()
        for i, url in enumerate(forbidden_urls(p)):
            for download in (True, False):
                msg = await dealer.call("addMediaItem", {
                    "id": f"f{i}-{download}", "projectId": "urls", "name": "x",
                    "type": MediaType.VIDEO, "sourceUrl": url, "download": download})
                total += 1
                code = msg["error"]["code"] if msg["type"] == "error" else "ACCEPTED"
                codes[code] = codes.get(code, 0) + 1
                if code in ("host_not_allowed", "invalid_params"):
                    refused += 1
                else:
                    accepted.append(f"{url} download={download}")
        for i, url in enumerate(mapped_urls(p)):
            msg = await dealer.call("addMediaItem", {
                "id": f"m{i}", "projectId": "urls", "name": "x", "type": MediaType.VIDEO,
                "sourceUrl": url, "download": True}, timeout=30)
            total += 1
            code = msg["error"]["code"] if msg["type"] == "error" else "ACCEPTED"
            codes[code] = codes.get(code, 0) + 1
            if code == "host_not_allowed":
                refused += 1
            else:
                accepted.append(url)
            # URL-only registration of an allowed name sends nothing, then a download of it
            # is refused the same way
            reg = await dealer.call("addMediaItem", {
                "id": f"u{i}", "projectId": "urls", "name": "x", "type": MediaType.VIDEO,
                "sourceUrl": url})
            assert reg["type"] == "reply" and reg["result"]["item"]["status"] == ItemStatus.URL_ONLY
            dl = await dealer.call("downloadUrlOnlyItem", {"id": f"u{i}"}, timeout=30)
            total += 1
            code = dl["error"]["code"] if dl["type"] == "error" else "ACCEPTED"
            codes[code] = codes.get(code, 0) + 1
            refused += code == "host_not_allowed"
        connections = counter.count
    finally:
        dealer.close()
        stop(sc)
    # the control: the listener does count a connection when one is made
    socket.create_connection(("127.0.0.1", p), timeout=2).close()
    for _ in range(50):
        if counter.count > connections:
            break
        threading.Event().wait(0.02)
    figures["URLs refused"] = f"{refused}/{total}"
    figures["connections to the loopback listener"] = connections
    figures["codes"] = codes
    assert not accepted
    assert refused == total
    assert connections == 0
    assert counter.count == 1
