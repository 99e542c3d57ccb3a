"""Hostile download hosts: trickling heads and bodies, decompression bombs, garbage
Retry-After, redirect tricks and look-alike hosts. A real sidecar downloads from a real HTTPS
server on 127.0.0.1 (the allowed fal.media names are mapped to it); every case has a time
budget (the call's timeout) and the sidecar's peak RSS is read from the kernel."""

from __future__ import annotations

import gzip
import socket
import time
import zlib
from pathlib import Path

from protocol.vocabulary import ItemStatus, MediaType
from tests.adversarial.conftest import Figures
from tests.adversarial.fs_support import (
    MiB,
    Stopwatch,
    code_of,
    dealer,
    fetch_env,
    https_hosts,
    no_traceback,
    peak_rss,
    running,
)
from tests.fetch.server import Handler, redirect, serve

BODY = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


def trickle_head(interval: float, limit: int = 200) -> object:
    """A response head sent one byte every ``interval`` s (never finished in time)."""

    def respond(h: Handler) -> None:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 10\r\n"
                + b"X-Pad: " + b"a" * limit + b"\r\n\r\n0123456789")
        h.close_connection = True
        for i in range(min(limit, len(head))):
            try:
                h.wfile.write(head[i:i + 1])
                h.wfile.flush()
            except OSError:
                return
            time.sleep(interval)

    return respond


def trickle_body(interval: float, length: int = 1000) -> object:
    """A complete head, then a body of ``length`` bytes at one byte every ``interval`` s."""

    def respond(h: Handler) -> None:
        h.send(200, {"Content-Type": "video/mp4", "Content-Length": str(length)})
        h.close_connection = True
        for _ in range(length):
            try:
                h.wfile.write(b"x")
                h.wfile.flush()
            except OSError:
                return
            time.sleep(interval)

    return respond


def encoded(body: bytes, coding: str, *, chunked: bool = False) -> object:
    def respond(h: Handler) -> None:
        h.close_connection = True
        if chunked:
            h.send_response(200)
            h.send_header("Content-Type", "video/mp4")
            h.send_header("Content-Encoding", coding)
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            for i in range(0, len(body), 65536):
                part = body[i:i + 65536]
                h.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            h.wfile.write(b"0\r\n\r\n")
            return
        h.send(200, {"Content-Type": "video/mp4", "Content-Encoding": coding,
                     "Content-Length": str(len(body))}, body)

    return respond


def raw_503(retry_after: bytes) -> object:
    """A 503 whose Retry-After is raw bytes (http.server would refuse non-latin-1)."""

    def respond(h: Handler) -> None:
        h.close_connection = True
        h.wfile.write(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nRetry-After: "
                      + retry_after + b"\r\nConnection: close\r\n\r\n")
        h.wfile.flush()

    return respond


def gzip_zeros(size: int) -> bytes:
    """gzip of ``size`` zero bytes (a multiple of 1 MiB), fast: one fully flushed deflate
    block of 1 MiB of zeros is position independent, so it is repeated, then the trailer."""
    co = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = co.compress(bytes(MiB)) + co.flush(zlib.Z_FULL_FLUSH)
    end = co.flush()
    crc = 0
    zeros = bytes(MiB)
    for _ in range(size // MiB):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little")
    return header + block * (size // MiB) + end + trailer


async def test_a_trickling_host_fails_within_the_deadline(tmp_path: Path,
                                                          figures: Figures) -> None:
    with https_hosts(tmp_path) as (server, ca):
        server.route("/head.mp4", trickle_head(2.0))
        server.route("/body.mp4", trickle_body(2.0))
        env = fetch_env(server, ca, MEDIA_SIDECAR_DOWNLOAD_DEADLINE="3",
                        MEDIA_SIDECAR_DOWNLOAD_HEAD_TIMEOUT="2",
                        MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS="1")
        with running(tmp_path, env=env) as sc:
            async with dealer(sc) as d:
                seen = {}
                for name in ("head", "body"):
                    clock = Stopwatch()
                    msg = await d.call("addMediaItem", {
                        "id": name, "projectId": "p", "name": name, "type": MediaType.VIDEO,
                        "sourceUrl": f"https://v3.fal.media/{name}.mp4", "download": True},
                        timeout=20)  # the budget: 1 byte / 2 s would take 400+ s
                    seen[name] = (code_of(msg), clock.elapsed, msg.get("error", {}).get(
                        "message", ""))
                    item = await d.call("getMediaItem", {"id": name})
                    assert item["result"]["item"]["status"] == ItemStatus.URL_ONLY
            assert no_traceback(sc)
    figures["head trickle (1 B / 2 s, head timeout 2 s): failed after s"] = seen["head"][1]
    figures["body trickle (1 B / 2 s, deadline 3 s): failed after s"] = seen["body"][1]
    assert seen["head"][0] == "download_failed" and "head" in seen["head"][2]
    assert seen["body"][0] == "download_failed" and "deadline" in seen["body"][2]


async def test_decompression_bombs_are_refused_or_capped_in_bounded_memory(
        tmp_path: Path, figures: Figures) -> None:
    inner = gzip_zeros(1024 * MiB)  # 1 GiB of zeros in ~1 MiB
    double = gzip.compress(inner, 9)  # gzip, gzip: 1 GiB in a few KiB
    deflated = zlib.compress(BODY)
    with https_hosts(tmp_path) as (server, ca):
        server.route("/stacked.mp4", encoded(double, "gzip, gzip"))
        server.route("/stacked-chunked.mp4", encoded(double, "gzip, gzip", chunked=True))
        server.route("/br.mp4", encoded(b"\x0b\x02\x80hello\x03", "br"))
        server.route("/bomb.mp4", encoded(inner, "gzip", chunked=True))
        server.route("/deflate.mp4", encoded(deflated, "deflate"))
        server.route("/gzip-identity.mp4", encoded(gzip.compress(BODY), "gzip, identity"))
        env = fetch_env(server, ca, MEDIA_SIDECAR_DOWNLOAD_MAX_BYTES=str(64 * MiB),
                        MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS="1")
        with running(tmp_path, env=env) as sc:
            before = peak_rss(sc.pid)
            codes = {}
            async with dealer(sc) as d:
                for name in ("stacked", "stacked-chunked", "br", "bomb", "deflate",
                             "gzip-identity"):
                    msg = await d.call("addMediaItem", {
                        "id": name, "projectId": "p", "name": name, "type": MediaType.VIDEO,
                        "sourceUrl": f"https://fal.media/{name}.mp4", "download": True},
                        timeout=30)
                    codes[name] = code_of(msg)
                    if name in ("deflate", "gzip-identity"):
                        assert msg["result"]["item"]["size"] == len(BODY)
                        assert Path(msg["result"]["item"]["localPath"]).read_bytes() == BODY
            after = peak_rss(sc.pid)
            assert no_traceback(sc)
            leftovers = [p for p in (sc.data_dir / "tmp").iterdir()]
    figures["gzip,gzip bomb (1 GiB decoded, "
            f"{len(double)} B on the wire)"] = codes["stacked"]
    figures["single-layer gzip bomb, cap 64 MiB"] = codes["bomb"]
    figures["peak RSS before / after the bombs (MiB)"] = (before // MiB, after // MiB)
    assert codes == {"stacked": "download_failed", "stacked-chunked": "download_failed",
                     "br": "download_failed", "bomb": "payload_too_large",
                     "deflate": "ok", "gzip-identity": "ok"}
    assert after - before < 200 * MiB  # the memory budget; a whole-chunk decode costs GiBs
    assert leftovers == []


async def test_garbage_retry_after_never_answers_internal(tmp_path: Path,
                                                          figures: Figures) -> None:
    values = ["²".encode(), "٣".encode(), "\uff11\uff10".encode(), b"9" * 5000, b"-1", b"1e9",
              b"\xff\xfe", b"Wed, 21 Oct 99999 07:28:00 GMT", b"Mon, 31 Feb 2015 25:61:61 GMT",
              b"nan", b"0x10", b" " * 100, "Ⅻ".encode()]
    with https_hosts(tmp_path) as (server, ca):
        for i, v in enumerate(values):
            server.route(f"/r{i}.mp4", raw_503(v), serve(BODY))
        env = fetch_env(server, ca, MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS="2")
        with running(tmp_path, env=env) as sc:
            codes: dict[str, int] = {}
            clock = Stopwatch()
            async with dealer(sc) as d:
                for i in range(len(values)):
                    msg = await d.call("addMediaItem", {
                        "id": f"r{i}", "projectId": "p", "name": "r", "type": MediaType.VIDEO,
                        "sourceUrl": f"https://fal.media/r{i}.mp4", "download": True},
                        timeout=30)
                    codes[code_of(msg)] = codes.get(code_of(msg), 0) + 1
            assert no_traceback(sc)
    figures["garbage Retry-After values"] = len(values)
    figures["outcomes"] = codes
    figures["total s"] = clock.elapsed
    assert codes == {"ok": len(values)}  # retried (the garbage ignored), then saved


async def test_redirects_and_look_alike_hosts_never_reach_another_host(
        tmp_path: Path, figures: Figures) -> None:
    # the "evil" listener counts every TCP connection it gets
    evil = socket.socket()
    evil.bind(("127.0.0.1", 0))
    evil.listen(16)
    evil.setblocking(False)
    ep = evil.getsockname()[1]
    targets = [f"https://evil.example:{ep}/x.mp4", f"https://127.0.0.1:{ep}/x.mp4",
               f"http://fal.media:{ep}/x.mp4", f"https://fal.media.evil.example:{ep}/x.mp4",
               f"https://evilfal.media:{ep}/x.mp4", f"https://[::1]:{ep}/x.mp4",
               "https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/x.mp4",
               f"https://2130706433:{ep}/x.mp4", f"https://fal.media@127.0.0.1:{ep}/x.mp4",
               "file:///etc/passwd", f"ftp://fal.media:{ep}/x.mp4"]
    try:
        with https_hosts(tmp_path) as (server, ca):
            for i, t in enumerate(targets):
                server.route(f"/r{i}.mp4", redirect(t))
            server.route("/loop.mp4", redirect("https://fal.media/loop.mp4"))
            rules = (f"MAP fal.media 127.0.0.1:{server.port}, "
                     f"MAP *.fal.media 127.0.0.1:{server.port}, "
                     f"MAP evil.example 127.0.0.1:{ep}, MAP *.evil.example 127.0.0.1:{ep}, "
                     f"MAP evilfal.media 127.0.0.1:{ep}")
            env = fetch_env(server, ca, MEDIA_SIDECAR_HOST_RESOLVER_RULES=rules,
                            MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS="1")
            with running(tmp_path, env=env) as sc:
                codes: dict[str, int] = {}
                direct: dict[str, int] = {}
                async with dealer(sc) as d:
                    for i in range(len(targets)):
                        msg = await d.call("addMediaItem", {
                            "id": f"r{i}", "projectId": "p", "name": "r", "type": MediaType.VIDEO,
                            "sourceUrl": f"https://fal.media/r{i}.mp4", "download": True},
                            timeout=20)
                        codes[code_of(msg)] = codes.get(code_of(msg), 0) + 1
                    for i, url in enumerate([
                            f"https://evilfal.media:{ep}/x.mp4", "https://fal.media.evil.example/x",
                            "https://fal.medi\u0430/x.mp4", "https://xn--fal-media.example/x",
                            "https://fal.media%2e.evil.example/x", "https://FAL.MEDIA.evil.example/"]):
                        msg = await d.call("addMediaItem", {
                            "id": f"direct{i}", "projectId": "p", "name": "r",
                            "type": MediaType.VIDEO, "sourceUrl": url, "download": True},
                            timeout=20)
                        direct[code_of(msg)] = direct.get(code_of(msg), 0) + 1
                    loop = await d.call("addMediaItem", {
                        "id": "loop", "projectId": "p", "name": "r", "type": MediaType.VIDEO,
                        "sourceUrl": "https://fal.media/loop.mp4", "download": True},
                        timeout=20)
                assert no_traceback(sc)
        connections = 0
        while True:
            try:
                evil.accept()[0].close()
                connections += 1
            except BlockingIOError:
                break
    finally:
        evil.close()
    figures["redirect targets refused"] = f"{codes.get('host_not_allowed', 0)}/{len(targets)}"
    figures["look-alike sourceUrls refused"] = direct
    figures["connections reaching the other host"] = connections
    assert codes == {"host_not_allowed": len(targets)}
    assert set(direct) <= {"host_not_allowed", "invalid_params"} and sum(direct.values()) == 6
    assert code_of(loop) == "download_failed" and "redirect" in loop["error"]["message"]
    assert connections == 0
