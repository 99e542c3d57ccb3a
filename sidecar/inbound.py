"""Frames in → an authenticated, validated request (or a typed error). No I/O here.

Order matters: the envelope is decoded first only so that an error can name the request
id; nothing in it is acted on before the signature, the freshness and the replay check pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import zmq
from pydantic import ValidationError

from protocol.envelope import Request
from sidecar.auth import Authenticator
from sidecar.errors import InvalidRequest, PayloadTooLarge, SidecarError
from sidecar.wire.codec import DecodeError, decode, peek_id
from sidecar.wire.signing import EMPTY_DIGEST

HASH_OFF_LOOP_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Inbound:
    identity: bytes
    request: Request
    payloads: tuple[memoryview, ...]
    payload_sha256: str
    payload_size: int


class Rejected(Exception):
    """A message that gets an error reply; ``request_id`` is None when none could be read."""

    def __init__(self, identity: bytes, request_id: str | None, error: SidecarError) -> None:
        super().__init__(error.message)
        self.identity = identity
        self.request_id = request_id
        self.error = error


def _buf(frame: zmq.Frame | bytes) -> memoryview:
    return frame.buffer if isinstance(frame, zmq.Frame) else memoryview(frame)


def _small(frame: zmq.Frame | bytes) -> memoryview | bytes:
    """The signature or envelope frame as is (the transport receives those as bytes)."""
    return frame if isinstance(frame, bytes) else frame.buffer


def _digest(payloads: tuple[memoryview, ...]) -> bytes:
    if not payloads:
        return EMPTY_DIGEST
    h = hashlib.sha256()
    for p in payloads:
        h.update(p)
    return h.digest()


@dataclass(slots=True)
class Pending:
    """A message split into frames, its envelope decoded but not yet trusted.

    Not frozen: a frozen dataclass pays ``object.__setattr__`` per field, and one is built
    for every message."""

    identity: bytes
    request_id: str | None
    signature: memoryview | bytes
    envelope: memoryview | bytes
    raw: dict[str, object]
    payloads: tuple[memoryview, ...]
    size: int

    @property
    def hash_off_loop(self) -> bool:
        return self.size >= HASH_OFF_LOOP_BYTES


def is_plain_ping(raw: dict[str, object]) -> bool:
    """Whether ``raw`` is exactly an envelope ``Request`` accepts for ``ping`` with no params
    (so the fast path may skip building the model; anything else goes through it)."""
    if raw.get("method") != "ping" or raw.get("type") != "request":
        return False
    ts, rid = raw.get("ts"), raw.get("id")
    if type(ts) is not int or ts < 0 or type(rid) is not str or not 0 < len(rid) <= 128:
        return False
    if "params" in raw:
        params = raw["params"]
        return type(params) is dict and not params and len(raw) == 5
    return len(raw) == 4


def digest_of(pending: Pending) -> bytes:
    return _digest(pending.payloads)


class InboundParser:
    def __init__(self, auth: Authenticator, max_envelope_bytes: int, max_frames: int) -> None:
        self._auth = auth
        self._max_envelope = max_envelope_bytes
        self._max_frames = max_frames

    def split(self, frames: Sequence[zmq.Frame | bytes]) -> Pending:
        first = frames[0]
        identity = first if isinstance(first, bytes) else bytes(_buf(first))
        if len(frames) < 3:
            raise Rejected(identity, None, InvalidRequest(
                "a message is [signature, envelope, *payloads]: too few frames"))
        signature, envelope = _small(frames[1]), _small(frames[2])
        payloads = tuple(_buf(f) for f in frames[3:])
        try:
            raw = decode(envelope, self._max_envelope)
        except DecodeError as exc:
            if len(envelope) > self._max_envelope:
                raise Rejected(identity, peek_id(envelope), PayloadTooLarge(str(exc))) from exc
            raise Rejected(identity, None, InvalidRequest(str(exc))) from exc
        rid = raw.get("id")
        request_id = rid if isinstance(rid, str) and 0 < len(rid) <= 128 else None
        if len(payloads) > self._max_frames:
            raise Rejected(identity, request_id, PayloadTooLarge(
                f"{len(payloads)} payload frames exceed the limit of {self._max_frames}"))
        size = sum(p.nbytes for p in payloads)
        return Pending(identity, request_id, signature, envelope, raw, payloads, size)

    def finish(self, pending: Pending, digest: bytes) -> Inbound:
        """Authenticate, then validate the envelope."""
        self.authenticate(pending, digest)
        return self.validate(pending, digest)

    def authenticate(self, pending: Pending, digest: bytes) -> None:
        """Signature, freshness and replay; raise Rejected unless all pass."""
        try:
            self._auth.check(pending.signature, pending.envelope, pending.payloads, digest,
                             pending.raw.get("ts"))
        except SidecarError as exc:
            raise Rejected(pending.identity, pending.request_id, exc) from exc

    def validate(self, pending: Pending, digest: bytes) -> Inbound:
        """The envelope of an authenticated message as a ``Request`` (or Rejected)."""
        try:
            request = Request.model_validate(pending.raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "envelope"
            raise Rejected(pending.identity, pending.request_id, InvalidRequest(
                f"envelope.{where}: {first['msg']}", field=f"envelope.{where}")) from exc
        return Inbound(pending.identity, request, pending.payloads, digest.hex(), pending.size)
