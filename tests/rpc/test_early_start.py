"""Start-up in two stages: the ready line and ``hello``/``ping`` come before the protocol
models, the store and the service load; what else arrives meanwhile is answered once they
have, as it would have been; a load that fails answers it with its typed error.

The whole sidecar (``sidecar.app.run``) runs in-process on real sockets and a real data
dir; the only seam is the heavy import, held at a gate, so "during the load" is a state the
test controls rather than a race it hopes to win.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sidecar import app
from sidecar.client import Client, RemoteError
from sidecar.errors import SidecarError
from sidecar.rpc import early
from sidecar.settings import Settings
from tests.support import ROOT

SECRET = b"early-start-secret-0123456789abc"
GATE_LIMIT_S = 20.0  # the gate never holds longer than this, whatever the test does


@dataclass
class Starting:
    settings: Settings
    endpoint: str
    task: asyncio.Task[int]
    open_gate: Callable[[], None]
    loaded: threading.Event

    async def client(self, *, hello: bool = True) -> Client:
        c = Client(self.endpoint, SECRET, timeout=20)
        c.open()
        if hello:
            await c.hello()
        return c


async def _bound(settings: Settings, task: asyncio.Task[int]) -> None:
    """Wait until the connection file exists (it is written just before the ready line)."""
    assert settings.connection_file is not None
    for _ in range(2000):
        if settings.connection_file.exists() or task.done():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the sidecar never wrote its connection file")


@contextlib.asynccontextmanager
async def starting(tmp: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path | None = None,
                   *, test_hooks: bool = False,
                   replay_window_ms: int = 30_000) -> AsyncIterator[Starting]:
    """``app.run`` with its heavy import held until ``open_gate()``."""
    gate = threading.Event()
    loaded = threading.Event()
    real_import = app._import_heavy

    def gated_import() -> None:
        gate.wait(GATE_LIMIT_S)
        real_import()
        loaded.set()

    monkeypatch.setattr(app, "_import_heavy", gated_import)
    run_dir = tmp / "run"
    endpoint = f"ipc://{run_dir}/s.sock"
    settings = Settings(data_dir=data_dir or tmp / "data", secret=SECRET, runtime_dir=run_dir,
                        endpoint=endpoint, connection_file=run_dir / "conn.json",
                        watch_parent=False, enable_test_hooks=test_hooks,
                        replay_window_ms=replay_window_ms)
    umask = os.umask(0o022)
    os.umask(umask)
    task = asyncio.create_task(app.run(settings))
    try:
        await _bound(settings, task)
        yield Starting(settings, endpoint, task, gate.set, loaded)
    finally:
        gate.set()
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(task, 10)
        os.umask(umask)  # app.run made the process owner-only
        gc.unfreeze()  # and froze the collector's view of everything alive


async def _still_waiting(task: asyncio.Task[dict[str, object]]) -> bool:
    """The request is not answered after the loop went round many times (it cannot be:
    what would answer it is not loaded)."""
    for _ in range(20):
        await asyncio.sleep(0.01)
    return not task.done()


@pytest.mark.parametrize("test_hooks", [False, True])
async def test_hello_and_ping_are_answered_before_the_store_loads_and_the_rest_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, test_hooks: bool) -> None:
    async with starting(tmp_path, monkeypatch, test_hooks=test_hooks) as s:
        early = await s.client(hello=False)
        hello = await early.hello()
        pong = await early.call("ping")
        assert pong["pong"] is True and set(pong) == {"pong", "time", "uptimeMs"}
        status = asyncio.create_task(early.call("storageStatus"))
        assert await _still_waiting(status)
        assert not s.loaded.is_set()

        s.open_gate()
        assert (await status)["dataDir"] == str(s.settings.data_dir)
        # A client saying hello now is answered by the loaded server: the same session,
        # method list, limits and features as the early answer.
        late = await s.client(hello=False)
        assert await late.hello() == hello
        assert "addMediaItem" in hello["methods"]
        assert ("testFault" in hello["methods"]) is test_hooks
        assert s.settings.connection_file is not None
        assert hello["session"] == json.loads(s.settings.connection_file.read_text())["session"]
        await late.close()
        await early.call("shutdown")
        await early.close()
        assert await asyncio.wait_for(s.task, 15) == 0
        assert not s.settings.connection_file.exists()


async def test_what_arrives_during_the_load_is_refused_or_served_as_it_would_be_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with starting(tmp_path, monkeypatch) as s:
        stranger = await s.client(hello=False)
        no_hello = await s.client(hello=False)
        newer_minor = await s.client(hello=False)
        wrong = stranger.framer.envelope("hello", {"protocol": "1.0.0"})
        wrong_frames = stranger.framer.seal(wrong, key=b"not-the-secret-at-all-000000000")
        calls = {
            # signed with a wrong secret (the reply is read with the server's, to see its code)
            "stranger": asyncio.create_task(stranger.call_frames(wrong["id"], wrong_frames)),
            "no hello": asyncio.create_task(no_hello.call("getMediaItem", {
                "projectId": "p", "itemId": "i"})),
            "newer minor": asyncio.create_task(newer_minor.hello(protocol="1.7.0")),
        }
        for task in calls.values():
            assert await _still_waiting(task)
        s.open_gate()
        with pytest.raises(RemoteError) as refused:
            await calls["stranger"]
        assert refused.value.code == "unauthorized"
        with pytest.raises(RemoteError) as not_ready:
            await calls["no hello"]
        assert not_ready.value.code == "not_ready"
        assert (await calls["newer minor"])["protocol"] == "1.0.0"
        listed = await newer_minor.call("listMediaItems", {"projectId": "p"})
        assert listed["items"] == []
        for c in (stranger, no_hello, newer_minor):
            await c.close()


async def test_a_request_held_past_the_replay_window_is_answered_and_its_replay_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A large library can take longer to open than the replay window: a request sent right
    # after the ready line waited for the sidecar, not for its sender, so its freshness is
    # judged when it arrived. The same frames sent again are still refused.
    async with starting(tmp_path, monkeypatch, replay_window_ms=300) as s:
        c = await s.client()
        envelope = c.framer.envelope("storageStatus", {})
        frames = c.framer.seal(envelope)
        status = asyncio.create_task(c.call_frames(envelope["id"], frames))
        await asyncio.sleep(1.0)  # held for three windows
        assert not status.done()
        s.open_gate()
        assert (await status)["dataDir"] == str(s.settings.data_dir)
        with pytest.raises(RemoteError) as again:
            await c.call_frames(envelope["id"], frames)
        assert again.value.code == "unauthorized"
        late = c.framer.envelope("storageStatus", {})  # and a fresh one is served
        assert (await c.call_frames(late["id"], c.framer.seal(late)))["dataDir"]
        await c.close()


async def test_at_its_bound_the_lobby_stops_reading_and_all_is_answered_once_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(early, "HELD_MESSAGES", 3)
    async with starting(tmp_path, monkeypatch) as s:
        c = await s.client()
        statuses = [asyncio.create_task(c.call("storageStatus")) for _ in range(5)]
        for task in statuses:
            assert await _still_waiting(task)
        # Not even a ping is read now: it waits in libzmq with the rest.
        ping = asyncio.create_task(c.call("ping"))
        assert await _still_waiting(ping)
        s.open_gate()
        assert [(await t)["dataDir"] for t in statuses] == [str(s.settings.data_dir)] * 5
        assert (await ping)["pong"] is True
        await c.close()


async def test_a_stop_during_the_load_drains_once_loaded_finishing_what_came_before_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with starting(tmp_path, monkeypatch) as s:
        c = await s.client()  # answered: the stop signals are handled from here on
        status = asyncio.create_task(c.call("storageStatus"))
        assert await _still_waiting(status)
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert not s.task.done()  # it waits for the load, then drains
        s.open_gate()
        assert (await status)["dataDir"] == str(s.settings.data_dir)
        assert await asyncio.wait_for(s.task, 15) == 0
        assert s.settings.connection_file is not None
        assert not s.settings.connection_file.exists()
        await c.close()


async def test_a_load_that_fails_answers_what_waits_with_its_typed_error_and_exits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    (data / "media.sqlite3").mkdir(parents=True, mode=0o700)  # the database cannot open
    async with starting(tmp_path, monkeypatch, data_dir=data) as s:
        c = await s.client()
        status = asyncio.create_task(c.call("storageStatus"))
        assert await _still_waiting(status)
        s.open_gate()
        with pytest.raises(RemoteError) as failed:
            await status
        assert failed.value.code == "storage_failed"
        assert failed.value.message.startswith("the sidecar could not start: ")
        with pytest.raises(SidecarError) as exited:  # the process exits as it always did
            await asyncio.wait_for(s.task, 15)
        assert exited.value.code.value == "storage_failed"
        assert s.settings.connection_file is not None
        assert not s.settings.connection_file.exists()
        await c.close()
    # The data dir's lock went with it: once the database can open, the next start serves.
    (data / "media.sqlite3").rmdir()
    async with starting(tmp_path / "again", monkeypatch, data_dir=data) as again:
        again.open_gate()
        c = await again.client()
        assert (await c.call("storageStatus"))["dataDir"] == str(data)
        await c.close()


def test_nothing_before_the_ready_line_imports_pydantic_or_the_protocol_models() -> None:
    """What ``serve`` imports up to its ready line: the CLI and the serve command, the
    settings (and their checks) and ``sidecar.app`` (whose heavy part loads later)."""
    code = (
        "import sys\n"
        "from sidecar.cli.main import SERVE_MODULE, build_parser\n"
        "from sidecar.cli import serve_cmd\n"
        "args = build_parser((SERVE_MODULE,)).parse_args(['serve', '--data-dir', sys.argv[1],"
        " '--allow-host', 'cdn.example.com', '--map-host', 'fal.media=1.2.3.4'])\n"
        "serve_cmd.build_settings(args, {'MEDIA_SIDECAR_SECRET': 'k' * 32})\n"
        "import sidecar.app\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'protocol', 'httpx', 'sqlite3')))\n")
    done = subprocess.run([sys.executable, "-c", code, str(Path("/nonexistent/data"))],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
