"""The byte sources' read loop (``sidecar.store.sources``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sidecar.store.sources import pread_chunks


def test_pread_chunks_reads_exactly_the_size_taken_at_open(tmp_path: Path) -> None:
    path = tmp_path / "grow"
    path.write_bytes(b"x" * 3000)
    fd = os.open(path, os.O_RDONLY)
    try:
        with path.open("ab") as f:
            f.write(b"y" * 5000)  # grows after the size was taken
        assert b"".join(pread_chunks(fd, 3000)) == b"x" * 3000
        os.truncate(path, 1000)  # shrinks: the import fails instead of guessing
        with pytest.raises(Exception, match="shrank"):
            b"".join(pread_chunks(fd, 3000))
    finally:
        os.close(fd)
