"""Durability by what the kernel is actually asked to do.

The store's OS seam records every real call with its target as the kernel sees it (the file
an fsync'd descriptor is, read back from /proc/self/fd; the directory actually fsynced; the
rename's source and destination; the database commit). These tests assert the order a
crash-safe save needs, so a bug that fsyncs the wrong directory, skips an fsync, or commits
the row before the blob is in place fails here, whatever fault hooks would have said.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sidecar.store.config import StoreConfig
from sidecar.store.osio import Call, Trace
from sidecar.store.sources import Downloaded, LocalFile
from sidecar.store.store import MediaStore
from tests.store.conftest import inline, record

URL = "https://v3.fal.media/files/clip.mp4"


def real(path: Path | str) -> str:
    return os.path.realpath(path)


def index(calls: list[Call], kind: str, path: str, after: int = -1) -> int:
    for i, c in enumerate(calls):
        if i > after and c.kind == kind and c.path == path:
            return i
    raise AssertionError(f"no {kind} of {path} after #{after} in:\n" + show(calls))


def show(calls: list[Call]) -> str:
    return "\n".join(f"  #{i} {c.kind} {c.op} {c.path}" + (f" <- {c.src}" if c.src else "")
                     for i, c in enumerate(calls))


def assert_blob_then_commit(calls: list[Call], blob: Path) -> None:
    """temp file written+fsynced → renamed onto the blob → the blob's own directory fsynced
    → only then the database commit (and no commit before the directory fsync)."""
    dst = real(blob)
    renames = [i for i, c in enumerate(calls) if c.kind == "replace" and c.path == dst]
    assert len(renames) == 1, show(calls)
    rename = renames[0]
    src = calls[rename].src
    fsyncs = [i for i, c in enumerate(calls) if c.kind == "fsync" and c.path == src]
    assert fsyncs and fsyncs[-1] < rename, "the temp file was not fsynced before its rename\n" \
        + show(calls)
    writes = [i for i, c in enumerate(calls) if c.kind == "write" and c.path == src]
    assert all(w < fsyncs[-1] for w in writes), "written after its fsync\n" + show(calls)
    dir_sync = index(calls, "fsyncDir", real(blob.parent), after=rename)
    commits = [i for i, c in enumerate(calls) if c.kind == "commit"]
    assert commits, "the row was never committed\n" + show(calls)
    assert min(commits) > dir_sync, "the row was committed before the blob was durable\n" \
        + show(calls)


def test_inline_save_fsyncs_temp_renames_fsyncs_the_blob_dir_then_commits(
        store: MediaStore, traced: Trace) -> None:
    data = b"inline bytes " * 1000
    out = store.save(record("a"), inline(data), new=True)
    assert out.record.status == "saved"
    assert_blob_then_commit(traced.calls(), store.blob_path(hashlib.sha256(data).hexdigest()))


def test_import_from_a_path_has_the_same_order(store: MediaStore, traced: Trace,
                                               tmp_path: Path) -> None:
    src = tmp_path / "clip.mp4"
    src.write_bytes(os.urandom(300_000))
    fd = os.open(src, os.O_RDONLY)
    try:
        out = store.save(record("b"), LocalFile(fd, src, os.fstat(fd).st_size), new=True)
    finally:
        os.close(fd)
    assert out.record.status == "saved"
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    assert_blob_then_commit(traced.calls(), store.blob_path(sha))


def test_a_download_is_fsynced_before_it_is_installed(store: MediaStore,
                                                      traced: Trace) -> None:
    data = os.urandom(200_000)
    path = store.download_path()
    path.write_bytes(data)  # what the downloader leaves: written, not yet fsynced
    sha = hashlib.sha256(data).hexdigest()
    out = store.save(record("c", source_url=URL), Downloaded(path, sha, len(data)), new=True)
    assert out.record.status == "saved"
    calls = traced.calls()
    assert_blob_then_commit(calls, store.blob_path(sha))
    rename = index(calls, "replace", real(store.blob_path(sha)))
    index(calls, "fsync", real(path))  # the downloaded file itself, by its own name
    assert calls[rename].src == real(path)


def test_the_fallback_journal_is_fsynced_after_its_write(store: MediaStore,
                                                         traced: Trace) -> None:
    store.faults.arm("dbCommit", "EROFS")
    registered = store.register(record("u", status="urlOnly", source_url=URL))
    assert registered.persisted is False  # the database refused it: the journal keeps it
    calls = traced.calls()
    journal = real(store.journal.path)
    write = index(calls, "write", journal)
    index(calls, "fsync", journal, after=write)
    assert store.journal.path.stat().st_size > 0


def test_a_spill_copy_is_fsynced_renamed_and_its_dir_fsynced(tmp_path: Path) -> None:
    config = StoreConfig(spill_dir=tmp_path / "spill", import_roots=(tmp_path,),
                         hold_memory_budget=0)  # every held copy goes to a spill file
    s = MediaStore.open(tmp_path / "data", config)
    try:
        trace = Trace()
        s.io.trace = trace
        s.faults.arm("blobWrite", "ENOSPC")
        data = b"held " * 5000
        out = s.save(record("h"), inline(data), new=True)
        assert out.record.status == "unsaved"
        calls = trace.calls()
        spills = [i for i, c in enumerate(calls)
                  if c.kind == "replace" and c.op == "spillWrite"]
        assert len(spills) == 1, show(calls)
        rename = spills[0]
        dst, src = calls[rename].path, calls[rename].src
        fsync = index(calls, "fsync", src)
        assert fsync < rename, show(calls)
        dir_sync = index(calls, "fsyncDir", real(Path(dst).parent), after=rename)
        assert hashlib.sha256(Path(dst).read_bytes()).hexdigest() == out.record.sha256
        commits = [i for i, c in enumerate(calls) if c.kind == "commit"]
        assert commits and min(commits) > dir_sync, "unsaved row before its copy was durable\n" \
            + show(calls)
    finally:
        s.io.trace = None
        s.close()


def test_journal_replay_never_overwrites_a_newer_row(tmp_path: Path,
                                                     config: StoreConfig) -> None:
    data_dir = tmp_path / "data"
    s = MediaStore.open(data_dir, config)
    old = record("j", status="urlOnly", source_url=URL, name="old name")
    newer_other = record("k", status="urlOnly", source_url=URL, name="k first")
    new = old.evolve(name="new name", rev=old.rev + 10)
    s.db.upsert(new, newer_other)
    # the journal holds an older record of j (it must lose) and a newer one of k (it wins)
    s.journal.append({"op": "put", "id": old.id, "rev": old.rev, "record": old.to_dict()})
    k2 = newer_other.evolve(name="k replayed", rev=newer_other.rev + 10)
    s.journal.append({"op": "put", "id": k2.id, "rev": k2.rev, "record": k2.to_dict()})
    s.close()
    s = MediaStore.open(data_dir, config)
    try:
        got_j, got_k = s.get("j"), s.get("k")
        assert got_j is not None and got_k is not None
        assert got_j.name == "new name"
        assert got_k.name == "k replayed"
    finally:
        s.close()
