"""Fixtures of the CLI tests: run ``media-sidecar`` in-process (``sidecar.cli.main.main``)
with its output captured, against a real sidecar process."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from protocol.vocabulary import MediaType
from sidecar.cli.main import main
from sidecar.client import SyncClient
from sidecar.tools.demo.falserver import FakeFal
from tests.support import SidecarProcess, spawn_sidecar


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


CliFn = Callable[..., Run]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> CliFn:
    """``cli("list", "-p", "p1", stdin=b"...")`` → Run(code, out, err)."""

    def run(*argv: str, stdin: bytes | None = None) -> Run:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def fal(tmp_path: Path) -> Iterator[FakeFal]:
    """A FAL-like HTTPS host on loopback (the demo's), reachable as *.fal.media."""
    host = FakeFal(pause=0.0)
    host.start(tmp_path)
    yield host
    host.close()


@pytest.fixture
def sidecar(tmp_path: Path, fal: FakeFal) -> Iterator[SidecarProcess]:
    """A real sidecar (test hooks on, tmp_path an import root) that downloads from ``fal``.
    The background retrier is off so that an unsaved item stays unsaved until a test
    retries it."""
    proc = spawn_sidecar(tmp_path, "--enable-test-hooks", "--import-root", str(tmp_path),
                         env={**fal.sidecar_env(), "MEDIA_SIDECAR_AUTO_RETRY": "0",
                              "MEDIA_SIDECAR_SPILL_DIR": str(tmp_path / "spill"),
                              "MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS": "2",
                              "MEDIA_SIDECAR_DOWNLOAD_BACKOFF_BASE": "0.05"})
    yield proc
    stop(proc)


def stop(proc: SidecarProcess) -> None:
    proc.stop()
    if proc.proc.stdout is not None:
        proc.proc.stdout.close()


def attach(proc: SidecarProcess) -> list[str]:
    """The options that select ``proc`` by its connection file."""
    return ["--connection-file", str(proc.connection_file)]


@pytest.fixture
def at(sidecar: SidecarProcess) -> list[str]:
    return attach(sidecar)


@pytest.fixture
def client(sidecar: SidecarProcess) -> Iterator[SyncClient]:
    """A second connection to the same sidecar, for setting the scene."""
    with SyncClient(sidecar.connection_file, timeout=20) as c:
        yield c


def add_bytes(c: SyncClient, project: str, name: str, data: bytes, **extra: Any
              ) -> dict[str, Any]:
    params = {"projectId": project, "name": name, "type": MediaType.VIDEO, **extra}
    item: dict[str, Any] = c.call("addMediaItem", params, [data])["item"]
    return item


def video_file(tmp: Path, name: str = "clip.mp4", data: bytes = b"\0\0\0\x18ftypmp42") -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path
