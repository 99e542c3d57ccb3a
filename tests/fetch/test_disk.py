"""Failures to write the destination become SinkWriteError, and leave no file behind."""

from __future__ import annotations

import errno
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.fetch.api import SinkWriteError
from sidecar.fetch.downloader import Downloader
from tests.fetch.server import MediaServer, serve
from tests.support import is_root, require

BODY = random.Random(7).randbytes(3 * 1024 * 1024)


async def test_missing_directory_fails_before_any_request(
        fal: MediaServer, fetcher: Downloader, tmp_path: Path) -> None:
    fal.route("/a.mp4", serve(BODY))
    with pytest.raises(SinkWriteError) as info:
        await fetcher.fetch("https://fal.media/a.mp4", tmp_path / "no" / "such" / "f")
    assert info.value.os_error.errno == errno.ENOENT
    assert fal.log.connections == 0


async def test_existing_destination_is_refused_and_left_alone(
        fal: MediaServer, fetcher: Downloader, tmp_path: Path) -> None:
    dest = tmp_path / "f"
    dest.write_bytes(b"someone else's")
    with pytest.raises(SinkWriteError) as info:
        await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert info.value.os_error.errno == errno.EEXIST
    assert dest.read_bytes() == b"someone else's"


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    require(is_root(), "root (tmpfs mounts for a real ENOSPC / EROFS)")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt))
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)


@pytest.mark.root
async def test_disk_full_mid_download_raises_sink_write_error(
        fal: MediaServer, fetcher: Downloader, small_tmpfs: Path) -> None:
    fal.route("/a.mp4", serve(BODY))
    dest = small_tmpfs / "f"
    with pytest.raises(SinkWriteError) as info:
        await fetcher.fetch("https://fal.media/a.mp4", dest)
    assert info.value.os_error.errno == errno.ENOSPC
    assert not dest.exists()
    assert len(fal.log.requests) == 1  # a full disk is not retried


@pytest.mark.root
async def test_read_only_filesystem_raises_sink_write_error(
        fal: MediaServer, fetcher: Downloader, small_tmpfs: Path) -> None:
    mount("-o", "remount,ro", str(small_tmpfs))
    with pytest.raises(SinkWriteError) as info:
        await fetcher.fetch("https://fal.media/a.mp4", small_tmpfs / "f")
    assert info.value.os_error.errno == errno.EROFS
    assert fal.log.connections == 0
