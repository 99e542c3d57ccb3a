"""Finding the sidecar: ps, and attach by connection file, by pid, or "the one running"."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.conftest import CliFn, stop
from tests.support import SidecarProcess, spawn_sidecar


def runtime_dir(proc: SidecarProcess) -> str:
    return str(proc.connection_file.parent)


def test_ps_lists_the_running_sidecar_with_pid_endpoint_and_data_dir(
        cli: CliFn, sidecar: SidecarProcess) -> None:
    r = cli("ps", "--runtime-dir", runtime_dir(sidecar))
    assert r.code == 0, r.err
    assert str(sidecar.pid) in r.out
    assert sidecar.endpoint in r.out
    assert "answers" in r.out

    r = cli("ps", "--runtime-dir", runtime_dir(sidecar), "--json")
    assert r.code == 0, r.err
    [row] = r.json()
    assert row["pid"] == sidecar.pid
    assert row["endpoint"] == sidecar.endpoint
    assert row["dataDir"] == str(sidecar.data_dir.resolve())
    assert row["alive"] is True and row["answers"] is True
    assert row["connectionFile"] == str(sidecar.connection_file)
    assert row["uptimeS"] >= 0


def test_ps_says_so_when_no_sidecar_runs(cli: CliFn, tmp_path: Path) -> None:
    r = cli("ps", "--runtime-dir", str(tmp_path))
    assert r.code == 0
    assert "no running sidecar" in r.out
    assert cli("ps", "--runtime-dir", str(tmp_path), "--json").json() == []


def test_attach_by_connection_file(cli: CliFn, sidecar: SidecarProcess) -> None:
    r = cli("ping", "--connection-file", str(sidecar.connection_file), "--json")
    assert r.code == 0, r.err
    assert r.json()["pong"] is True


def test_attach_by_pid_finds_that_pids_connection_file(
        cli: CliFn, sidecar: SidecarProcess) -> None:
    r = cli("ping", "--pid", str(sidecar.pid), "--runtime-dir", runtime_dir(sidecar))
    assert r.code == 0, r.err
    assert f"pong from pid {sidecar.pid}" in r.out


def test_attach_by_unknown_pid_is_an_error(cli: CliFn, sidecar: SidecarProcess) -> None:
    r = cli("ping", "--pid", "999999999", "--runtime-dir", runtime_dir(sidecar))
    assert r.code == 2
    assert "no connection file for pid 999999999" in r.err


def test_the_only_running_sidecar_is_chosen_without_options(
        cli: CliFn, sidecar: SidecarProcess) -> None:
    r = cli("hello", "--runtime-dir", runtime_dir(sidecar), "--json")
    assert r.code == 0, r.err
    assert r.json()["dataDir"] == str(sidecar.data_dir.resolve())


def test_two_running_sidecars_need_a_choice(cli: CliFn, tmp_path: Path) -> None:
    shared = tmp_path / "run"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = spawn_sidecar(tmp_path / "a", "--runtime-dir", str(shared))
    try:
        b = spawn_sidecar(tmp_path / "b", "--runtime-dir", str(shared))
        try:
            r = cli("ping", "--runtime-dir", str(shared))
            assert r.code == 2
            assert "2 sidecars are running" in r.err and "--pid" in r.err
            r = cli("ping", "--runtime-dir", str(shared), "--pid", str(b.pid), "--json")
            assert r.code == 0, r.err
            listed = cli("ps", "--runtime-dir", str(shared), "--json").json()
            assert sorted(row["pid"] for row in listed) == sorted([a.pid, b.pid])
        finally:
            stop(b)
    finally:
        stop(a)


def test_a_stale_connection_file_is_never_chosen(cli: CliFn, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    dead_pid = 2**22 + 12345  # above the default pid_max: no such process
    stale = run / f"sidecar-{dead_pid}.json"
    stale.write_text(json.dumps({"endpoint": "tcp://127.0.0.1:9", "secret": "x" * 32,
                                 "signatureScheme": "hmac-sha256", "pid": dead_pid,
                                 "protocol": "1.0.0", "server": "0.1.0", "session": "s",
                                 "dataDir": str(tmp_path / "data"), "startedAt": 1}))
    os.chmod(stale, 0o600)
    r = cli("ping", "--runtime-dir", str(run))
    assert r.code == 2
    assert "no running sidecar" in r.err
    assert cli("ps", "--runtime-dir", str(run), "--json").json() == []
    [row] = cli("ps", "--runtime-dir", str(run), "--all", "--json").json()
    assert row["pid"] == dead_pid and row["alive"] is False
    assert "gone" in cli("ps", "--runtime-dir", str(run), "--all").out


def test_a_missing_connection_file_is_an_error(cli: CliFn, tmp_path: Path) -> None:
    r = cli("ping", "--connection-file", str(tmp_path / "nope.json"))
    assert r.code == 2
    assert "no connection file" in r.err
