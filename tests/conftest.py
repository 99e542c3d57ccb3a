"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.media_files import make_all
from tests.support import SidecarProcess, spawn_sidecar


@pytest.fixture(scope="session")
def media_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Real media files made once per session with ffmpeg (tests/media_files.py), by name."""
    return make_all(tmp_path_factory.mktemp("media"))


@pytest.fixture
def sidecar(tmp_path: Path) -> Iterator[SidecarProcess]:
    """A real sidecar process on a temp data dir (tcp on loopback, test hooks on)."""
    proc = spawn_sidecar(tmp_path, "--enable-test-hooks", "--import-root", str(tmp_path))
    yield proc
    proc.stop()
