"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import SidecarProcess, spawn_sidecar


@pytest.fixture
def sidecar(tmp_path: Path) -> Iterator[SidecarProcess]:
    """A real sidecar process on a temp data dir (tcp on loopback, test hooks on)."""
    proc = spawn_sidecar(tmp_path, "--enable-test-hooks", "--import-root", str(tmp_path))
    yield proc
    proc.stop()
