"""The ``text`` filter's index: an FTS5 ``trigram`` index of ``items.search``.

``listMediaItems`` with ``text`` matches items whose (case-folded) name or prompt contains
the (case-folded) text as a substring. Without an index that is a scan of the project in
sort order, checking every row until a page is full: fast when many rows match, a scan of
the whole project when few or none do (80 ms for 100k items here).

The index (``items_fts``) is an external-content FTS5 table over ``items.search``, kept in
sync by triggers, with the ``trigram`` tokenizer (``case_sensitive 1``: the column and the
needle are already case-folded by Python, so SQLite folds nothing differently). A phrase of
trigrams matches exactly the rows containing the needle as a substring, for needles of 3
characters or more; shorter needles have no trigram, and keep the scan. The SQL still checks
``instr(search, needle)`` on every row it returns, so the index can only ever narrow the
scan, never change the answer.

Which plan is used is decided per query, inside the page's read transaction: the index is
asked for up to ``SPARSE`` matching rows; when there are no more than that, the page is read
from those rows (and sorted; the index is not asked twice); when there are more, matches are
dense and the scan in sort order fills a page quickly, so it is kept.

``migrate`` creates the table and its triggers at open and fills it from the existing rows
(once per database; about a second per 100k items). If that fails (a full disk, say), the
database opens without the index, ``text`` scans as before, and the next open tries again.
FTS5's rowids are ``items``' rowids: the sidecar never runs ``VACUUM`` (which may renumber
them); ``rebuild`` refills the index from the rows if a database was vacuumed by hand.
"""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger("sidecar.store.search")

SPARSE = 500  # matches up to which the index drives the page (see bench/RESULTS.md)

_SCHEMA = """
CREATE VIRTUAL TABLE items_fts USING fts5(
    search, content='items', tokenize='trigram case_sensitive 1');
CREATE TRIGGER items_fts_ai AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, search) VALUES (new.rowid, new.search);
END;
CREATE TRIGGER items_fts_ad AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
END;
CREATE TRIGGER items_fts_au AFTER UPDATE OF search ON items
WHEN old.search IS NOT new.search BEGIN
    INSERT INTO items_fts (items_fts, rowid, search) VALUES ('delete', old.rowid, old.search);
    INSERT INTO items_fts (rowid, search) VALUES (new.rowid, new.search);
END;
"""

_REBUILD = "INSERT INTO items_fts (items_fts) VALUES ('rebuild')"
_PROBE = "SELECT rowid FROM items_fts WHERE items_fts MATCH ? LIMIT ?"


def available(conn: sqlite3.Connection) -> bool:
    """Whether this SQLite has FTS5 with the trigram tokenizer (3.34 and later)."""
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.fts_probe USING fts5(x, tokenize='trigram')")
        conn.execute("DROP TABLE temp.fts_probe")
    except sqlite3.OperationalError:
        return False
    return True


def migrate(conn: sqlite3.Connection) -> bool:
    """Create and fill the index if this database has none (in one transaction).
    Returns whether the index exists (False on an SQLite without trigram FTS5)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'items_fts'").fetchone()
    if exists:
        return True
    if not available(conn):
        return False
    try:
        conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} {_REBUILD}; COMMIT;")
    except sqlite3.Error as exc:  # e.g. a full disk: serve with the scan, retry next open
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        log.warning("text index not created (%s): text search scans instead", exc)
        return False
    return True


def rebuild(conn: sqlite3.Connection) -> None:
    """Refill the index from ``items`` (in the caller's transaction)."""
    conn.execute(_REBUILD)


def phrase(needle: str) -> str | None:
    """The FTS5 query matching rows that contain ``needle``, or None when the index
    cannot answer it (fewer than 3 characters, or a NUL)."""
    if len(needle) < 3 or "\0" in needle:
        return None
    return '"' + needle.replace('"', '""') + '"'


def sparse_rows(conn: sqlite3.Connection, query: str) -> str | None:
    """The rowids matching ``query`` as a JSON array when there are at most ``SPARSE`` of
    them (then they drive the page), else None (dense: the scan is faster)."""
    rows = conn.execute(_PROBE, (query, SPARSE + 1)).fetchall()
    if len(rows) > SPARSE:
        return None
    return "[" + ",".join(str(r[0]) for r in rows) + "]"
