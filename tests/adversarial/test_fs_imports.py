"""Hostile local imports (``sourcePath``): a file that grows while it is read, a file over the
import cap, hard links to a file outside the root, special files (FIFO, socket, a character
device like /dev/zero, a symlink to one), and SIGTERM during a long import. A real sidecar,
real files; each case has a time budget (the call's timeout) and the peak RSS is read."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from protocol.vocabulary import ItemStatus, MediaType
from tests.adversarial.conftest import Figures
from tests.adversarial.fs_support import (
    MiB,
    Stopwatch,
    code_of,
    dealer,
    no_traceback,
    peak_rss,
    running,
)
from tests.support import is_root, spawn_sidecar, wait_gone


@contextlib.contextmanager
def growing(path: Path, limit: int) -> Iterator[list[int]]:
    """Append 1 MiB blocks to ``path`` until the block ends or ``limit`` bytes."""
    stop = threading.Event()
    written = [path.stat().st_size]

    def run() -> None:
        block = os.urandom(MiB)
        with path.open("ab") as f:
            while not stop.is_set() and written[0] < limit:
                f.write(block)
                f.flush()
                written[0] += len(block)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield written
    finally:
        stop.set()
        t.join(10)


def prefix_sha(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        left = size
        while left:
            chunk = f.read(min(MiB, left))
            assert chunk
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


async def test_growing_oversize_linked_and_special_files(tmp_path: Path,
                                                         figures: Figures) -> None:
    imports, outside = tmp_path / "imports", tmp_path / "outside"
    imports.mkdir()
    outside.mkdir()
    grow = imports / "grow.mp4"
    grow.write_bytes(os.urandom(8 * MiB))
    with (imports / "big.mp4").open("wb") as f:
        f.truncate(1024 * MiB + 1)  # sparse: over the cap by one byte
    (outside / "secret.mp4").write_bytes(b"secret" * 1000)
    os.link(outside / "secret.mp4", imports / "hardlink.mp4")
    os.mkfifo(imports / "fifo.mp4")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(imports / "socket.mp4"))
    specials = ["fifo.mp4", "socket.mp4", "devzero-link.mp4"]
    (imports / "devzero-link.mp4").symlink_to("/dev/zero")
    if is_root():
        os.mknod(imports / "zero.mp4", stat.S_IFCHR | 0o600, os.makedev(1, 5))
        specials.append("zero.mp4")
    env = {"MEDIA_SIDECAR_IMPORT_MAX_BYTES": str(1024 * MiB)}  # above what the file grows to
    try:
        with running(tmp_path, "--import-root", str(imports), env=env) as sc:
            async with dealer(sc) as d:
                with growing(grow, 512 * MiB) as written:
                    clock = Stopwatch()
                    got = await d.call("addMediaItem", {
                        "projectId": "p", "name": "g", "type": MediaType.VIDEO,
                        "sourcePath": str(grow)}, timeout=60)
                    grow_s = clock.elapsed
                big = await d.call("addMediaItem", {"projectId": "p", "name": "b",
                                                    "type": MediaType.VIDEO,
                                                    "sourcePath": str(imports / "big.mp4")})
                hard = await d.call("addMediaItem", {
                    "projectId": "p", "name": "h", "type": MediaType.VIDEO,
                    "sourcePath": str(imports / "hardlink.mp4")})
                special_codes = {}
                clock = Stopwatch()
                for name in [*specials, "/dev/zero", "/proc/self/environ"]:
                    msg = await d.call("addMediaItem", {
                        "projectId": "p", "name": name, "type": MediaType.VIDEO,
                        "sourcePath": str(imports / name)}, timeout=5)
                    special_codes[name] = code_of(msg)
                special_s = clock.elapsed
                listed = await d.call("listMediaItems", {"projectId": "p"})
            rss = peak_rss(sc.pid)
            assert no_traceback(sc)
    finally:
        sock.close()
    item = got["result"]["item"]
    figures["growing file: size at open (MiB) / grown to (MiB) by the reply"] = (
        item["size"] / MiB, written[0] // MiB)
    figures["growing file import s"] = grow_s
    figures["special files refused"] = special_codes
    figures["special files s"] = special_s
    figures["peak RSS (MiB)"] = rss // MiB
    assert code_of(got) == "ok" and item["status"] == ItemStatus.SAVED
    assert 8 * MiB <= item["size"] <= written[0]
    assert item["sha256"] == prefix_sha(grow, item["size"])  # exactly the bytes at open
    assert Path(item["localPath"]).stat().st_size == item["size"]
    assert code_of(big) == "payload_too_large" and big["error"]["field"] == "params.sourcePath"
    assert code_of(hard) == "path_not_allowed" and "hard link" in hard["error"]["message"]
    assert set(special_codes.values()) == {"path_not_allowed"}
    assert len(listed["result"]["items"]) == 1  # nothing but the grown file
    assert rss < 300 * MiB  # never loaded whole


async def test_hard_links_are_imported_when_allowed(tmp_path: Path) -> None:
    imports = tmp_path / "imports"
    imports.mkdir()
    (tmp_path / "orig.mp4").write_bytes(b"mine" * 100)
    os.link(tmp_path / "orig.mp4", imports / "link.mp4")
    with running(tmp_path, "--import-root", str(imports),
                 env={"MEDIA_SIDECAR_IMPORT_HARDLINKS": "1"}) as sc:
        async with dealer(sc) as d:
            msg = await d.call("addMediaItem", {"projectId": "p", "name": "l",
                                                "type": MediaType.VIDEO,
                                                "sourcePath": str(imports / "link.mp4")})
    assert code_of(msg) == "ok" and msg["result"]["item"]["size"] == 400


async def test_sigterm_stops_the_sidecar_during_a_long_import(tmp_path: Path,
                                                              figures: Figures) -> None:
    imports = tmp_path / "imports"
    imports.mkdir()
    huge = imports / "huge.mp4"
    with huge.open("wb") as f:
        f.truncate(64 * 1024 * MiB)  # 64 GiB, sparse: minutes to copy
    sc = spawn_sidecar(tmp_path, "--import-root", str(imports), "--drain-timeout", "0.5",
                       env={"MEDIA_SIDECAR_IMPORT_MAX_BYTES": str(128 * 1024 * MiB)})
    try:
        async with dealer(sc) as d:
            from tests.reliability.helpers import request, signed

            rid, env = request("addMediaItem", {"projectId": "p", "name": "h",
                                                "type": MediaType.VIDEO, "sourcePath": str(huge)})
            await d.send(signed(d.secret, env))
            tmp_dir = sc.data_dir / "tmp"
            deadline = time.monotonic() + 10
            # (the store makes tmp/ as it opens, which may be just after the ready line)
            while time.monotonic() < deadline and not (tmp_dir.is_dir()
                                                       and any(tmp_dir.iterdir())):
                time.sleep(0.02)  # the copy has started
            time.sleep(0.3)
            clock = Stopwatch()
            os.kill(sc.pid, signal.SIGTERM)
            reply = await d.recv(timeout=20)
            stopped = wait_gone(sc.pid, 20)
            stop_s = clock.elapsed
        code = sc.wait(5) if stopped != float("inf") else None
    finally:
        sc.kill()
    figures["SIGTERM to exit during a 64 GiB import (drain 0.5 s), s"] = stop_s
    assert stopped != float("inf") and code == 0
    assert reply.get("id") == rid and code_of(reply) == "cancelled"
    assert list((sc.data_dir / "tmp").iterdir()) == []  # the partial copy is gone
    assert [p for p in (sc.data_dir / "blobs").rglob("*") if p.is_file()] == []
