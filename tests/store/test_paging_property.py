"""Keyset pagination, checked against a plain sort for random libraries: duplicate sort
keys, missing sizes, every sort and order, any page size. Every item exactly once, in order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.store.config import StoreConfig
from sidecar.store.query import ListQuery
from sidecar.store.records import ItemRecord, next_rev
from sidecar.store.store import MediaStore

items = st.lists(
    st.tuples(st.sampled_from(["a", "B", "b", "Ä", "ä", "z"]),  # names with case ties
              st.integers(0, 3),  # created_at / updated_at with ties
              st.one_of(st.none(), st.integers(0, 3))),  # sizes, some unknown
    min_size=0, max_size=25)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MediaStore]:
    tmp: Path = tmp_path_factory.mktemp("paging")
    store = MediaStore.open(tmp / "data", StoreConfig(spill_dir=tmp / "spill"))
    yield store
    store.close()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(items=items, sort=st.sampled_from(["createdAt", "updatedAt", "name", "size"]),
       order=st.sampled_from(["asc", "desc"]), limit=st.integers(1, 6))
def test_pages_match_a_plain_sort(shared: MediaStore, items: list[tuple[str, int, int | None]],
                                  sort: str, order: str, limit: int) -> None:
    project = uuid.uuid4().hex  # each example in its own project of the shared store
    records = [ItemRecord(id=f"{project}-{i:03d}", project_id=project, name=name,
                          type="video", status="saved", created_at=t, updated_at=3 - t,
                          rev=next_rev(), size=size)
               for i, (name, t, size) in enumerate(items)]
    if records:
        shared.db.upsert(*records)
    query = ListQuery(project, sort=sort, order=order, limit=limit)
    expected = sorted(records, key=query.key_of, reverse=order == "desc")
    seen: list[ItemRecord] = []
    q = query
    while True:
        page = shared.page(q)
        seen.extend(page.records)
        assert len(page.records) <= limit
        if page.next_cursor is None:
            break
        q = query.with_cursor(page.next_cursor)
    assert [r.id for r in seen] == [r.id for r in expected]
    assert page.counts["saved"] == len(records)
