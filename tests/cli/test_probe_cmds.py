"""ping, hello, status and the raw ``call`` against a real sidecar."""

from __future__ import annotations

import json
from pathlib import Path

from protocol.vocabulary import FaultErrno, FaultOp, ItemStatus, MediaType
from sidecar.client import SyncClient
from tests.cli.conftest import CliFn, add_bytes
from tests.support import SidecarProcess


def test_ping_answers_pong(cli: CliFn, at: list[str]) -> None:
    r = cli("ping", *at)
    assert r.code == 0, r.err
    assert r.out.startswith("pong from pid")
    raw = cli("ping", *at, "--json").json()
    assert raw["pong"] is True and raw["uptimeMs"] >= 0


def test_hello_shows_version_methods_limits_and_features(
        cli: CliFn, at: list[str], sidecar: SidecarProcess) -> None:
    r = cli("hello", *at)
    assert r.code == 0, r.err
    for text in ("protocol", "1.0.0", "addMediaItem", "downloadProgress", "maxFrameBytes",
                 "testHooks=on"):
        assert text in r.out
    raw = cli("hello", *at, "--json").json()
    assert raw["protocol"].startswith("1.")
    assert "listMediaItems" in raw["methods"] and "itemUnsaved" in raw["events"]
    assert raw["dataDir"] == str(sidecar.data_dir.resolve())


def test_status_shows_storage_and_counts(cli: CliFn, at: list[str],
                                         client: SyncClient) -> None:
    add_bytes(client, "p1", "a.mp4", b"a" * 100)
    client.call("testFault", {"op": FaultOp.BLOB_WRITE, "errno": FaultErrno.ENOSPC})
    add_bytes(client, "p1", "b.mp4", b"b" * 100)
    raw = cli("status", *at, "--json").json()
    assert raw["counts"]["saved"] == 1 and raw["counts"]["unsaved"] == 1
    assert raw["heldItems"] == 1
    assert raw["lastError"]["errno"] == "ENOSPC"
    r = cli("status", *at)
    assert r.code == 0, r.err
    assert "data dir" in r.out and "free of" in r.out
    assert "unsaved 1" in r.out and "ENOSPC" in r.out


def test_call_prints_the_raw_result(cli: CliFn, at: list[str]) -> None:
    r = cli("call", "subscribe", '{"events": ["itemAdded"]}', *at)
    assert r.code == 0, r.err
    assert r.json() == {"events": ["itemAdded"], "projectId": None, "seq": 0}


def test_call_prints_the_raw_error_and_exits_nonzero(cli: CliFn, at: list[str]) -> None:
    r = cli("call", "getMediaItem", '{"id": "nope"}', *at)
    assert r.code == 1
    assert r.json()["code"] == "not_found"
    assert "error: not_found:" in r.err
    r = cli("call", "listMediaItems", '{"projectId": "p1", "bogus": 1}', *at)
    assert r.code == 1
    assert r.json()["code"] == "invalid_params"
    assert "params.bogus" in r.err


def test_call_envelope_shows_the_whole_reply(cli: CliFn, at: list[str]) -> None:
    env = cli("call", "ping", *at, "--envelope").json()
    assert env["type"] == "reply" and env["result"]["pong"] is True
    assert isinstance(env["id"], str) and isinstance(env["ts"], int)


def test_call_without_hello_gets_not_ready(cli: CliFn, at: list[str]) -> None:
    r = cli("call", "ping", *at, "--no-hello")
    assert r.code == 1
    assert r.json()["code"] == "not_ready"


def test_call_attaches_payload_files_as_binary_frames(cli: CliFn, at: list[str],
                                                      tmp_path: Path,
                                                      client: SyncClient) -> None:
    (tmp_path / "part1").write_bytes(b"hello ")
    (tmp_path / "part2").write_bytes(b"world")
    params = json.dumps({"id": "v1", "projectId": "p1", "name": "v.mp4", "type": MediaType.VIDEO})
    r = cli("call", "addMediaItem", params, *at, "--payload", str(tmp_path / "part1"),
            "--payload", str(tmp_path / "part2"))
    assert r.code == 0, r.err
    item = r.json()["item"]
    assert item["status"] == ItemStatus.SAVED and item["size"] == len(b"hello world")
    assert Path(item["localPath"]).read_bytes() == b"hello world"


def test_call_reads_params_from_stdin(cli: CliFn, at: list[str]) -> None:
    r = cli("call", "listMediaItems", "-", *at, stdin=b'{"projectId": "p1"}')
    assert r.code == 0, r.err
    assert r.json()["counts"]["total"] == 0


def test_call_refuses_params_that_are_not_a_json_object(cli: CliFn, at: list[str]) -> None:
    r = cli("call", "ping", "[1, 2]", *at)
    assert r.code == 2
    assert "JSON object" in r.err
