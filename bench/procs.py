"""Child processes of the benches: the sidecar (or the session-only server), echo servers.

Every child is started by us, read through its ready line, and stopped by its own pid.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sidecar.portable.process import stop_child

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def serve_works() -> bool:
    """Whether ``python -m sidecar serve`` can start (the media service and fetcher exist)."""
    return (ROOT / "sidecar/service/media.py").exists() and (
        ROOT / "sidecar/fetch/downloader.py").exists()


@dataclass
class Child:
    proc: subprocess.Popen[str]
    ready: dict[str, object]
    secret: bytes
    workdir: Path
    kind: str

    @property
    def endpoint(self) -> str:
        return str(self.ready["endpoint"])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        stop_child(self.proc)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_ready(proc: subprocess.Popen[str], timeout: float, log: Path | None) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline and not line:
        line = proc.stdout.readline()
        if proc.poll() is not None:
            break
    if not line:
        proc.kill()
        err = log.read_text() if log and log.exists() else ""
        raise RuntimeError(f"child did not become ready: {err[-2000:]}")
    return line


def start_sidecar(workdir: Path | None = None, *args: str, session_only: bool = False,
                  env: dict[str, str] | None = None, timeout: float = 30.0,
                  data_dir: Path | None = None) -> Child:
    """The real ``python -m sidecar serve`` (or the session-only server when serve cannot
    start yet, or when asked), on ipc in a private runtime dir under ``workdir``."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="bench-sidecar-"))
    workdir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    full_env = {**os.environ, "MEDIA_SIDECAR_SECRET": secret, **(env or {})}
    log = workdir / f"sidecar-{secrets.token_hex(3)}.log"
    if session_only or not serve_works():
        kind = "session-server"
        run = workdir / "run"
        run.mkdir(mode=0o700, exist_ok=True)
        cmd = [PY, str(ROOT / "bench/session_server.py"), f"ipc://{run}/s.sock",
               str(run / "conn.json")]
    else:
        kind = "sidecar"
        cmd = [PY, "-m", "sidecar", "serve", "--data-dir", str(data_dir or workdir / "data"),
               "--runtime-dir", str(workdir / "run"), "--log-level", "warning", *args]
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err, text=True, env=full_env, cwd=ROOT)
    ready = json.loads(_read_ready(proc, timeout, log))
    return Child(proc, ready, secret.encode(), workdir, kind)


def start_echo(mode: str, endpoint: str, sizes: list[int]) -> Child:
    proc = subprocess.Popen([PY, str(ROOT / "bench/echo_server.py"), mode, endpoint,
                             *map(str, sizes)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = _read_ready(proc, 20, None).split()
    return Child(proc, {"endpoint": line[1]}, b"", Path(tempfile.gettempdir()), f"echo-{mode}")
