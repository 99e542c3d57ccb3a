"""BlobStore.copy_hashing: the kernel copy (copy_file_range, sendfile, our own loop) of exactly
the size taken at open, hashed from the temp file, with nothing left behind on failure."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.store.blobs import COPY_STEP, BlobStore, SourceReadError
from sidecar.store.classify import StorageError
from sidecar.store.osio import OsIO

SIZE = 2 * COPY_STEP + 12345  # three steps, the last one short
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="kernel copies are Linux's")


class SpyIO(OsIO):
    """The real seam, remembering which method each copy call used; ``after_first`` runs
    once, after the first step's call (to cancel or arm a fault mid-copy)."""

    def __init__(self) -> None:
        super().__init__()
        self.methods: list[str] = []
        self.copied = 0
        self.after_first: list[object] = []

    def copy_range(self, method: str, src: int, dst: int, offset: int, count: int,
                   *, op: str = "blobWrite") -> int:
        self.methods.append(method)
        n = super().copy_range(method, src, dst, offset, count, op=op)
        self.copied += n
        while self.after_first:
            action = self.after_first.pop()
            assert callable(action)
            action()
        return n


@pytest.fixture
def io() -> SpyIO:
    return SpyIO()


@pytest.fixture
def blobs(tmp_path: Path, io: SpyIO) -> BlobStore:
    b = BlobStore(tmp_path / "data", io)
    (tmp_path / "data").mkdir()
    b.ensure_layout()
    return b


def _source(path: Path, size: int = SIZE) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


@pytest.fixture
def src(tmp_path: Path) -> Iterator[tuple[int, bytes, Path]]:
    path = tmp_path / "source.bin"
    data = _source(path)
    fd = os.open(path, os.O_RDONLY)
    yield fd, data, path
    os.close(fd)


def _temps(blobs: BlobStore) -> list[str]:
    return os.listdir(blobs.tmp_dir)


def _check_copy(blobs: BlobStore, fd: int, data: bytes) -> None:
    tmp, sha, size = blobs.copy_hashing(fd, len(data))
    assert size == len(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert tmp.read_bytes() == data
    assert os.stat(tmp).st_mode & 0o777 == 0o600
    assert _temps(blobs) == [tmp.name]


@linux_only
def test_copy_file_range_copies_and_hashes(blobs: BlobStore, io: SpyIO,
                                           src: tuple[int, bytes, Path]) -> None:
    fd, data, _ = src
    _check_copy(blobs, fd, data)
    assert set(io.methods) == {"copy_file_range"}
    assert len(io.methods) >= 3  # one call (at least) per step


@pytest.mark.parametrize("methods", [("sendfile", "pread"), ("pread",)])
def test_forced_fallbacks_copy_the_same_bytes(blobs: BlobStore, io: SpyIO,
                                              src: tuple[int, bytes, Path],
                                              methods: tuple[str, ...]) -> None:
    if sys.platform != "linux" and methods[0] != "pread":
        pytest.skip("sendfile to a file is Linux's")
    blobs.copy_methods = methods
    fd, data, _ = src
    _check_copy(blobs, fd, data)
    assert set(io.methods) == {methods[0]}


@linux_only
def test_refused_kernel_copy_falls_back(blobs: BlobStore, io: SpyIO) -> None:
    # A source on tmpfs, the data dir on another filesystem: copy_file_range answers EXDEV.
    shm = Path("/dev/shm")
    assert shm.is_dir()
    assert os.stat(shm).st_dev != os.stat(blobs.tmp_dir).st_dev
    path = shm / f"sidecar-copy-test-{os.getpid()}.bin"
    data = _source(path, COPY_STEP + 7)
    fd = os.open(path, os.O_RDONLY)
    try:
        _check_copy(blobs, fd, data)
    finally:
        os.close(fd)
        path.unlink()
    assert io.methods[0] == "copy_file_range"
    assert "copy_file_range" not in io.methods[1:]
    assert io.methods[1] == "sendfile"


def test_a_file_that_grew_is_imported_as_it_was_at_open(blobs: BlobStore,
                                                        src: tuple[int, bytes, Path]) -> None:
    fd, data, path = src
    size = len(data)
    with path.open("ab") as f:
        f.write(os.urandom(COPY_STEP))
    tmp, sha, n = blobs.copy_hashing(fd, size)
    assert (n, sha) == (size, hashlib.sha256(data).hexdigest())
    assert tmp.read_bytes() == data


def test_a_file_that_shrank_fails_and_leaves_nothing(blobs: BlobStore,
                                                     src: tuple[int, bytes, Path]) -> None:
    fd, data, path = src
    os.truncate(path, COPY_STEP + 10)
    with pytest.raises(SourceReadError, match="shrank"):
        blobs.copy_hashing(fd, len(data))
    assert _temps(blobs) == []


def test_cancel_mid_copy_stops_and_leaves_nothing(blobs: BlobStore, io: SpyIO,
                                                  src: tuple[int, bytes, Path]) -> None:
    fd, data, _ = src
    cancel = threading.Event()
    io.after_first.append(cancel.set)
    with pytest.raises(SourceReadError, match="cancelled"):
        blobs.copy_hashing(fd, len(data), cancel)
    assert _temps(blobs) == []
    assert io.copied == COPY_STEP  # stopped at the end of the first step


@pytest.mark.parametrize(("errno_name", "blocked"), [("ENOSPC", True), ("EIO", False)])
def test_fault_mid_copy_is_a_storage_error_and_leaves_nothing(
        blobs: BlobStore, io: SpyIO, src: tuple[int, bytes, Path], errno_name: str,
        blocked: bool) -> None:
    fd, data, _ = src
    io.after_first.append(lambda: io.faults.arm("blobWrite", errno_name))
    with pytest.raises(StorageError) as info:
        blobs.copy_hashing(fd, len(data))
    assert info.value.errno_name == errno_name
    assert info.value.blocked is blocked
    assert _temps(blobs) == []
    assert io.faults.active() == {}
    # the next attempt copies the whole file
    _check_copy(blobs, fd, data)


def test_injected_refusal_is_not_a_fallback(blobs: BlobStore, io: SpyIO,
                                            src: tuple[int, bytes, Path]) -> None:
    fd, data, _ = src
    io.faults.arm("blobWrite", "EXDEV")
    with pytest.raises(StorageError):
        blobs.copy_hashing(fd, len(data))
    assert _temps(blobs) == []
