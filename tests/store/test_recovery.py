"""Start-up recovery: leftover temp files go, rows whose blob is missing are marked, orphan
blobs are collected, a torn journal line is ignored."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sidecar.store.config import StoreConfig
from sidecar.store.store import MediaStore
from tests.store.conftest import inline, record


def test_leftover_temp_files_are_removed_at_start(tmp_path: Path, config: StoreConfig) -> None:
    store = MediaStore.open(tmp_path / "data", config)
    store.close()
    tmp = tmp_path / "data" / "tmp"
    (tmp / "blob-dead.tmp").write_bytes(b"half a blob")
    (tmp / "dl-dead.tmp").write_bytes(b"half a download")
    store = MediaStore.open(tmp_path / "data", config)
    try:
        assert store.recovery.temps_removed == 2
        assert list(tmp.iterdir()) == []
    finally:
        store.close()


def test_rows_whose_blob_is_missing_are_marked(tmp_path: Path, config: StoreConfig) -> None:
    store = MediaStore.open(tmp_path / "data", config)
    a = store.save(record("a"), inline(b"aaa"), new=True).record
    b = store.save(record("b", source_url="https://v3.fal.media/files/b.mp4"), inline(b"bbb"),
                   new=True).record
    c = store.save(record("c"), inline(b"ccc"), new=True).record
    store.close()
    for rec in (a, b):
        assert rec.sha256 is not None
        os.unlink(store.blob_path(rec.sha256))
    store = MediaStore.open(tmp_path / "data", config)
    try:
        assert sorted(store.recovery.missing_blobs) == ["a", "b"]
        got_a, got_b, got_c = store.get("a"), store.get("b"), store.get("c")
        assert got_a is not None and got_a.status == "unsaved"
        assert got_a.storage_error is not None and got_a.storage_error.errno == "ENOENT"
        assert got_b is not None and got_b.status == "urlOnly"
        assert got_c is not None and got_c.status == "saved" and got_c == c
    finally:
        store.close()


def test_orphan_blobs_are_collected_at_start(tmp_path: Path, config: StoreConfig) -> None:
    store = MediaStore.open(tmp_path / "data", config)
    kept = store.save(record("a"), inline(b"kept"), new=True).record
    store.close()
    orphan = hashlib.sha256(b"orphan").hexdigest()
    path = store.blob_path(orphan)
    path.write_bytes(b"orphan")
    store = MediaStore.open(tmp_path / "data", config)
    try:
        assert store.recovery.orphans_removed == 1
        assert not path.exists()
        assert kept.sha256 is not None and store.blob_path(kept.sha256).exists()
    finally:
        store.close()


def test_a_torn_journal_line_is_ignored(tmp_path: Path, config: StoreConfig) -> None:
    store = MediaStore.open(tmp_path / "data", config)
    store.faults.arm("dbCommit", "ENOSPC", count=10)
    store.register(record("u1", status="urlOnly", source_url="https://fal.media/u1"))
    store.close()
    with store.journal.path.open("ab") as f:
        f.write(b'{"op":"put","id":"u2","rec')  # a crash mid-append
    store = MediaStore.open(tmp_path / "data", config)
    try:
        assert store.recovery.journal_applied == 1
        assert store.get("u1") is not None and store.get("u2") is None
    finally:
        store.close()


def test_a_store_on_an_unusable_data_dir_fails_to_open(tmp_path: Path, config: StoreConfig
                                                       ) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    try:
        MediaStore.open(blocker / "data", config)
    except Exception as exc:
        from sidecar.store.classify import StorageError

        assert isinstance(exc, StorageError)
    else:
        raise AssertionError("opened a store under a regular file")
