"""Files the sidecar creates: never through a planted symlink, never in a dir another user can
write or read, owner-only modes for everything, and only its own file removed at exit.

Each attack plants something before a real sidecar starts (a symlinked connection file,
``.lock``, ``blobs``, ``tmp`` or any other entry in the data dir, a data dir of another user,
a 0755 data dir with a 0644 database) and checks what a user sees: the start is refused
with a clear message (exit 3) and the symlink's target is untouched, or the modes are
tightened. The last test writes through every path (import, inline, download, spill, journal)
and checks every file and directory the sidecar owns is 0600/0700.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from protocol.vocabulary import FaultErrno, FaultOp, MediaType
from tests.adversarial.conftest import Figures
from tests.adversarial.fs_support import (
    code_of,
    dealer,
    fetch_env,
    https_hosts,
    no_traceback,
    running,
    tree_modes,
)
from tests.fetch.server import serve
from tests.support import ROOT, is_root, require, spawn_sidecar

VICTIM = b"VICTIM: must stay as it is\n"


def start_refused(tmp: Path, *args: str, data_dir: Path | None = None) -> tuple[int, str]:
    """Run ``serve`` expecting it to refuse to start: (exit code, stderr)."""
    run_dir = tmp / f"run-{secrets.token_hex(3)}"
    env = {**os.environ, "MEDIA_SIDECAR_SECRET": secrets.token_hex(32)}
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(data_dir or tmp / "data"),
         "--runtime-dir", str(run_dir), *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=15, check=False)
    return done.returncode, done.stderr


def victim(tmp: Path) -> Path:
    path = tmp / "victim.txt"
    path.write_bytes(VICTIM)
    return path


def test_a_symlinked_connection_file_is_refused_and_its_target_untouched(
        tmp_path: Path) -> None:
    target = victim(tmp_path)
    conn_dir = tmp_path / "conn"
    conn_dir.mkdir(mode=0o700)
    (conn_dir / "c.json").symlink_to(target)
    code, err = start_refused(tmp_path, "--connection-file", str(conn_dir / "c.json"))
    assert code == 3 and "symlink" in err
    assert target.read_bytes() == VICTIM and (conn_dir / "c.json").is_symlink()
    assert "Traceback" not in err


def test_a_connection_file_in_a_dir_others_can_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    code, err = start_refused(tmp_path, "--connection-file", str(shared / "c.json"))
    assert code == 3 and "writable by others" in err
    assert not (shared / "c.json").exists()


def test_only_the_connection_file_it_wrote_is_removed_at_exit(tmp_path: Path) -> None:
    conn_dir = tmp_path / "conn"
    conn_dir.mkdir(mode=0o700)
    conn = conn_dir / "c.json"
    sc = spawn_sidecar(tmp_path, "--connection-file", str(conn))
    assert (conn.stat().st_mode & 0o777) == 0o600
    replacement = conn_dir / "other"
    replacement.write_bytes(VICTIM)
    os.replace(replacement, conn)  # someone else's file now has that name
    assert sc.stop() == 0
    assert conn.read_bytes() == VICTIM
    sc2 = spawn_sidecar(tmp_path, "--connection-file", str(conn))  # the control
    assert sc2.stop() == 0
    assert not conn.exists()


@pytest.mark.parametrize("entry", [".lock", "blobs", "tmp", "media.sqlite3",
                                   "media.sqlite3-wal", "anything"])
def test_a_planted_symlink_in_the_data_dir_is_refused(entry: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    target_dir = tmp_path / "elsewhere"
    target_dir.mkdir()
    target = victim(tmp_path)
    (data / entry).symlink_to(target_dir if entry in ("blobs", "tmp", "anything")
                              else target)
    code, err = start_refused(tmp_path, data_dir=data)
    assert code == 3 and "symlink" in err and entry in err
    assert target.read_bytes() == VICTIM
    assert list(target_dir.iterdir()) == []
    assert "Traceback" not in err


def test_a_data_dir_of_another_user_is_refused(tmp_path: Path) -> None:
    require(is_root(), "root (chown to another user)")
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    os.chown(data, 65534, 65534)
    code, err = start_refused(tmp_path, data_dir=data)
    assert code == 3 and "belongs to uid 65534" in err
    assert list(data.iterdir()) == []


def test_a_data_dir_open_to_others_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    running_once = spawn_sidecar(tmp_path, data_dir=data)
    assert running_once.stop() == 0
    data.chmod(0o755)
    (data / "media.sqlite3").chmod(0o644)
    (data / "blobs").chmod(0o755)
    sc = spawn_sidecar(tmp_path, data_dir=data)
    try:
        modes = {p: oct(Path(p).stat().st_mode & 0o777) for p in
                 (data, data / "media.sqlite3", data / "blobs")}
    finally:
        sc.stop()
    assert set(modes.values()) == {"0o700", "0o600"} and modes[data] == "0o700"
    assert modes[data / "media.sqlite3"] == "0o600" and modes[data / "blobs"] == "0o700"
    assert "tightened to 0700" in sc.stderr()


async def test_everything_the_sidecar_writes_is_owner_only(tmp_path: Path,
                                                           figures: Figures) -> None:
    imports, spill = tmp_path / "imports", tmp_path / "spill"
    imports.mkdir()
    (imports / "a.mp4").write_bytes(os.urandom(50_000))
    body = b"\x00\x00\x00\x18ftypmp42" + os.urandom(70_000)
    with https_hosts(tmp_path) as (server, ca):
        server.route("/d.mp4", serve(body))
        env = fetch_env(server, ca, MEDIA_SIDECAR_SPILL_DIR=str(spill),
                        MEDIA_SIDECAR_HOLD_MEMORY_BUDGET="0", MEDIA_SIDECAR_AUTO_RETRY="0")
        with running(tmp_path, "--enable-test-hooks", "--import-root", str(imports),
                     env=env) as sc:
            async with dealer(sc) as d:
                outcomes = [code_of(await d.call("addMediaItem", {
                    "projectId": "p", "name": "i", "type": MediaType.VIDEO,
                    "sourcePath": str(imports / "a.mp4")}))]
                outcomes.append(code_of(await d.call("addMediaItem", {
                    "projectId": "p", "name": "d", "type": MediaType.VIDEO,
                    "sourceUrl": "https://fal.media/d.mp4", "download": True}, timeout=20)))
                # a blob write that fails: the bytes are spilled (memory budget 0)
                await d.call("testFault", {"op": FaultOp.BLOB_WRITE,
                                           "errno": FaultErrno.ENOSPC, "count": 1})
                held = await d.call("addMediaItem", {"projectId": "p", "name": "s",
                                                     "type": MediaType.VIDEO},
                                    payloads=[os.urandom(30_000)])
                outcomes.append(held["result"]["item"]["status"])
                # a commit that fails: the record goes to the journal
                await d.call("testFault", {"op": FaultOp.DB_COMMIT, "errno": FaultErrno.EIO,
                                           "count": 1})
                outcomes.append(code_of(await d.call("addMediaItem", {
                    "projectId": "p", "name": "j", "type": MediaType.VIDEO,
                    "sourceUrl": "https://fal.media/j.mp4"})))
                with open(f"/proc/{sc.pid}/status") as f:
                    umask = next(line.split()[1] for line in f if line.startswith("Umask:"))
                modes = tree_modes(sc.data_dir, spill, sc.connection_file.parent)
            assert no_traceback(sc)
    loose = {p: m for p, m in modes.items() if int(m, 8) & 0o077}
    kinds = sorted({Path(p).name.split("-")[0] if "sqlite" in p else Path(p).suffix
                    for p in modes})
    figures["files and dirs checked"] = len(modes)
    figures["open to group/others"] = len(loose)
    figures["process umask"] = umask
    assert outcomes == ["ok", "ok", "unsaved", "ok"]
    assert any(p.endswith("media.sqlite3-wal") for p in modes)
    assert any(p.endswith("journal.jsonl") for p in modes), kinds
    assert any("spill" in p and Path(p).is_file() and not p.endswith(".jsonl")
               for p in modes), sorted(modes)
    assert umask == "0077"
    assert loose == {}
