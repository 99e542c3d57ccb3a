"""The metadata database: one SQLite file in WAL mode, ``synchronous=FULL``.

One writer connection (serialized by a lock) and one reader connection (its own lock); WAL
lets reads run while a write commits. Every failure (sqlite3.Error, OSError, an injected
fault at the ``dbCommit`` seam) is raised as a classified StorageError; a failed write is
rolled back, never half-applied. Counts by status are kept by triggers, so a page's counts
cost one indexed read rather than a scan of the project.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from protocol.vocabulary import ItemStatus
from sidecar.portable import durable
from sidecar.portable.files import FD_FLAGS, NOFOLLOW, NONBLOCK, fchmod
from sidecar.store import search
from sidecar.store.classify import StorageError, classify
from sidecar.store.osio import OsIO
from sidecar.store.query import ListQuery
from sidecar.store.records import BLOB_HOLDERS, ItemRecord

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    mime_type TEXT,
    size INTEGER,
    sha256 TEXT,
    width INTEGER,
    height INTEGER,
    duration REAL,
    fps REAL,
    source_url TEXT,
    folder_ids TEXT NOT NULL DEFAULT '[]',
    storage_error TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    name_key TEXT NOT NULL,
    size_key INTEGER NOT NULL,
    search TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_created ON items (project_id, created_at, id);
CREATE INDEX IF NOT EXISTS items_updated ON items (project_id, updated_at, id);
CREATE INDEX IF NOT EXISTS items_name ON items (project_id, name_key, id);
CREATE INDEX IF NOT EXISTS items_size ON items (project_id, size_key, id);
CREATE INDEX IF NOT EXISTS items_sha ON items (sha256);
CREATE INDEX IF NOT EXISTS items_status ON items (status, project_id);
CREATE TABLE IF NOT EXISTS counts (
    project_id TEXT NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (project_id, status)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS items_ai AFTER INSERT ON items BEGIN
    INSERT INTO counts VALUES (new.project_id, new.status, 1)
        ON CONFLICT (project_id, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS items_ad AFTER DELETE ON items BEGIN
    UPDATE counts SET n = n - 1 WHERE project_id = old.project_id AND status = old.status;
END;
CREATE TRIGGER IF NOT EXISTS items_au AFTER UPDATE OF project_id, status ON items BEGIN
    UPDATE counts SET n = n - 1 WHERE project_id = old.project_id AND status = old.status;
    INSERT INTO counts VALUES (new.project_id, new.status, 1)
        ON CONFLICT (project_id, status) DO UPDATE SET n = n + 1;
END;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

COLUMNS = ("id, project_id, name, type, status, created_at, updated_at, rev, mime_type, size, "
           "sha256, width, height, duration, fps, source_url, folder_ids, storage_error, "
           "metadata")

_UPSERT = (
    f"INSERT INTO items ({COLUMNS}, name_key, size_key, search) "  # noqa: S608
    f"VALUES ({', '.join('?' * 22)}) "
    "ON CONFLICT (id) DO UPDATE SET project_id=excluded.project_id, name=excluded.name, "
    "type=excluded.type, status=excluded.status, created_at=excluded.created_at, "
    "updated_at=excluded.updated_at, rev=excluded.rev, mime_type=excluded.mime_type, "
    "size=excluded.size, sha256=excluded.sha256, width=excluded.width, "
    "height=excluded.height, duration=excluded.duration, fps=excluded.fps, "
    "source_url=excluded.source_url, folder_ids=excluded.folder_ids, "
    "storage_error=excluded.storage_error, metadata=excluded.metadata, "
    "name_key=excluded.name_key, size_key=excluded.size_key, search=excluded.search"
)


record_from_row = ItemRecord._make  # COLUMNS are the record's fields, in order


def _row_of(rec: ItemRecord) -> tuple[Any, ...]:
    return (*rec, rec.name_key, rec.size_key, rec.search)


def _owner_only(path: Path, *, create: bool) -> None:
    """The database file (created 0600 before SQLite opens it, so its WAL and SHM, which
    SQLite creates with the database's mode, are 0600 too) and its companions: never a
    symlink (ELOOP), never left open to others."""
    flags = os.O_RDWR | NOFOLLOW | FD_FLAGS | NONBLOCK
    try:
        fd = os.open(path, flags | (os.O_CREAT if create else 0), 0o600)
    except FileNotFoundError:
        return
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EACCES, f"{path} is not a regular file")
        if st.st_mode & 0o077:
            fchmod(fd, 0o600)
    finally:
        os.close(fd)


class MetadataDB:
    def __init__(self, path: Path, io: OsIO) -> None:
        self.path = path
        self.io = io
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        try:
            for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                _owner_only(name, create=name == path)
            self._w = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._w.execute("PRAGMA busy_timeout = 5000")
            mode = self._w.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot enable WAL (journal_mode={mode})")
            self._w.execute("PRAGMA synchronous = FULL")
            for pragma in durable.sqlite_pragmas():  # macOS: fullfsync
                self._w.execute(pragma)
            self._w.executescript(_SCHEMA)
            self._w.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.text_index = search.migrate(self._w)
            self._r = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._r.execute("PRAGMA busy_timeout = 5000")
            self._r.execute("PRAGMA query_only = 1")
        except (sqlite3.Error, OSError) as exc:
            raise classify(exc, "open the metadata database") from exc

    def close(self) -> None:
        with self._wlock, self._rlock:
            for conn in (self._r, self._w):
                with suppress(sqlite3.Error):
                    conn.close()

    # writes ---------------------------------------------------------------------------
    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._wlock:
            conn = self._w
            try:
                conn.execute("BEGIN IMMEDIATE")
            except (sqlite3.Error, OSError) as exc:
                raise classify(exc, what) from exc
            try:
                yield conn
                self.io.commit(conn, what)
            except (sqlite3.Error, OSError) as exc:
                _rollback(conn)
                raise classify(exc, what) from exc
            except BaseException:
                _rollback(conn)
                raise

    def upsert(self, *records: ItemRecord) -> None:
        with self._write("save the item record") as conn:
            conn.executemany(_UPSERT, [_row_of(r) for r in records])

    def upsert_if_newer(self, records: Iterable[ItemRecord]) -> int:
        """Apply journal records that are newer than the rows (replay). Returns how many."""
        applied = 0
        with self._write("replay the journal") as conn:
            for rec in records:
                row = conn.execute("SELECT rev FROM items WHERE id = ?", (rec.id,)).fetchone()
                if row is None or row[0] < rec.rev:
                    conn.execute(_UPSERT, _row_of(rec))
                    applied += 1
        return applied

    def delete(self, item_id: str, *, rev_below: int | None = None) -> bool:
        with self._write("remove the item record") as conn:
            if rev_below is None:
                cur = conn.execute("DELETE FROM items WHERE id = ?", (item_id,))
            else:
                cur = conn.execute("DELETE FROM items WHERE id = ? AND rev < ?",
                                   (item_id, rev_below))
            return cur.rowcount > 0

    def probe(self) -> None:
        """A tiny durable write: is the database writable now?"""
        with self._write("probe the metadata database") as conn:
            conn.execute("INSERT INTO meta VALUES ('probe', 1) "
                         "ON CONFLICT (key) DO UPDATE SET value = value + 1")

    # reads ----------------------------------------------------------------------------
    def _read(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._rlock:
            try:
                return self._r.execute(sql, tuple(args)).fetchall()
            except (sqlite3.Error, OSError) as exc:
                raise classify(exc, "read the metadata database") from exc

    def get(self, item_id: str) -> ItemRecord | None:
        rows = self._read(f"SELECT {COLUMNS} FROM items WHERE id = ?",  # noqa: S608
                          (item_id,))
        return record_from_row(rows[0]) if rows else None

    def page(self, query: ListQuery, fetch: int, project_counts: bool = True
             ) -> tuple[list[ItemRecord], dict[str, int]]:
        """Up to ``fetch`` rows of the query and the project's counts, from one snapshot."""
        with self._rlock:
            conn = self._r
            try:
                conn.execute("BEGIN")
                try:
                    sql, args = query.sql(COLUMNS, fetch, self._text_plan(conn, query))
                    rows = conn.execute(sql, args).fetchall()
                    counts = dict(conn.execute(
                        "SELECT status, n FROM counts WHERE project_id = ?",
                        (query.project_id,)).fetchall()) if project_counts else {}
                finally:
                    conn.execute("COMMIT")
            except (sqlite3.Error, OSError) as exc:
                raise classify(exc, "list items") from exc
        return list(map(record_from_row, rows)), counts

    def _text_plan(self, conn: sqlite3.Connection, query: ListQuery) -> str | None:
        """The rows to read a ``text`` page from, when the text index is the faster way."""
        needle = query.needle
        fts = search.phrase(needle) if needle and self.text_index else None
        return search.sparse_rows(conn, fts) if fts is not None else None

    def counts(self, project_id: str | None = None) -> dict[str, int]:
        if project_id is None:
            rows = self._read("SELECT status, SUM(n) FROM counts GROUP BY status")
        else:
            rows = self._read("SELECT status, n FROM counts WHERE project_id = ?",
                              (project_id,))
        return {str(s): int(n) for s, n in rows}

    def with_status(self, status: str, project_id: str | None = None) -> list[ItemRecord]:
        if project_id is None:
            rows = self._read(f"SELECT {COLUMNS} FROM items WHERE status = ? "  # noqa: S608
                              "ORDER BY created_at, id", (status,))
        else:
            rows = self._read(f"SELECT {COLUMNS} FROM items WHERE status = ? AND "  # noqa: S608
                              "project_id = ? ORDER BY created_at, id", (status, project_id))
        return list(map(record_from_row, rows))

    def sha_refs(self, sha: str, *, exclude_id: str | None = None) -> int:
        """How many saved or unsaved rows name this blob."""
        rows = self._read("SELECT COUNT(*) FROM items WHERE sha256 = ? AND id IS NOT ? AND "
                          "status IN (?, ?)", (sha, exclude_id, *BLOB_HOLDERS))
        return int(rows[0][0])

    def referenced_shas(self) -> set[str]:
        rows = self._read("SELECT DISTINCT sha256 FROM items WHERE sha256 IS NOT NULL AND "
                          "status IN (?, ?)", BLOB_HOLDERS)
        return {str(r[0]) for r in rows}

    def saved_refs(self) -> list[tuple[str, str]]:
        rows = self._read("SELECT id, sha256 FROM items WHERE status = ?", (ItemStatus.SAVED,))
        return [(str(i), str(s)) for i, s in rows]


def _rollback(conn: sqlite3.Connection) -> None:
    with suppress(sqlite3.Error):
        conn.execute("ROLLBACK")


__all__ = ["MetadataDB", "StorageError"]
