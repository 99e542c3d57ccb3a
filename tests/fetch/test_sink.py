"""The sink: exclusive file, hash of exactly the bytes written, restart, SinkWriteError."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from sidecar.fetch.api import SinkWriteError
from sidecar.fetch.sink import Sink


def test_hash_and_file_cover_exactly_the_written_bytes(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    sink = Sink(tmp_path / "f", block_size=4096, blocks=6)
    sink.open()
    for start in range(0, 200_000, 1000):  # blocks received in place, more than the ring has
        sink.buffer[:1000] = data[start:start + 1000]
        sink.commit(1000)
    sink.write(data[200_000:])
    assert sink.hexdigest() == hashlib.sha256(data).hexdigest()
    sink.close()
    assert (tmp_path / "f").read_bytes() == data
    assert sink.size == len(data)


def test_restart_truncates_and_starts_a_fresh_hash(tmp_path: Path) -> None:
    sink = Sink(tmp_path / "f")
    sink.open()
    sink.write(b"stale" * 5000)
    sink.restart()
    sink.write(b"fresh")
    assert sink.hexdigest() == hashlib.sha256(b"fresh").hexdigest()
    sink.close()
    assert (tmp_path / "f").read_bytes() == b"fresh"


def test_progress_reports_bytes_written(tmp_path: Path) -> None:
    seen: list[int] = []
    sink = Sink(tmp_path / "f", seen.append)
    sink.open()
    for _ in range(3):
        sink.write(b"x" * 1000)
    sink.close()
    assert seen == [1000, 2000, 3000]


def test_an_existing_file_is_never_opened_or_removed(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"keep me")
    with pytest.raises(SinkWriteError) as info:
        Sink(path).open()
    assert info.value.os_error.errno == errno.EEXIST
    assert path.read_bytes() == b"keep me"


def test_a_write_failure_raises_sink_write_error_and_discard_removes_the_file(
        tmp_path: Path) -> None:
    sink = Sink(tmp_path / "f")
    sink.open()
    os.close(sink._fd)
    sink._fd = os.open(os.devnull, os.O_RDONLY)  # writes now fail with EBADF
    with pytest.raises(SinkWriteError) as info:
        sink.write(b"x" * 20000)
    assert info.value.os_error.errno == errno.EBADF
    sink.discard()
    assert not (tmp_path / "f").exists()
