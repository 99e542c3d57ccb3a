"""A parent directory of an allowed ``sourcePath`` swapped for a symlink while imports run.

A thread keeps exchanging ``imports/a`` (a real directory holding ``b/clip.mp4``) with a
symlink to ``outside`` (holding a secret ``b/clip.mp4``), atomically (``renameat2`` with
``RENAME_EXCHANGE``), while imports of ``imports/a/b/clip.mp4`` run. An import may succeed
with the inside bytes or be refused; it must never carry the secret's bytes. The same race is
run in-process against both ways of opening (``openat2`` and the ``O_NOFOLLOW`` walk) and,
as the control that shows the race is real, against the check-then-open that was used before.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.vocabulary import MediaType
from sidecar.service.beneath import open_beneath, openat2_available
from tests.adversarial.conftest import Figures, soak
from tests.adversarial.fs_support import Stopwatch, code_of, dealer, no_traceback, running
from tests.support import require

AT_FDCWD = -100
RENAME_EXCHANGE = 2
INSIDE = b"inside " * 1000
SECRET = b"SECRET " * 1000


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def _renameat2() -> ctypes._CFuncPtr:  # type: ignore[name-defined]
    libc = ctypes.CDLL(None, use_errno=True)
    fn = getattr(libc, "renameat2", None)
    require(fn is not None, "renameat2 in libc (glibc >= 2.28)")
    return fn


@contextlib.contextmanager
def swapping(a: Path, swap: Path, limit_s: float) -> Iterator[list[int]]:
    """Exchange ``a`` and ``swap`` as fast as possible until the block ends (or limit_s)."""
    fn = _renameat2()
    stop = threading.Event()
    count = [0]
    pa, ps = os.fsencode(a), os.fsencode(swap)

    def run() -> None:
        end = time.monotonic() + limit_s
        while not stop.is_set() and time.monotonic() < end:
            if fn(AT_FDCWD, pa, AT_FDCWD, ps, RENAME_EXCHANGE) == 0:
                count[0] += 1

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield count
    finally:
        stop.set()
        t.join(5)
        if a.is_symlink():  # leave the real directory at ``a``
            fn(AT_FDCWD, pa, AT_FDCWD, ps, RENAME_EXCHANGE)


def layout(tmp: Path) -> tuple[Path, Path, Path]:
    imports, outside = tmp / "imports", tmp / "outside"
    (imports / "a" / "b").mkdir(parents=True)
    (outside / "b").mkdir(parents=True)
    (imports / "a" / "b" / "clip.mp4").write_bytes(INSIDE)
    (outside / "b" / "clip.mp4").write_bytes(SECRET)
    (imports / "swap").symlink_to(outside)
    return imports, imports / "a", imports / "swap"


async def test_a_parent_swapped_for_a_symlink_never_lets_an_import_escape(
        tmp_path: Path, figures: Figures) -> None:
    imports, a, swap = layout(tmp_path)
    tries = soak(1000, 10000)
    outcomes: dict[str, int] = {}
    with running(tmp_path, "--import-root", str(imports)) as sc:
        async with dealer(sc) as d:
            clock = Stopwatch()
            with swapping(a, swap, limit_s=soak(40, 400)) as swaps:
                for _ in range(tries):
                    msg = await d.call("addMediaItem", {
                        "projectId": "race", "name": "r", "type": MediaType.VIDEO,
                        "sourcePath": str(a / "b" / "clip.mp4")}, timeout=10)
                    if msg["type"] == "reply":
                        got = msg["result"]["item"]["sha256"]
                        key = {sha(INSIDE): "inside", sha(SECRET): "ESCAPE"}.get(got, got)
                    else:
                        key = code_of(msg)
                    outcomes[key] = outcomes.get(key, 0) + 1
            elapsed = clock.elapsed
            listed = await d.call("listMediaItems", {"projectId": "race", "limit": 500})
        assert no_traceback(sc)
    blobs = {p.read_bytes() for p in (sc.data_dir / "blobs").rglob("*") if p.is_file()}
    figures["imports under the race"] = tries
    figures["swaps done meanwhile"] = swaps[0]
    figures["outcomes"] = outcomes
    figures["escapes"] = outcomes.get("ESCAPE", 0)
    figures["s"] = elapsed
    assert outcomes.get("ESCAPE", 0) == 0
    assert SECRET not in blobs
    assert set(outcomes) <= {"inside", "path_not_allowed"}
    assert outcomes.get("inside", 0) > 0 and outcomes.get("path_not_allowed", 0) > 0
    assert all(i["sha256"] == sha(INSIDE) for i in listed["result"]["items"])


def _naive_open(path: Path, root: Path) -> int:
    """The old way: resolve, check the prefix, then open the resolved path (O_NOFOLLOW on
    the last component only)."""
    real = os.path.realpath(path)
    if not real.startswith(str(root) + "/"):
        raise PermissionError(real)
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
    st, again = os.fstat(fd), os.stat(real, follow_symlinks=False)
    if (st.st_dev, st.st_ino) != (again.st_dev, again.st_ino):
        os.close(fd)
        raise PermissionError(real)
    return fd


@pytest.mark.parametrize("way", ["openat2", "walk", "check-then-open (control)"])
def test_the_open_itself_never_escapes_under_the_race(way: str, tmp_path: Path,
                                                      figures: Figures) -> None:
    if way == "openat2":
        require(openat2_available(), "openat2 (Linux >= 5.6)")
    imports, a, swap = layout(tmp_path)
    budget_s = soak(2, 20)
    opened = refused = escapes = 0
    root_fd = os.open(imports, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with swapping(a, swap, limit_s=budget_s + 5) as swaps:
            end = time.monotonic() + budget_s
            n = 0
            while time.monotonic() < end and n < 200_000:
                n += 1
                try:
                    if way == "check-then-open (control)":
                        fd = _naive_open(a / "b" / "clip.mp4", imports)
                    else:
                        fd = open_beneath(root_fd, "a/b/clip.mp4", os.O_RDONLY,
                                          use_openat2=way == "openat2")
                except OSError:
                    refused += 1
                    continue
                try:
                    head = os.pread(fd, 7, 0)
                finally:
                    os.close(fd)
                opened += 1
                escapes += head == SECRET[:7]
    finally:
        os.close(root_fd)
    figures["tries"] = n
    figures["swaps"] = swaps[0]
    figures["opened inside / refused / escapes"] = (opened, refused, escapes)
    assert opened > 0 and refused > 0  # the race did run both ways
    if way == "check-then-open (control)":
        assert escapes > 0  # the race is real: the old way leaks
    else:
        assert escapes == 0
