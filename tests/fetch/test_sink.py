"""The sink: exclusive file, hashing writer thread, restart, failures as SinkWriteError."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from sidecar.fetch.api import SinkWriteError
from sidecar.fetch.sink import Sink


def put(sink: Sink, data: bytes) -> None:
    view = memoryview(data)
    while view:
        buf = sink.acquire()
        n = min(len(buf), len(view))
        buf[:n] = view[:n]
        sink.commit(buf, n)
        view = view[n:]


def test_hash_and_file_cover_exactly_the_committed_bytes(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    sink = Sink(tmp_path / "f", buffer_size=65536, buffers=2)
    sink.open()
    put(sink, data[:100_000])
    sink.feed(data[100_000:200_001])
    put(sink, data[200_001:])
    assert sink.hexdigest() == hashlib.sha256(data).hexdigest()
    sink.close()
    assert (tmp_path / "f").read_bytes() == data
    assert sink.size == len(data)


def test_restart_truncates_and_starts_a_fresh_hash(tmp_path: Path) -> None:
    sink = Sink(tmp_path / "f", buffer_size=4096, buffers=2)
    sink.open()
    put(sink, b"stale" * 5000)
    sink.restart()
    put(sink, b"fresh")
    assert sink.hexdigest() == hashlib.sha256(b"fresh").hexdigest()
    sink.close()
    assert (tmp_path / "f").read_bytes() == b"fresh"


def test_progress_reports_bytes_written(tmp_path: Path) -> None:
    seen: list[int] = []
    sink = Sink(tmp_path / "f", seen.append, buffer_size=1000, buffers=2)
    sink.open()
    put(sink, b"x" * 2500)
    sink.drain()
    sink.close()
    assert seen == [1000, 2000, 2500]


def test_an_existing_file_is_never_opened_or_removed(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"keep me")
    with pytest.raises(SinkWriteError) as info:
        Sink(path).open()
    assert info.value.os_error.errno == errno.EEXIST
    assert path.read_bytes() == b"keep me"


def test_a_write_failure_surfaces_on_the_readers_side(tmp_path: Path) -> None:
    sink = Sink(tmp_path / "f", buffer_size=4096, buffers=2)
    sink.open()
    os.close(sink._fd)  # the file descriptor goes bad under the writer
    sink._fd = os.open(os.devnull, os.O_RDONLY)  # writes now fail with EBADF
    with pytest.raises(SinkWriteError) as info:
        put(sink, b"x" * 20000)
        sink.drain()
    assert info.value.os_error.errno == errno.EBADF
    sink.discard()
    assert not (tmp_path / "f").exists()
