"""Real storage failures under a real sidecar process: a full tmpfs (ENOSPC) and a read-only
bind mount (EROFS). Nothing acknowledged is lost: saved items stay intact, unsaved ones stay
listed (across an orderly restart too) and are saved by ``retryAllUnsaved`` once space or
write access is back. Needs root; under CI=true a non-root run fails instead of skipping.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.vocabulary import ItemStatus, MediaType
from tests.reliability.conftest import Figures
from tests.reliability.helpers import RawDealer, file_sha, sha, stop
from tests.support import SidecarProcess, mounted_tmpfs, spawn_sidecar, unmount

pytestmark = pytest.mark.root
MIB = 1 << 20


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    with mounted_tmpfs(tmp_path / "mnt", "12m") as mnt:
        yield mnt


def _fill(path: Path, leave: int) -> None:
    """Write ``path`` until only ``leave`` bytes are free on its filesystem."""
    st = os.statvfs(path.parent)
    size = max(st.f_bavail * st.f_frsize - leave, 0)
    with path.open("wb") as f, contextlib.suppress(OSError):
        for _ in range(size // MIB):
            f.write(b"\0" * MIB)


async def _add_all(d: RawDealer, project: str, n: int, size: int,
                   acked: dict[str, dict[str, Any]], codes: dict[str, int]) -> None:
    for i in range(n):
        data = os.urandom(size)
        item_id = f"{project}-{i}"
        msg = await d.call("addMediaItem", {"id": item_id, "projectId": project,
                                            "name": item_id, "type": MediaType.VIDEO},
                           payloads=[data], timeout=30)
        if msg["type"] == "error":
            codes[msg["error"]["code"]] = codes.get(msg["error"]["code"], 0) + 1
            assert msg["error"]["code"] in ("storage_blocked", "storage_failed"), msg
            continue
        status = msg["result"]["item"]["status"]
        codes[status] = codes.get(status, 0) + 1
        acked[item_id] = {"sha": sha(data), "project": project, "status": status}


async def _check(d: RawDealer, acked: dict[str, dict[str, Any]], *,
                 all_saved: bool) -> dict[str, int]:
    out = {"lost": 0, "corrupt": 0, "not saved": 0}
    for item_id, want in acked.items():
        msg = await d.call("getMediaItem", {"id": item_id})
        if msg["type"] == "error":
            out["lost"] += 1
            continue
        item = msg["result"]["item"]
        if item["status"] == ItemStatus.SAVED:
            lp = item.get("localPath")
            if item["sha256"] != want["sha"] or not lp or file_sha(Path(lp)) != want["sha"]:
                out["corrupt"] += 1
        elif all_saved or want["status"] == ItemStatus.SAVED:
            out["not saved"] += 1
    return out


async def _retry_all(d: RawDealer, projects: set[str]) -> None:
    for project in projects:
        msg = await d.call("retryAllUnsaved", {"projectId": project}, timeout=60)
        assert msg["type"] == "reply", msg


def _spawn(tmp_path: Path, mnt: Path) -> SidecarProcess:
    return spawn_sidecar(tmp_path, data_dir=mnt / "data",
                         env={"MEDIA_SIDECAR_SPILL_DIR": str(tmp_path / "spill")})


async def test_full_disk_loses_nothing_and_everything_saves_once_space_is_back(
        tmp_path: Path, tmpfs: Path, figures: Figures) -> None:
    acked: dict[str, dict[str, Any]] = {}
    codes: dict[str, int] = {}
    sc = _spawn(tmp_path, tmpfs)
    try:
        d = RawDealer(sc.endpoint, sc.secret.encode())
        await d.hello()
        _fill(tmpfs / "filler", leave=3 * MIB)
        await _add_all(d, "full", 16, 512 * 1024, acked, codes)
        status = (await d.call("storageStatus"))["result"]
        during = await _check(d, acked, all_saved=False)
        d.close()
    finally:
        stop(sc)
    sc = _spawn(tmp_path, tmpfs)  # an orderly restart while the disk is still full
    try:
        d = RawDealer(sc.endpoint, sc.secret.encode())
        await d.hello()
        restarted = await _check(d, acked, all_saved=False)
        (tmpfs / "filler").unlink()
        await _retry_all(d, {"full"})
        final = await _check(d, acked, all_saved=True)
        d.close()
    finally:
        stop(sc)
    figures["add outcomes"] = codes
    figures["blocked reported"] = status["blocked"]
    figures["during (lost/corrupt)"] = during
    figures["after restart, disk full"] = restarted
    figures["after space is back + retry"] = final
    assert codes.get("unsaved", 0) + codes.get("urlOnly", 0) > 0, "the disk never filled"
    assert during["lost"] == during["corrupt"] == during["not saved"] == 0
    assert restarted["lost"] == restarted["corrupt"] == 0
    assert final == {"lost": 0, "corrupt": 0, "not saved": 0}


async def test_read_only_data_dir_loses_nothing_and_saves_once_writable(
        tmp_path: Path, tmpfs: Path, figures: Figures) -> None:
    acked: dict[str, dict[str, Any]] = {}
    codes: dict[str, int] = {}
    sc = _spawn(tmp_path, tmpfs)
    data = tmpfs / "data"
    try:
        d = RawDealer(sc.endpoint, sc.secret.encode())
        await d.hello()
        await _add_all(d, "before", 3, 256 * 1024, acked, codes)
        subprocess.run(["mount", "--bind", str(data), str(data)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(data)], check=True)
        try:
            await _add_all(d, "ro", 6, 256 * 1024, acked, codes)
            status = (await d.call("storageStatus"))["result"]
            during = await _check(d, acked, all_saved=False)
        finally:
            unmount(data)
        await _retry_all(d, {"ro"})
        final = await _check(d, acked, all_saved=True)
        d.close()
    finally:
        stop(sc)
    figures["add outcomes"] = codes
    figures["blocked reported"] = status["blocked"]
    figures["while read-only (lost/corrupt)"] = during
    figures["after remount rw + retry"] = final
    assert codes.get("unsaved", 0) + codes.get("urlOnly", 0) > 0, "nothing hit EROFS"
    assert during["lost"] == during["corrupt"] == during["not saved"] == 0
    assert final == {"lost": 0, "corrupt": 0, "not saved": 0}
