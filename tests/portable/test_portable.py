"""The OS seams of ``sidecar.portable`` on this (Linux) machine, for real: the lock between two
opens, the pid probe, pread, the ownership checks, durable flushes and the SQLite pragmas.
The Windows and macOS branches are type-checked (``mypy --platform win32/darwin`` in
``make lint``); what can be shown here of them is shown (the macOS pragmas on a real SQLite)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sidecar.lifecycle import DataDirInUse, DataDirLock
from sidecar.portable import durable
from sidecar.portable.files import FD_FLAGS, is_owner_only, owned_by_me, pread
from sidecar.portable.lock import try_lock
from sidecar.portable.process import pid_alive


def test_lock_is_exclusive_between_two_opens_and_released_on_close(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    a = os.open(path, os.O_RDWR | os.O_CREAT | FD_FLAGS, 0o600)
    b = os.open(path, os.O_RDWR | FD_FLAGS)
    try:
        assert try_lock(a)
        assert not try_lock(b)
        os.close(a)
        a = -1
        assert try_lock(b)
    finally:
        for fd in (a, b):
            if fd >= 0:
                os.close(fd)


def test_data_dir_lock_names_the_holder(tmp_path: Path) -> None:
    first, second = DataDirLock(tmp_path), DataDirLock(tmp_path)
    first.acquire()
    try:
        try:
            second.acquire()
        except DataDirInUse as exc:
            assert f"pid {os.getpid()}" in str(exc)
        else:
            raise AssertionError("a second lock on the same data dir was granted")
    finally:
        first.release()
    second.acquire()
    second.release()


def test_pid_alive_for_us_and_not_for_a_reaped_child() -> None:
    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)
    assert not pid_alive(None)
    assert not pid_alive(0)


def test_pread_reads_at_an_offset_without_moving_the_file_position(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    fd = os.open(path, os.O_RDONLY | FD_FLAGS)
    try:
        assert pread(fd, 4, 3) == b"3456"
        assert os.read(fd, 2) == b"01"
    finally:
        os.close(fd)


def test_ownership_checks(tmp_path: Path) -> None:
    private, shared = tmp_path / "private", tmp_path / "shared"
    private.mkdir(mode=0o700)
    shared.mkdir()
    shared.chmod(0o755)
    assert owned_by_me(private.stat())
    assert is_owner_only(private.stat())
    assert not is_owner_only(shared.stat())


def test_durable_flushes_of_a_file_and_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | FD_FLAGS, 0o600)
    try:
        os.write(fd, b"kept")
        durable.fsync_file(fd)
    finally:
        os.close(fd)
    durable.fsync_dir(tmp_path)
    assert path.read_bytes() == b"kept"


def test_sqlite_pragmas_per_platform(tmp_path: Path) -> None:
    assert durable.sqlite_pragmas("linux") == ()
    assert durable.sqlite_pragmas("win32") == ()
    mac = durable.sqlite_pragmas("darwin")
    assert mac == ("PRAGMA fullfsync = ON", "PRAGMA checkpoint_fullfsync = ON")
    con = sqlite3.connect(tmp_path / "db.sqlite")
    try:
        for pragma in mac:
            con.execute(pragma)
        assert con.execute("PRAGMA fullfsync").fetchone()[0] == 1
        assert con.execute("PRAGMA checkpoint_fullfsync").fetchone()[0] == 1
    finally:
        con.close()
