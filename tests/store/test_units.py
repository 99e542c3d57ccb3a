"""Units of the store: errno classification, the fault seam, cursors, counts kept by
triggers, keyed locks."""

from __future__ import annotations

import errno
import sqlite3
import threading
from pathlib import Path

import pytest

from sidecar.store.classify import classify
from sidecar.store.osio import Faults
from sidecar.store.query import BadCursor, ListQuery
from sidecar.store.store import MediaStore
from tests.store.conftest import inline, record


@pytest.mark.parametrize(("code", "blocked", "error_type"), [
    (errno.ENOSPC, True, "StorageBlocked"),
    (errno.EDQUOT, True, "StorageBlocked"),
    (errno.EROFS, True, "StorageBlocked"),
    (errno.EACCES, True, "StorageBlocked"),
    (errno.EPERM, True, "StorageBlocked"),
    (errno.EIO, False, "StorageIOError"),
    (errno.EAGAIN, False, "StorageTransient"),
    (errno.EINTR, False, "StorageTransient"),
    (errno.EBUSY, False, "StorageTransient"),
])
def test_errnos_are_classified_like_the_seeds_is_storage_blocked(
        code: int, blocked: bool, error_type: str) -> None:
    err = classify(OSError(code, "x"), "write")
    assert err.blocked is blocked and err.error_type == error_type
    assert err.errno_name == errno.errorcode[code]


def test_sqlite_errors_are_classified_by_result_code(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    ro = sqlite3.connect(f"file:{tmp_path / 'x.db'}?mode=ro", uri=True)
    with pytest.raises(sqlite3.Error) as info:
        ro.execute("INSERT INTO t VALUES (1)")
    err = classify(info.value, "commit")
    assert err.blocked and err.errno_name == "EROFS"
    ro.close()


def test_faults_fire_count_times_then_stop() -> None:
    faults = Faults()
    faults.arm("blobFsync", "EIO", count=2)
    for _ in range(2):
        with pytest.raises(OSError) as info:
            faults.check("blobFsync")
        assert info.value.errno == errno.EIO
    faults.check("blobFsync")
    assert faults.active() == {}
    with pytest.raises(ValueError):
        faults.arm("nope", "EIO")


def test_a_cursor_round_trips_and_refuses_tampering(store: MediaStore) -> None:
    for i in range(5):
        store.save(record(f"i{i}"), inline(f"{i}".encode()), new=True)
    q = ListQuery("p1", limit=2, sort="name", order="asc")
    page = store.page(q)
    assert [r.id for r in page.records] == ["i0", "i1"] and page.next_cursor
    nxt = store.page(q.with_cursor(page.next_cursor))
    assert [r.id for r in nxt.records] == ["i2", "i3"]
    with pytest.raises(BadCursor):
        ListQuery("p1", sort="size").with_cursor(page.next_cursor)
    with pytest.raises(BadCursor):
        q.with_cursor("W10")  # base64 of []


def test_counts_follow_inserts_updates_and_deletes(store: MediaStore) -> None:
    a = store.save(record("a"), inline(b"a"), new=True).record
    store.save(record("b", project="p2"), inline(b"b"), new=True)
    store.register(record("c", status="urlOnly", source_url="https://fal.media/c"))
    assert store.counts("p1") == {"saved": 1, "unsaved": 0, "urlOnly": 1, "expired": 0, "lost": 0}
    store.register(a.evolve(status="expired"))
    assert store.counts("p1")["expired"] == 1 and store.counts("p1")["saved"] == 0
    store.remove(a.evolve(status="expired"))
    assert store.counts(None) == {"saved": 1, "unsaved": 0, "urlOnly": 1, "expired": 0, "lost": 0}


def test_concurrent_saves_of_the_same_bytes_share_one_blob(store: MediaStore) -> None:
    data = b"shared" * 10_000
    errors: list[BaseException] = []

    def add(i: int) -> None:
        try:
            store.save(record(f"i{i}"), inline(data), new=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    blobs = [p for p in (store.data_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1 and blobs[0].read_bytes() == data


def test_concurrent_remove_and_add_never_lose_a_shared_blob(store: MediaStore) -> None:
    data = b"contended"
    for round_ in range(30):
        first = store.save(record(f"a{round_}"), inline(data), new=True).record
        t = threading.Thread(target=store.remove, args=(first,))
        t.start()
        second = store.save(record(f"b{round_}"), inline(data), new=True).record
        t.join()
        assert second.sha256 is not None
        assert store.blob_path(second.sha256).read_bytes() == data
        store.remove(second)


def test_a_spill_dir_planted_as_a_symlink_is_refused(tmp_path: Path) -> None:
    from sidecar.store.config import StoreConfig
    from sidecar.store.store import spill_namespace

    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    (elsewhere / "journal.jsonl").write_text('{"op":"put","id":"x","rev":1,"record":{}}\n')
    (elsewhere / "held").mkdir()
    (elsewhere / "held" / "precious").write_bytes(b"not ours to delete")
    config = StoreConfig(spill_dir=tmp_path / "spill", hold_memory_budget=0)
    data_dir = tmp_path / "data"
    ns = spill_namespace(config, data_dir)
    ns.parent.mkdir()
    ns.symlink_to(elsewhere)
    store = MediaStore.open(data_dir, config)
    try:
        store.faults.arm("blobWrite", "EAGAIN")
        with pytest.raises(Exception) as info:
            store.save(record("a"), inline(b"bytes"), new=True)
        assert type(info.value).__name__ == "NotKept"
        assert sorted(p.name for p in elsewhere.rglob("*")) == ["held", "journal.jsonl",
                                                                "precious"]
        assert store.get("x") is None
    finally:
        store.close()
