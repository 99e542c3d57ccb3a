"""listMediaItems' reply packed straight to msgpack: no per-item dicts, no re-packing.

A page is a hundred items of twenty fields; building a dict per item and packing the
envelope cost more than the SQL. Here each item's map is packed in one C call (its keys and
values as one flat list, whose array header is then swapped for the map header of the same
length: the bodies of the two are byte for byte the same), and the page's bytes go into the
reply envelope as they are (``codec.PackedMap``).

An item's bytes are a pure function of its row (and of the store's blob directory), so they
are kept per row: the key is the whole record tuple read from the database this time, so a
changed row is a different key and can never be answered from old bytes. Listing the same
page again (the editor re-lists on every event) packs nothing. The memo holds at most
``capacity`` items and is emptied when full (bounded memory, no per-hit bookkeeping).

``tests/service/test_listing.py`` checks that the bytes decode to exactly the
``ListMediaItemsResult`` model's wire form, for every kind of record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import msgpack

from sidecar.service.convert import counts_wire, item_fields
from sidecar.store.records import ItemRecord
from sidecar.wire.codec import PackedMap

_ITEM_FIELDS = 22
_ARRAY_HEAD = b"\xdc" + (2 * _ITEM_FIELDS).to_bytes(2, "big")  # array 16 of 44 elements
_MAP_HEAD = b"\xde" + _ITEM_FIELDS.to_bytes(2, "big")  # map 16 of 22 entries


class PagePacker:
    """Packs pages of one store's items; safe to use from several worker threads."""

    def __init__(self, blob_path: Callable[[str], str], record_state: Callable[[str], str],
                 capacity: int = 8192) -> None:
        self._blob_path = blob_path
        self._record_state = record_state
        self._capacity = capacity
        self._memo: dict[tuple[ItemRecord, str], bytes] = {}
        self._local = threading.local()

    def _pack(self) -> Callable[[Any], bytes]:
        pack: Callable[[Any], bytes] | None = getattr(self._local, "pack", None)
        if pack is None:
            pack = self._local.pack = msgpack.Packer(use_bin_type=True, datetime=False).pack
        return pack

    def page(self, records: Iterable[ItemRecord], next_cursor: str | None,
             counts: dict[str, int]) -> PackedMap:
        """The ``ListMediaItemsResult`` of these records, as msgpack bytes."""
        pack = self._pack()
        memo = self._memo
        items: list[bytes] = []
        record_state = self._record_state
        for rec in records:
            # where the record is (stored, journalled, memory) is the store's state, not the
            # row's: it is part of the key
            key = (rec, record_state(rec.id))
            packed = memo.get(key)
            if packed is None:
                packed = self.item(rec, pack, key[1])
                # -0.0 == 0.0 as keys, but they pack differently: never memoize them.
                if rec.duration != 0.0 and rec.fps != 0.0:
                    if len(memo) >= self._capacity:
                        memo.clear()
                    memo[key] = packed
            items.append(packed)
        n = len(items)
        head = bytes([0x90 | n]) if n < 16 else b"\xdc" + n.to_bytes(2, "big")
        return PackedMap(b"".join((
            b"\x83", pack("items"), head, *items, pack("nextCursor"), pack(next_cursor),
            pack("counts"), pack(counts_wire(counts)))))

    def item(self, rec: ItemRecord, pack: Callable[[Any], bytes] | None = None,
             record_state: str | None = None) -> bytes:
        """One item's map, exactly as ``convert.item_wire`` (and so ``MediaItem.wire()``)."""
        pack = pack or self._pack()
        if record_state is None:
            record_state = self._record_state(rec.id)
        sha = rec.sha256
        body = pack(item_fields(rec, record_state, self._blob_path(sha) if sha else None))
        if body[:3] != _ARRAY_HEAD:  # cannot happen: 44 elements are always an array 16
            raise AssertionError("unexpected msgpack array header")
        return _MAP_HEAD + body[3:]
