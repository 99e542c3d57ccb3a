"""Deliberate defects for proving the harness honest (test-only; never shipped).

A test starts the real server with one defect applied in that child process only:

    python -c "from tests.contract.mutants import serve; serve()" <defect> serve --data-dir ...

``apply(name)`` monkeypatches the server's own code, so the product carries no defect
switch. Each defect names the harness case that must catch it (``CAUGHT_BY``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def _reply_missing_field() -> None:
    from protocol.base import Result
    from protocol.media import AddMediaItemResult

    original = Result.wire

    def wire(self: Result) -> dict[str, object]:
        out = original(self)
        if isinstance(self, AddMediaItemResult):
            out.pop("durable", None)
        return out

    Result.wire = wire  # type: ignore[method-assign]


def _wrong_error_code() -> None:
    from protocol.errors import ErrorCode
    from sidecar.errors import NotFound

    NotFound.code = ErrorCode.INVALID_PARAMS


def _leak_get_other_project() -> None:
    from sidecar.service.workers import StoreWorkers

    original = StoreWorkers.owned

    async def owned(self: StoreWorkers, item_id: str, project_id: str | None) -> Any:
        return await original(self, item_id, None)

    StoreWorkers.owned = owned  # type: ignore[method-assign]


def _leak_list_other_project() -> None:
    from sidecar.store.query import ListQuery

    original = ListQuery.sql

    def sql(self: ListQuery, columns: str, fetch: int, rowids: str | None = None
            ) -> tuple[str, list[Any]]:
        text, args = original(self, columns, fetch, rowids)
        return text.replace("project_id = ?", "(project_id = ? OR 1 = 1)", 1), args

    ListQuery.sql = sql  # type: ignore[method-assign]


def _event_not_sent() -> None:
    from protocol.events import Event, ItemAdded
    from sidecar.events import EventBus

    original = EventBus.emit

    def emit(self: EventBus, event: Event) -> None:
        if not isinstance(event, ItemAdded):
            original(self, event)

    EventBus.emit = emit  # type: ignore[method-assign]


def _auth_not_checked() -> None:
    from sidecar.rpc.auth import Authenticator

    def verify(self: Authenticator, *args: Any, **kwargs: Any) -> bool:
        return True

    Authenticator.verify = verify  # type: ignore[method-assign]


def _replay_not_refused() -> None:
    import time

    from sidecar.rpc.auth import Authenticator

    def admit(self: Authenticator, signature: Any, ts: object, *,
              arrived_ms: int | None = None) -> str | None:
        if not isinstance(ts, int) or abs(int(time.time() * 1000) - ts) > 30_000:
            return "request timestamp outside the replay window"
        return None  # the seen-set is never consulted

    Authenticator.admit = admit  # type: ignore[method-assign]


def _no_version_check() -> None:
    import sidecar.rpc.server

    sidecar.rpc.server.is_compatible = lambda *args: True  # type: ignore[attr-defined]


def _seq_skips() -> None:
    from sidecar.rpc.sessions import Session

    def next_seq(self: Session) -> int:
        self.seq += 2
        return self.seq

    Session.next_seq = next_seq  # type: ignore[method-assign]


def _replies_wrongly_signed() -> None:
    from sidecar.rpc.auth import Authenticator
    from sidecar.wire import signing

    def sign(self: Authenticator, envelope: bytes, payloads: Any = (),
             digest: bytes | None = None) -> bytes:
        return signing.sign(b"some other key", envelope, payloads, digest)

    Authenticator.sign = sign  # type: ignore[method-assign]


def _range_off_by_one() -> None:
    from sidecar.store.reading import Chunk, RangeReader
    from sidecar.store.records import ItemRecord

    original = RangeReader.read

    def read(self: RangeReader, rec: ItemRecord, offset: int, length: int) -> Chunk:
        shifted = offset + 1 if offset + 1 < (rec.size or 0) else offset
        chunk = original(self, rec, shifted, length)
        return Chunk(offset, chunk.data, chunk.digest)  # the bytes of the next offset

    RangeReader.read = read  # type: ignore[method-assign]


def _reply_payload_unsigned() -> None:
    from sidecar.rpc.auth import Authenticator
    from sidecar.wire import signing

    def sign(self: Authenticator, envelope: bytes, payloads: Any = (),
             digest: bytes | None = None) -> bytes:
        return signing.sign(self.key, envelope)  # the payload frames left out

    Authenticator.sign = sign  # type: ignore[method-assign]


DEFECTS: dict[str, Callable[[], None]] = {
    "reply_missing_field": _reply_missing_field,
    "wrong_error_code": _wrong_error_code,
    "leak_get_other_project": _leak_get_other_project,
    "leak_list_other_project": _leak_list_other_project,
    "event_not_sent": _event_not_sent,
    "auth_not_checked": _auth_not_checked,
    "replay_not_refused": _replay_not_refused,
    "no_version_check": _no_version_check,
    "seq_skips": _seq_skips,
    "replies_wrongly_signed": _replies_wrongly_signed,
    "range_off_by_one": _range_off_by_one,
    "reply_payload_unsigned": _reply_payload_unsigned,
}

# defect → (the harness case that must fail, a phrase of its failure message)
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "reply_missing_field": ("methods.addMediaItem_inline", "'durable' is a required property"),
    "wrong_error_code": ("errors.not_found", "expected not_found, got invalid_params"),
    "leak_get_other_project": ("isolation.get_remove_retry_through_another_project",
                               "getMediaItem succeeded"),
    "leak_list_other_project": ("isolation.list_shows_only_its_project",
                                "returned an item of"),
    "event_not_sent": ("events.add_emits_itemAdded_with_the_next_seq", "no itemAdded event"),
    "auth_not_checked": ("auth.wrong_secret_refused", "wrong secret: the request succeeded"),
    "replay_not_refused": ("auth.replayed_message_refused", "a replayed remove was served"),
    "no_version_check": ("session.version_mismatch", "hello succeeded"),
    "seq_skips": ("events.seq_grows_by_one", "must grow by one"),
    "replies_wrongly_signed": ("session.reachable", "wrong signature"),
    "range_off_by_one": ("playback.range_edges", "the first byte is wrong"),
    "reply_payload_unsigned": ("playback.range_edges", "wrong signature"),
}


def apply(name: str) -> None:
    DEFECTS[name]()


def serve() -> None:
    """``python -c ... <defect> serve ...``: apply the defect, then run the normal CLI."""
    name = sys.argv.pop(1)
    apply(name)
    from sidecar.cli.main import main

    sys.exit(main())
