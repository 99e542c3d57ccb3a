"""Media rows: durable adds (inline, from a path, from a URL) and the sidecar's peak RSS
growth for 1 GiB adds — each against its raw floor, same run (listing: bench_library.py).

* inline add: signed frames built (and hashed) before the clock; the figure is send →
  reply. Raw: write the same bytes to a temp file, fsync, rename, fsync the directory.
* add from path: ``sourcePath`` of a 256 MiB file. Raw: copy + fsync + rename + dir fsync.
* add from URL: ``sourceUrl`` + ``download`` from a local nginx over https (bench/nginx.py),
  against ``curl -o`` of the same kind of file (curl does not fsync; the sidecar does).
* RSS: a thread samples the sidecar's RSS every few ms during one 1 GiB add.

Every add uses new bytes (content-addressed blobs would otherwise skip the write).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from bench.procs import Child, start_sidecar
from bench.stats import interleave, median, paired_ratio
from bench.table import Row
from bench.wire_client import WireClient
from protocol.vocabulary import MediaType

MIB = 1 << 20
RSS_LIMIT_MIB = 32.0


def _raw_durable_write(data: bytes | memoryview, directory: Path) -> float:
    tmp = directory / f".{uuid.uuid4().hex}.tmp"
    t0 = time.perf_counter()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:8 * MIB]):]
    os.fsync(fd)
    os.close(fd)
    os.replace(tmp, directory / uuid.uuid4().hex)
    dfd = os.open(directory, os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    return time.perf_counter() - t0


def _raw_copy(src: Path, directory: Path) -> float:
    tmp = directory / f".{uuid.uuid4().hex}.tmp"
    t0 = time.perf_counter()
    shutil.copyfile(src, tmp)
    fd = os.open(tmp, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    os.replace(tmp, directory / uuid.uuid4().hex)
    dfd = os.open(directory, os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    return time.perf_counter() - t0


def _make_file(path: Path, mib: int) -> None:
    with path.open("wb") as f:
        for _ in range(mib):
            f.write(os.urandom(MIB))


def _touch_head(path: Path) -> None:
    """New content for the next add (the first 16 bytes), without rewriting the file."""
    with path.open("r+b") as f:
        f.write(os.urandom(16))


def _clear(directory: Path) -> None:
    for p in directory.iterdir():
        p.unlink()
    os.sync()


class RssSampler:
    """Peak RSS of a process while a block runs."""

    def __init__(self, pid: int) -> None:
        self._proc = psutil.Process(pid)
        self.before = self._proc.memory_info().rss
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.003):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / MIB


def _add(client: WireClient, params: dict[str, Any], payloads: list[Any] | None = None,
         ) -> Callable[[], float]:
    """A prepared add: frames signed now, the returned function times send → reply."""
    rid, frames = client.frames("addMediaItem", params, payloads or [])

    def go() -> float:
        t0 = time.perf_counter()
        client.sock.send_multipart(frames, copy=False)
        while True:
            reply = client.sock.recv_multipart()
            if rid.encode() in reply[1]:
                break
        elapsed = time.perf_counter() - t0
        if b"durable\xc3" not in reply[1]:
            raise RuntimeError(f"add not durable: {reply[1][:300]!r}")
        return elapsed

    return go


def _inline_rows(side: Child, client: WireClient, raw_dir: Path, reps: int,
                 sizes: list[int]) -> list[Row]:
    rows = []
    for mib in sizes:
        def sidecar_once(mib: int = mib) -> float:
            data = os.urandom(mib * MIB)
            go = _add(client, {"projectId": "inline", "name": f"{mib} MiB",
                               "type": MediaType.VIDEO}, [data])
            return go()

        def raw_once(mib: int = mib) -> float:
            return _raw_durable_write(os.urandom(mib * MIB), raw_dir)

        sidecar_once()
        raw_once()
        res = interleave(reps, {"sidecar": sidecar_once, "raw": raw_once})
        _clear(raw_dir)
        s, r = median(res["sidecar"]), median(res["raw"])
        rows.append(Row(f"inline add {mib} MiB (durable)", mib * MIB / s / 1e6, "MB/s",
                        "temp+write+fsync+rename+dir-fsync", mib * MIB / r / 1e6,
                        better="higher", target=0.8,
                        paired=paired_ratio(res["raw"], res["sidecar"]),
                        note=f"{s * 1e3:.0f} ms vs {r * 1e3:.0f} ms; sidecar also hashes "
                             "(sha256) and commits a row"))
    return rows


def _path_row(client: WireClient, src: Path, raw_dir: Path, reps: int, mib: int) -> Row:
    def sidecar_once() -> float:
        _touch_head(src)
        return _add(client, {"projectId": "path", "name": "from path", "type": MediaType.VIDEO,
                             "sourcePath": str(src)})()

    def raw_once() -> float:
        _touch_head(src)
        return _raw_copy(src, raw_dir)

    sidecar_once()
    raw_once()
    res = interleave(reps, {"sidecar": sidecar_once, "raw": raw_once})
    _clear(raw_dir)
    s, r = median(res["sidecar"]), median(res["raw"])
    return Row(f"add from path {mib} MiB (durable)", mib * MIB / s / 1e6, "MB/s",
               "copy+fsync+rename+dir-fsync", mib * MIB / r / 1e6, better="higher",
               target=0.8, paired=paired_ratio(res["raw"], res["sidecar"]),
               note=f"{s * 1e3:.0f} ms vs {r * 1e3:.0f} ms")


def _url_rows(work: Path, reps: int, mib: int, rss_mib: int) -> tuple[list[Row], float]:
    from bench.nginx import LocalNginx

    served = work / "served"
    served.mkdir()
    n_files = reps + 2
    for i in range(n_files):
        _make_file(served / f"clip-{i}.mp4", mib)
    if rss_mib:
        _make_file(served / "big.mp4", rss_mib)
    out_dir = work / "curl-out"
    out_dir.mkdir()
    with LocalNginx(served) as ngx:
        env = {"MEDIA_SIDECAR_HOST_RESOLVER_RULES": f"MAP fal.media 127.0.0.1:{ngx.https_port}",
               "MEDIA_SIDECAR_CA_FILE": str(ngx.ca_pem),
               "MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES": "1"}
        side = start_sidecar(work / "url-sidecar", env=env)
        client = WireClient(side.endpoint, side.secret, timeout_ms=600_000)
        client.hello()
        counter = iter(range(n_files))

        def sidecar_once() -> float:
            i = next(counter)
            return _add(client, {"projectId": "url", "name": f"clip {i}", "type": MediaType.VIDEO,
                                 "sourceUrl": f"https://fal.media/clip-{i}.mp4",
                                 "download": True})()

        curl_n = iter(range(10**6))

        def curl_once(fsync: bool = False) -> float:
            i = next(curl_n) % n_files
            out = out_dir / f"c{i}.out"
            out.unlink(missing_ok=True)
            t0 = time.perf_counter()
            subprocess.run(["curl", "-sS", "--fail", "-o", str(out), "--cacert",
                            str(ngx.ca_pem), "--connect-to",
                            f"fal.media:443:127.0.0.1:{ngx.https_port}",
                            f"https://fal.media/clip-{i}.mp4"], check=True)
            if fsync:
                fd = os.open(out, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
            return time.perf_counter() - t0

        sidecar_once()
        curl_once()
        res = interleave(reps, {"sidecar": sidecar_once, "curl": curl_once,
                                "curl+fsync": lambda: curl_once(True)})
        s, c, cf = median(res["sidecar"]), median(res["curl"]), median(res["curl+fsync"])
        rows = [Row(f"add from URL {mib} MiB (https, durable)", mib * MIB / s / 1e6, "MB/s",
                    "curl -o (https)", mib * MIB / c / 1e6, better="higher", target=0.9,
                    paired=paired_ratio(res["curl"], res["sidecar"]),
                    note=f"{s * 1e3:.0f} ms vs {c * 1e3:.0f} ms; curl -o + fsync: "
                         f"{mib * MIB / cf / 1e6:.0f} MB/s")]
        growth = float("nan")
        if rss_mib:
            go = _add(client, {"projectId": "url", "name": "big", "type": MediaType.VIDEO,
                               "sourceUrl": "https://fal.media/big.mp4", "download": True})
            with RssSampler(side.pid) as rss:
                go()
            growth = rss.growth_mib
        client.close()
        side.stop()
    return rows, growth


def _rss_path_and_inline(work: Path, mib: int) -> dict[str, float]:
    """RSS growth of the sidecar for one ``mib`` MiB add from a path and one inline."""
    src = work / "rss-src.mp4"
    _make_file(src, mib)
    side = start_sidecar(work / "rss-sidecar", "--import-root", str(work))
    client = WireClient(side.endpoint, side.secret, timeout_ms=600_000)
    client.hello()
    small = work / "small.mp4"
    _make_file(small, 1)
    _add(client, {"projectId": "rss", "name": "warm", "type": MediaType.VIDEO,
                  "sourcePath": str(small)})()
    go = _add(client, {"projectId": "rss", "name": "big", "type": MediaType.VIDEO,
                       "sourcePath": str(src)})
    with RssSampler(side.pid) as rss_path:
        go()
    src.unlink()
    data = os.urandom(mib * MIB)
    go = _add(client, {"projectId": "rss", "name": "inline", "type": MediaType.VIDEO}, [data])
    with RssSampler(side.pid) as rss_inline:
        t_inline = go()
    del data
    client.close()
    side.stop()
    return {"path": rss_path.growth_mib, "inline": rss_inline.growth_mib,
            "inlineSeconds": t_inline}


def run(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    reps = 3 if quick else 5
    big = 64 if quick else 256
    rss_mib = 256 if quick else 1024
    work = Path(tempfile.mkdtemp(prefix="bench-media-"))
    raw_dir = work / "raw"
    raw_dir.mkdir()
    info: dict[str, Any] = {}
    rows: list[Row] = []
    try:
        side = start_sidecar(work / "add-sidecar", "--import-root", str(work))
        client = WireClient(side.endpoint, side.secret, timeout_ms=600_000)
        client.hello()
        rows += _inline_rows(side, client, raw_dir, reps, [8] if quick else [8, 64])
        src = work / "path-src.mp4"
        _make_file(src, big)
        rows.append(_path_row(client, src, raw_dir, reps, big))
        src.unlink()
        client.close()
        side.stop()
        url_rows, url_growth = _url_rows(work, reps, big, rss_mib)
        rows += url_rows
        rss = _rss_path_and_inline(work, rss_mib)
        rows += [
            Row(f"peak RSS growth, {rss_mib} MiB add from path", rss["path"], "MiB",
                "limit", RSS_LIMIT_MIB, target=1.0),
            Row(f"peak RSS growth, {rss_mib} MiB add from URL", url_growth, "MiB",
                "limit", RSS_LIMIT_MIB, target=1.0),
            Row(f"{rss_mib} MiB inline in frames: RSS growth", rss["inline"], "MiB",
                note=f"time {rss['inlineSeconds']:.2f} s "
                     f"({rss_mib * MIB / rss['inlineSeconds'] / 1e6:.0f} MB/s); a ZeroMQ "
                     "message arrives whole, so its frames are in memory at once"),
        ]
        info["rss"] = rss
        info["urlRssGrowthMiB"] = url_growth
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows, info
