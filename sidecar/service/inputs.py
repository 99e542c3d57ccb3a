"""Checks of ``addMediaItem`` input beyond the schema: which byte source, metadata size and
shape, text fields, URLs. Every refusal is a typed error naming the field; nothing is
written before these checks pass."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

from protocol.media import AddMediaItemParams
from sidecar.errors import HostNotAllowed, InvalidParams, PayloadTooLarge
from sidecar.rpc.dispatch import CallContext
from sidecar.service.convert import DERIVED_KEYS

Kind = Literal["inline", "path", "download", "urlOnly"]


class UrlChecker(Protocol):
    def check_url(self, url: str) -> None: ...


@dataclass(frozen=True)
class AddPlan:
    kind: Kind
    metadata: str  # JSON text, derived flags removed
    inline_sha256: str | None = None
    inline_size: int = 0


def check_text(value: str | None, field: str) -> None:
    if value is None:
        return
    if "\0" in value:
        raise InvalidParams(f"{field} contains a NUL byte", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParams(f"{field} is not valid UTF-8 text", field=field) from None


def metadata_json(metadata: dict[str, object], limit: int) -> str:
    """The metadata as stored (compact JSON, the seeds' derived flags dropped)."""
    meta = {k: v for k, v in metadata.items() if k not in DERIVED_KEYS}
    try:
        text = json.dumps(meta, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        size = len(text.encode("utf-8"))
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError) as exc:
        raise InvalidParams(f"params.metadata must be JSON-compatible: {exc}",
                            field="params.metadata") from None
    if size > limit:
        raise PayloadTooLarge(f"params.metadata is {size} bytes, the limit is {limit}",
                              field="params.metadata", data={"limit": limit, "size": size})
    return text


def check_source_url(url: str, fetcher: UrlChecker | None) -> None:
    field = "params.sourceUrl"
    check_text(url, field)
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise InvalidParams("sourceUrl contains whitespace or control characters", field=field)
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise InvalidParams("sourceUrl is not a valid URL", field=field) from None
    if parts.scheme not in ("http", "https"):
        raise HostNotAllowed(f"sourceUrl scheme {parts.scheme!r} is not allowed", field=field)
    if not host:
        raise InvalidParams("sourceUrl has no host", field=field)
    if fetcher is not None:
        fetcher.check_url(url)


def payload_sha256(payloads: Sequence[memoryview]) -> str:
    digest = hashlib.sha256()
    for p in payloads:
        digest.update(p)
    return digest.hexdigest()


def plan_add(ctx: CallContext, p: AddMediaItemParams, *, max_metadata_bytes: int,
             fetcher: UrlChecker | None) -> AddPlan:
    """Which byte source this add uses; every input refusal happens here."""
    check_text(p.name, "params.name")
    check_text(p.mime_type, "params.mimeType")
    for i, folder in enumerate(p.folder_ids):
        check_text(folder, f"params.folderIds.{i}")
    meta = metadata_json(p.metadata, max_metadata_bytes)
    inline = len(ctx.payloads) > 0
    has_path = p.source_path is not None
    if inline and has_path:
        raise InvalidParams("exactly one byte source: payload frames or sourcePath, not both",
                            field="params.sourcePath")
    if p.download:
        if p.source_url is None:
            raise InvalidParams("download needs a sourceUrl", field="params.download")
        if inline or has_path:
            raise InvalidParams("download excludes payload frames and sourcePath",
                                field="params.download")
    if p.source_url is not None:
        check_source_url(p.source_url, fetcher)
    if inline:
        sha = ctx.payload_sha256
        size = ctx.payload_size or sum(m.nbytes for m in ctx.payloads)
        if sha is None:  # called in-process without the transport's hash
            sha = payload_sha256(ctx.payloads)
        if p.expected_sha256 is not None and p.expected_sha256 != sha:
            raise InvalidParams(f"the payload hashes to {sha}, not expectedSha256",
                                field="params.expectedSha256")
        return AddPlan("inline", meta, sha, size)
    if has_path:
        return AddPlan("path", meta)
    if p.source_url is None:
        raise InvalidParams("no bytes: send payload frames, sourcePath or sourceUrl",
                            field="params.sourceUrl")
    if p.download:
        return AddPlan("download", meta)
    if p.expected_sha256 is not None:
        raise InvalidParams("expectedSha256 needs bytes (payload, sourcePath or download)",
                            field="params.expectedSha256")
    return AddPlan("urlOnly", meta)
