"""Every SQLite result code the store can meet is classified like the seeds' split.

The errors are real ones, produced by a real SQLite (a page limit for SQLITE_FULL, a
read-only connection, a file in a missing directory, a held write lock, a table dropped
under a live cursor, a corrupted file). SQLITE_IOERR and SQLITE_PERM cannot be produced on
demand without a failing disk, so those two carry the exact extended code SQLite uses.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from protocol.vocabulary import ErrorType
from sidecar.store.classify import classify


def _db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    conn.execute("CREATE TABLE IF NOT EXISTS t (x BLOB)")
    return conn


def full(tmp: Path) -> sqlite3.Error:
    conn = _db(tmp / "full.db")
    conn.execute("PRAGMA max_page_count = 8")
    try:
        for _ in range(100):
            conn.execute("INSERT INTO t VALUES (zeroblob(4096))")
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("the page limit did not fill the database")


def readonly(tmp: Path) -> sqlite3.Error:
    _db(tmp / "ro.db").close()
    conn = sqlite3.connect(f"file:{tmp / 'ro.db'}?mode=ro", uri=True, isolation_level=None)
    try:
        conn.execute("INSERT INTO t VALUES (1)")
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("a read-only connection wrote")


def cantopen(tmp: Path) -> sqlite3.Error:
    try:
        sqlite3.connect(tmp / "missing" / "dir" / "x.db").execute("SELECT 1")
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("opened a database in a missing directory")


def busy(tmp: Path) -> sqlite3.Error:
    a, b = _db(tmp / "busy.db"), _db(tmp / "busy.db")
    a.execute("BEGIN IMMEDIATE")
    try:
        b.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        return exc
    finally:
        a.execute("ROLLBACK")
    raise AssertionError("two writers at once")


def locked(tmp: Path) -> sqlite3.Error:
    conn = _db(tmp / "locked.db")
    conn.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(3)])
    cur = conn.execute("SELECT x FROM t")
    cur.fetchone()  # a statement still reading the table
    try:
        conn.execute("DROP TABLE t")
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("dropped a table under a live cursor")


def corrupt(tmp: Path) -> sqlite3.Error:
    path = tmp / "corrupt.db"
    conn = _db(path)
    conn.executemany("INSERT INTO t VALUES (?)", [(b"x" * 3000,) for _ in range(50)])
    conn.close()
    raw = bytearray(path.read_bytes())
    raw[4096:4096 * 4] = b"\xff" * (4096 * 3)  # trash the b-tree pages after the header
    path.write_bytes(bytes(raw))
    try:
        sqlite3.connect(path).execute("SELECT count(*), sum(length(x)) FROM t").fetchall()
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("read a trashed database")


def notadb(tmp: Path) -> sqlite3.Error:
    path = tmp / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    try:
        sqlite3.connect(path).execute("SELECT * FROM sqlite_master").fetchall()
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("read garbage as a database")


def _with_code(text: str, code: int) -> Callable[[Path], sqlite3.Error]:
    def make(_: Path) -> sqlite3.Error:
        exc = sqlite3.OperationalError(text)
        exc.sqlite_errorcode = code
        return exc
    return make


SQLITE_IOERR_FSYNC = 10 | (4 << 8)
SQLITE_PERM = 3

CASES: dict[str, tuple[Callable[[Path], sqlite3.Error], int, str, str]] = {
    # name: (make the error, primary code, errno name, errorType)
    "SQLITE_FULL": (full, 13, "ENOSPC", ErrorType.STORAGE_BLOCKED),
    "SQLITE_READONLY": (readonly, 8, "EROFS", ErrorType.STORAGE_BLOCKED),
    "SQLITE_CANTOPEN": (cantopen, 14, "EACCES", ErrorType.STORAGE_BLOCKED),
    "SQLITE_PERM": (_with_code("access permission denied", SQLITE_PERM), 3, "EPERM",
                    ErrorType.STORAGE_BLOCKED),
    "SQLITE_BUSY": (busy, 5, "EBUSY", ErrorType.STORAGE_TRANSIENT),
    "SQLITE_LOCKED": (locked, 6, "EBUSY", ErrorType.STORAGE_TRANSIENT),
    "SQLITE_IOERR": (_with_code("disk I/O error", SQLITE_IOERR_FSYNC), 10, "EIO",
                     ErrorType.STORAGE_IO_ERROR),
    "SQLITE_CORRUPT": (corrupt, 11, "EIO", ErrorType.STORAGE_IO_ERROR),
    "SQLITE_NOTADB": (notadb, 26, "EIO", ErrorType.STORAGE_IO_ERROR),
}


@pytest.mark.parametrize("name", list(CASES))
def test_sqlite_result_code_is_classified(name: str, tmp_path: Path) -> None:
    make, primary, errno_name, error_type = CASES[name]
    exc = make(tmp_path)
    assert getattr(exc, "sqlite_errorcode", -1) & 0xFF == primary, (name, exc)
    err = classify(exc, "save the item record")
    assert (err.errno_name, err.error_type) == (errno_name, error_type), (name, str(exc))
    assert err.blocked is (error_type == ErrorType.STORAGE_BLOCKED)
    assert errno_name in err.message


def test_an_sqlite_error_without_a_code_is_classified_by_its_text() -> None:
    full_text = classify(sqlite3.OperationalError("database or disk is full"), "commit")
    assert (full_text.errno_name, full_text.blocked) == ("ENOSPC", True)
    ro_text = classify(sqlite3.OperationalError("attempt to write a readonly database"), "x")
    assert (ro_text.errno_name, ro_text.blocked) == ("EROFS", True)
    other = classify(sqlite3.OperationalError("something else"), "x")
    assert (other.errno_name, other.error_type) == ("EIO", ErrorType.STORAGE_IO_ERROR)
