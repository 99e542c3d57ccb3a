"""The ``text`` filter through the FTS5 trigram index gives exactly the rows the substring
scan gives: random names and prompts (case, accents, quotes, short and missing needles),
both of the index's plans, after renames and removals, and on a database created before the
index existed (filled at open)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.store import search
from sidecar.store.config import StoreConfig
from sidecar.store.query import ListQuery
from sidecar.store.records import ItemRecord, next_rev
from sidecar.store.store import MediaStore

ALPHABET = "abcAB Ää\"'%_*\n"
words = st.text(alphabet=ALPHABET, min_size=0, max_size=8)
libraries = st.lists(st.tuples(words.filter(bool), st.none() | words), max_size=30)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaStore]:
    tmp: Path = tmp_path_factory.mktemp("search")
    store = MediaStore.open(tmp / "data", StoreConfig(spill_dir=tmp / "spill"))
    yield store
    store.close()


def _records(project: str, library: list[tuple[str, str | None]]) -> list[ItemRecord]:
    return [ItemRecord(id=f"{project}-{i:03d}", project_id=project, name=name, type="video",
                       status="saved", created_at=i, updated_at=i, rev=next_rev(),
                       metadata=json.dumps({"prompt": prompt} if prompt is not None else {}))
            for i, (name, prompt) in enumerate(library)]


def _all_pages(store: MediaStore, query: ListQuery) -> list[str]:
    ids: list[str] = []
    q = query
    while True:
        page = store.page(q)
        ids += [r.id for r in page.records]
        if page.next_cursor is None:
            return ids
        q = query.with_cursor(page.next_cursor)


def _scan(store: MediaStore, project: str, text: str) -> list[str]:
    """The substring scan without the index: what ``text`` meant before it existed."""
    needle = text.casefold()
    rows = store.db._read("SELECT id, search FROM items WHERE project_id = ? "
                          "ORDER BY created_at DESC, id DESC", (project,))
    return [str(i) for i, s in rows if needle in s]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(library=libraries, needles=st.lists(words, min_size=1, max_size=4),
       sparse=st.sampled_from([0, 3, search.SPARSE]), limit=st.integers(1, 7),
       data=st.data())
def test_text_pages_equal_the_substring_scan(shared: MediaStore,
                                             library: list[tuple[str, str | None]],
                                             needles: list[str], sparse: int, limit: int,
                                             data: st.DataObject) -> None:
    project = uuid.uuid4().hex
    records = _records(project, library)
    if records:
        shared.db.upsert(*records)
        # Needles cut from the library's own text match something; the others may not.
        name = data.draw(st.sampled_from([r.name for r in records]))
        start = data.draw(st.integers(0, len(name)))
        needles.append(name[start:start + data.draw(st.integers(1, 6))])
    saved, search.SPARSE = search.SPARSE, sparse  # 0: always the scan; 3 and up: both plans
    try:
        for text in needles:
            if not text:
                continue
            got = _all_pages(shared, ListQuery(project, text=text, limit=limit))
            assert got == _scan(shared, project, text), text
    finally:
        search.SPARSE = saved


def test_renamed_and_removed_items_are_found_by_their_new_text(store: MediaStore) -> None:
    recs = _records("p", [("sunset over lake", None), ("city at night", "neon sunset")])
    store.db.upsert(*recs)
    assert _all_pages(store, ListQuery("p", text="SUNSET")) == ["p-001", "p-000"]
    store.db.upsert(recs[0].evolve(name="harbour at dawn"))
    store.db.delete("p-001")
    assert _all_pages(store, ListQuery("p", text="sunset")) == []
    assert _all_pages(store, ListQuery("p", text="harbour")) == ["p-000"]


def test_a_database_from_before_the_index_is_filled_at_open(tmp_path: Path) -> None:
    config = StoreConfig(spill_dir=tmp_path / "spill")
    store = MediaStore.open(tmp_path / "data", config)
    store.db.upsert(*_records("old", [("first light", None), ("last light", None)]))
    store.close()
    conn = sqlite3.connect(tmp_path / "data" / "media.sqlite3", isolation_level=None)
    for trigger in ("items_fts_ai", "items_fts_ad", "items_fts_au"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE items_fts")  # the schema (and rows) of the version before
    conn.close()
    store = MediaStore.open(tmp_path / "data", config)
    saved, search.SPARSE = search.SPARSE, 10
    try:
        assert store.db.text_index
        assert _all_pages(store, ListQuery("old", text="light")) == ["old-001", "old-000"]
        rows = store.db._read("SELECT rowid FROM items_fts WHERE items_fts MATCH ?",
                              ('"light"',))
        assert len(rows) == 2  # the index itself was filled, not only the scan
    finally:
        search.SPARSE = saved
        store.close()


def test_a_failed_migration_leaves_the_scan_serving(tmp_path: Path) -> None:
    config = StoreConfig(spill_dir=tmp_path / "spill")
    store = MediaStore.open(tmp_path / "data", config)
    store.db.upsert(*_records("p", [("blue hour", None), ("red hour", None)]))
    store.close()
    conn = sqlite3.connect(tmp_path / "data" / "media.sqlite3", isolation_level=None)
    for trigger in ("items_fts_ad", "items_fts_au"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE items_fts")  # items_fts_ai is left behind: creating it fails
    conn.close()
    store = MediaStore.open(tmp_path / "data", config)
    try:
        assert not store.db.text_index
        assert _all_pages(store, ListQuery("p", text="hour")) == ["p-001", "p-000"]
    finally:
        store.close()


def test_rebuild_refills_an_index_that_lost_its_rows(tmp_path: Path) -> None:
    """The remedy the module names for a hand-vacuumed database: ``rebuild``."""
    config = StoreConfig(spill_dir=tmp_path / "spill")
    store = MediaStore.open(tmp_path / "data", config)
    saved, search.SPARSE = search.SPARSE, 10
    try:
        store.db.upsert(*_records("p", [("kept alpha", None), ("kept beta", None)]))
        conn = sqlite3.connect(tmp_path / "data" / "media.sqlite3", isolation_level=None)
        conn.execute("INSERT INTO items_fts (items_fts) VALUES ('delete-all')")
        assert _all_pages(store, ListQuery("p", text="kept")) == []  # the index drives
        search.rebuild(conn)
        conn.close()
        assert _all_pages(store, ListQuery("p", text="kept")) == ["p-001", "p-000"]
    finally:
        search.SPARSE = saved
        store.close()
