"""The sidecar as a process: ready line, connection file, stop paths, parent death, lock."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from protocol.vocabulary import ItemStatus, MediaType
from sidecar.client import Client, ConnectionInfo, RemoteError
from tests.support import ROOT, spawn_sidecar, wait_gone


def answers_ping(connection_file: str | Path) -> bool:
    """Connect by the connection file, say hello and ping: whether the sidecar answered."""
    async def ping() -> bool:
        async with await Client.connect(connection_file) as c:
            return bool((await c.call("ping"))["pong"])

    return asyncio.run(ping())


def test_ready_line_and_owner_only_connection_file_over_ipc(tmp_path: Path) -> None:
    sc = spawn_sidecar(tmp_path)
    try:
        assert set(sc.ready) >= {"event", "endpoint", "pid", "protocol", "connectionFile"}
        assert sc.endpoint.startswith("ipc://")
        cf = sc.connection_file
        assert stat.S_IMODE(cf.stat().st_mode) == 0o600
        assert stat.S_IMODE(cf.parent.stat().st_mode) == 0o700
        info = json.loads(cf.read_text())
        assert info["endpoint"] == sc.endpoint and info["pid"] == sc.pid
        assert info["secret"] == sc.secret
        assert info["protocol"] == sc.ready["protocol"]
        sock = Path(sc.endpoint[len("ipc://"):])
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        cmdline = Path(f"/proc/{sc.pid}/cmdline").read_bytes()
        assert sc.secret.encode() not in cmdline
    finally:
        assert sc.stop() == 0
    assert not sc.connection_file.exists()
    assert sc.extra["stdout_rest"] == ""  # exactly one line on stdout, ever
    for line in sc.stderr().splitlines():
        json.loads(line)  # logs are structured JSON lines on stderr


def test_tcp_transport_binds_a_free_loopback_port(tmp_path: Path) -> None:
    sc = spawn_sidecar(tmp_path, "--transport", "tcp")
    try:
        assert sc.endpoint.startswith("tcp://127.0.0.1:")
        assert int(sc.endpoint.rsplit(":", 1)[1]) > 0
        assert answers_ping(sc.connection_file)
    finally:
        assert sc.stop() == 0


def test_shutdown_method_exits_zero_and_removes_connection_file(tmp_path: Path) -> None:
    sc = spawn_sidecar(tmp_path)

    async def talk() -> None:
        async with await Client.connect(sc.connection_file) as c:
            reply = await c.call("shutdown", {"drainTimeoutMs": 2000})
            assert reply["accepted"] is True

    asyncio.run(talk())
    assert sc.wait(10) == 0
    assert not sc.connection_file.exists()


def test_sigterm_lets_an_in_flight_add_finish(tmp_path: Path) -> None:
    sc = spawn_sidecar(tmp_path)
    payload = os.urandom(48 * 1024 * 1024)

    async def talk() -> dict[str, object]:
        async with await Client.connect(sc.connection_file) as c:
            call = asyncio.create_task(c.call("addMediaItem", {
                "projectId": "p1", "name": "big.mp4", "type": MediaType.VIDEO}, [payload]))
            await asyncio.sleep(0)  # let the add's frames be queued first
            # one connection keeps order: once this ping is answered, the add was received
            await c.call("ping")
            sc.proc.send_signal(signal.SIGTERM)
            return await call

    result = asyncio.run(talk())
    item = result["item"]
    assert isinstance(item, dict)
    assert item["status"] == ItemStatus.SAVED and result["durable"] is True
    assert sc.wait(15) == 0


def test_secret_from_stdin(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(tmp_path / "d"),
         "--runtime-dir", str(run_dir), "--secret-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=ROOT, env={k: v for k, v in os.environ.items() if k != "MEDIA_SIDECAR_SECRET"})
    assert proc.stdin is not None and proc.stdout is not None
    with proc:
        proc.stdin.write("stdin-secret-0123456789abcdef\n")
        proc.stdin.flush()
        ready = json.loads(proc.stdout.readline())
        try:
            info = ConnectionInfo.load(ready["connectionFile"])
            assert info.secret == b"stdin-secret-0123456789abcdef"
        finally:
            proc.terminate()
            assert proc.wait(10) == 0


def test_generated_secret_when_launcher_gives_none(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MEDIA_SIDECAR_SECRET"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(tmp_path / "d"),
         "--runtime-dir", str(tmp_path / "run")],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=ROOT, env=env)
    assert proc.stdout is not None
    with proc:
        ready = json.loads(proc.stdout.readline())
        try:
            secret = ConnectionInfo.load(ready["connectionFile"]).secret
            assert len(secret) == 64
            assert answers_ping(ready["connectionFile"])
        finally:
            proc.terminate()
            assert proc.wait(10) == 0


def test_second_sidecar_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    first = spawn_sidecar(tmp_path)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(first.data_dir),
             "--runtime-dir", str(tmp_path / "run2")],
            capture_output=True, text=True, timeout=30, cwd=ROOT, check=False,
            env={**os.environ, "MEDIA_SIDECAR_SECRET": "x" * 32})
        assert second.returncode == 3
        assert second.stdout == ""
        assert "in use by another media-sidecar" in second.stderr
        assert str(first.pid) in second.stderr
        assert answers_ping(first.connection_file)  # still serving
    finally:
        assert first.stop() == 0


PARENT = """
import os, subprocess, sys
p = subprocess.Popen([sys.executable, "-m", "sidecar", "serve", "--data-dir", sys.argv[1],
                      "--runtime-dir", sys.argv[2]], stdout=subprocess.PIPE, text=True)
sys.stdout.write(p.stdout.readline()); sys.stdout.flush()
os.read(0, 1)  # wait until killed
"""


def test_sidecar_exits_when_its_parent_dies(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "d"), str(tmp_path / "run")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "MEDIA_SIDECAR_SECRET": "y" * 32})
    assert parent.stdout is not None
    with parent:
        ready = json.loads(parent.stdout.readline())
        pid = int(ready["pid"])
        parent.kill()
        parent.wait()
    elapsed = wait_gone(pid, 10)
    print(f"sidecar gone {elapsed:.2f} s after its parent was killed")
    assert elapsed < 5.0  # generous: the design target is 2 s (see bench)


def test_sidecar_exits_when_the_watched_pid_dies(tmp_path: Path) -> None:
    watched = subprocess.Popen(["sleep", "60"])
    sc = spawn_sidecar(tmp_path, "--parent-pid", str(watched.pid))
    try:
        watched.kill()
        watched.wait()
        assert sc.wait(10) == 0
    finally:
        sc.kill()


def test_no_parent_watch_keeps_serving_standalone(tmp_path: Path) -> None:
    watched = subprocess.Popen(["sleep", "60"])
    sc = spawn_sidecar(tmp_path, "--parent-pid", str(watched.pid), "--no-parent-watch")
    try:
        watched.kill()
        watched.wait()
        with pytest.raises(subprocess.TimeoutExpired):
            sc.wait(1.0)
    finally:
        assert sc.stop() == 0


def test_sidecar_survives_a_client_that_sends_garbage(tmp_path: Path) -> None:
    sc = spawn_sidecar(tmp_path)
    try:
        async def talk() -> None:
            async with await Client.connect(sc.connection_file) as c:
                await c.send_frames([b"\x00" * 10, b"\xff\xfe", b"junk"])
                err = await c.unmatched(5)
                assert err["error"]["code"] == "unauthorized" or \
                    err["error"]["code"] == "invalid_request"
                with pytest.raises(RemoteError):
                    await c.call("noSuchMethod")
                assert (await c.call("ping"))["pong"]

        asyncio.run(talk())
    finally:
        assert sc.stop() == 0
