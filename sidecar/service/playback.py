"""Playback: getMediaSource (where an item's bytes are) and readMediaRange (a bounded range
of them as one reply payload frame), for the shim's media scheme.

Neither takes the item lock: a retry or a download of a large item must not stall a player,
and the store's ``RangeReader`` reads from whichever copy of the bytes exists at the moment
of the call. Both run in the store's pool; a range is read and hashed there, so the event
loop only sends it. Memory is bounded by ``maxRangeBytes`` per request in flight (and the
server's in-flight bounds). Another project's item is ``not_found``, exactly like an unknown
id.
"""

from __future__ import annotations

from protocol.media import (
    GetMediaSourceParams,
    GetMediaSourceResult,
    ReadMediaRangeParams,
    ReadMediaRangeResult,
)
from sidecar.errors import InvalidParams, NoLocalBytes, NotFound
from sidecar.rpc.dispatch import CallContext, Handlers, WithPayload
from sidecar.service.workers import StoreWorkers
from sidecar.store.reading import Chunk, NoBytes
from sidecar.store.records import BLOB_HOLDERS, ItemRecord


class Playback:
    def __init__(self, workers: StoreWorkers) -> None:
        self.workers = workers
        self.reader = workers.store.reader

    def register(self, handlers: Handlers) -> None:
        handlers.add("getMediaSource", self.get_media_source)
        handlers.add("readMediaRange", self.read_media_range)

    async def get_media_source(self, ctx: CallContext, p: GetMediaSourceParams
                               ) -> GetMediaSourceResult:
        rec = await self.workers.owned(p.id, p.project_id)
        where = await self.workers.run(self.reader.locate, rec)
        return GetMediaSourceResult(
            id=rec.id, project_id=rec.project_id, status=rec.status,
            size=rec.size, mime_type=rec.mime_type, sha256=rec.sha256,
            path=str(where.path) if where.path is not None else None,
            source_url=rec.source_url, bytes=where.kind)

    async def read_media_range(self, ctx: CallContext, p: ReadMediaRangeParams
                               ) -> WithPayload:
        limit = self.workers.settings.range_limit
        if p.length > limit:
            raise InvalidParams(f"params.length: at most {limit} bytes (limits.maxRangeBytes)",
                                field="params.length", data={"maxRangeBytes": limit})
        rec = await self.workers.owned(p.id, p.project_id)
        if not _has_bytes(rec):
            raise _no_local_bytes(rec)
        size, sha = rec.size, rec.sha256
        assert size is not None and sha is not None  # _has_bytes
        if p.offset >= size:
            raise InvalidParams(f"params.offset: {p.offset} is not below the item's size "
                                f"{size}", field="params.offset", data={"size": size})
        chunk = await self._read(rec, p.offset, p.length)
        result = ReadMediaRangeResult(offset=chunk.offset, length=len(chunk.data), size=size,
                                      sha256=sha)
        return WithPayload(result, (chunk.data,), chunk.digest)

    async def _read(self, rec: ItemRecord, offset: int, length: int) -> Chunk:
        try:
            return await self.workers.run(self.reader.read, rec, offset, length)
        except NoBytes:
            pass
        # No copy was found: the item may have changed (removed, or its bytes lost) since
        # its record was read. Answer from its state now.
        now = await self.workers.run(self.workers.store.get, rec.id)
        if now is None or now.project_id != rec.project_id:
            raise NotFound(f"no item {rec.id!r} in project {rec.project_id!r}",
                           field="params.id") from None
        if now.sha256 == rec.sha256 and _has_bytes(now):
            try:
                return await self.workers.run(self.reader.read, now, offset, length)
            except NoBytes:
                pass
        raise _no_local_bytes(now) from None


def _no_local_bytes(rec: ItemRecord) -> NoLocalBytes:
    return NoLocalBytes(f"item {rec.id!r} has no local bytes ({rec.status})",
                        data={"status": rec.status})


def _has_bytes(rec: ItemRecord) -> bool:
    return rec.sha256 is not None and rec.size is not None and rec.status in BLOB_HOLDERS
