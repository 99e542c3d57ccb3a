"""watch: live events from a real sidecar, as JSON lines or pretty, with filters, --count,
--timeout and Ctrl-C. Watch runs as a subprocess; the test acts once it says "watching"."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from protocol.vocabulary import FaultErrno, FaultOp
from sidecar.client import SyncClient
from tests.cli.conftest import CliFn, add_bytes
from tests.support import ROOT, SidecarProcess

WAIT = 30.0
# ``python -m sidecar`` with Ctrl-C restored: a child of a background job inherits SIGINT
# ignored, and Python then never installs its KeyboardInterrupt handler.
WITH_CTRL_C = ("import runpy, signal, sys; signal.signal(signal.SIGINT, "
               "signal.default_int_handler); sys.argv[0] = 'media-sidecar'; "
               "runpy.run_module('sidecar', run_name='__main__', alter_sys=True)")


@contextmanager
def watching(sidecar: SidecarProcess, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``media-sidecar watch`` running, subscribed (its "watching" line was read)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WITH_CTRL_C, "watch", "--connection-file",
         str(sidecar.connection_file), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("watching"), first + proc.stderr.read()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=WAIT)


def test_watch_json_prints_one_event_object_per_line(sidecar: SidecarProcess,
                                                     client: SyncClient) -> None:
    with watching(sidecar, "--json", "--count", "2") as proc:
        item = add_bytes(client, "p1", "fox.mp4", b"fox")
        out, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == ["itemAdded", "itemSaved"]
    assert all(e["type"] == "event" for e in events)
    assert [e["seq"] for e in events] == [1, 2]
    assert events[1]["data"]["item"]["id"] == item["id"]


def test_watch_filters_by_event_and_project(sidecar: SidecarProcess,
                                            client: SyncClient) -> None:
    with watching(sidecar, "--json", "--count", "1", "--event", "itemRemoved",
                  "--project", "p2") as proc:
        a = add_bytes(client, "p1", "a.mp4", b"a")
        b = add_bytes(client, "p2", "b.mp4", b"b")
        client.call("removeMediaItem", {"id": a["id"]})
        client.call("removeMediaItem", {"id": b["id"]})
        out, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err
    [ev] = [json.loads(line) for line in out.splitlines()]
    assert ev["event"] == "itemRemoved"
    assert ev["data"] == {"id": b["id"], "projectId": "p2", "counts": {
        "saved": 0, "unsaved": 0, "urlOnly": 0, "expired": 0, "lost": 0, "total": 0}}


def test_watch_pretty_shows_badges_and_the_toast(sidecar: SidecarProcess,
                                                 client: SyncClient) -> None:
    with watching(sidecar, "--count", "2", "--toast", "--event", "itemAdded",
                  "--event", "itemUnsaved") as proc:
        client.call("testFault", {"op": FaultOp.BLOB_WRITE, "errno": FaultErrno.ENOSPC})
        add_bytes(client, "p1", "edit.mp4", b"edit")
        out, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err
    assert "itemAdded" in out and "itemUnsaved" in out
    assert "! unsaved" in out and "edit.mp4" in out and "ENOSPC" in out
    assert "[Retry]" in out


def test_watch_stops_after_its_timeout(sidecar: SidecarProcess) -> None:
    with watching(sidecar, "--json", "--timeout", "0.5") as proc:
        out, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err
    assert out == ""


def test_watch_stops_on_ctrl_c_with_exit_0(sidecar: SidecarProcess,
                                           client: SyncClient) -> None:
    with watching(sidecar, "--json") as proc:
        add_bytes(client, "p1", "a.mp4", b"a")
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline())["event"] == "itemAdded"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == 0, err


def test_watch_refuses_an_unknown_event_name(cli: CliFn, at: list[str]) -> None:
    r = cli("watch", *at, "--event", "itemVanished", "--timeout", "0.1")
    assert r.code == 2
    assert "unknown event itemVanished" in r.err
