"""Frames in → an authenticated, validated request (or a typed error). No I/O here.

Order matters, cheapest and safest first, so that a peer without the secret costs little:

1. ``split``: frame count, envelope size, payload count and the payloads' total size
   (the per-message budget, ``maxFrameBytes``): all read from lengths, nothing decoded or
   hashed. An oversize envelope is refused without being parsed.
2. The caller refuses payload frames from a connection that has not completed ``hello``
   (hello has none), before hashing them; large payloads of a ready session are hashed in
   a thread under a global budget (``sidecar.rpc.server``).
3. ``authenticate``: the HMAC is checked *before* the envelope is unpacked; only an
   authentic envelope is decoded, then its freshness and replay are checked. The id of an
   error reply for an envelope that is not authentic (or not read at all) comes from
   ``peek_id``, which reads only the envelope's first 64 KiB and builds no container.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import zmq
from pydantic import ValidationError

from protocol.envelope import Request
from sidecar.errors import InvalidRequest, PayloadTooLarge, SidecarError, Unauthorized
from sidecar.rpc.auth import Authenticator
from sidecar.rpc.early import source_fd
from sidecar.wire import signing
from sidecar.wire.codec import DecodeError, decode, peek_id

HASH_OFF_LOOP_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Inbound:
    identity: bytes
    request: Request
    payloads: tuple[memoryview, ...]
    payload_sha256: str
    payload_size: int
    fd: int = -1  # the connection's file descriptor (libzmq's ZMQ_SRCFD), -1 if unknown


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


@dataclass(slots=True)
class Pending:
    """A message split into frames, nothing in it trusted yet; ``raw`` is the envelope once
    ``authenticate`` has verified and decoded it.

    Not frozen: a frozen dataclass pays ``object.__setattr__`` per field, and one is built
    for every message."""

    identity: bytes
    signature: memoryview | bytes
    envelope: memoryview | bytes
    payloads: tuple[memoryview, ...]
    size: int
    fd: int
    raw: dict[str, object] | None = None
    arrived_ms: int | None = None  # set for a message held while the sidecar loaded

    @property
    def hash_off_loop(self) -> bool:
        return self.size >= HASH_OFF_LOOP_BYTES

    @property
    def request_id(self) -> str | None:
        """The id for an error reply: from the decoded envelope once authentic, else peeked
        from the envelope's head without building anything but a short string."""
        if self.raw is not None:
            rid = self.raw.get("id")
            return rid if isinstance(rid, str) and 0 < len(rid) <= 128 else None
        return peek_id(self.envelope)


def digest_of(pending: Pending) -> bytes:
    return signing.payload_digest(pending.payloads)


class InboundParser:
    def __init__(self, auth: Authenticator, max_envelope_bytes: int, max_frames: int,
                 max_message_bytes: int | None = None) -> None:
        self._auth = auth
        self._max_envelope = max_envelope_bytes
        self._max_frames = max_frames
        self._max_message = max_message_bytes

    def split(self, frames: Sequence[zmq.Frame | bytes]) -> Pending:
        """Lengths only: nothing is decoded or hashed here."""
        first = frames[0]
        identity = first if isinstance(first, bytes) else first.bytes
        if len(frames) < 3:
            raise Rejected(identity, None, InvalidRequest(
                "a message is [signature, envelope, *payloads]: too few frames"))
        signature, envelope = _small(frames[1]), _small(frames[2])
        size_env = len(envelope)
        if size_env > self._max_envelope:  # never parsed: its id is peeked from its head
            raise Rejected(identity, peek_id(envelope), PayloadTooLarge(
                f"envelope of {size_env} bytes exceeds {self._max_envelope}"))
        pending = Pending(identity, signature, envelope, (), 0, source_fd(first))
        n = len(frames) - 3
        if n == 0:
            return pending
        if n > self._max_frames:
            raise Rejected(identity, pending.request_id, PayloadTooLarge(
                f"{n} payload frames exceed the limit of {self._max_frames}"))
        payloads = tuple(_buf(f) for f in frames[3:])
        size = sum(p.nbytes for p in payloads)
        if self._max_message is not None and size > self._max_message:
            raise Rejected(identity, pending.request_id, PayloadTooLarge(
                f"{size} payload bytes in one message exceed the limit of "
                f"{self._max_message}"))
        pending.payloads = payloads
        pending.size = size
        return pending

    def finish(self, pending: Pending, digest: bytes) -> Inbound:
        """Authenticate, then validate the envelope."""
        self.authenticate(pending, digest)
        return self.validate(pending, digest)

    def authenticate(self, pending: Pending, digest: bytes) -> None:
        """Signature first (the envelope is decoded only when it is authentic), then
        freshness and replay; raise Rejected unless all pass."""
        if not self._auth.verify(pending.signature, pending.envelope, pending.payloads,
                                 digest):
            raise Rejected(pending.identity, pending.request_id,
                           Unauthorized("bad or missing signature"))
        raw = pending.raw = self._decode(pending)
        why = self._auth.admit(pending.signature, raw.get("ts"), arrived_ms=pending.arrived_ms)
        if why is not None:
            raise Rejected(pending.identity, pending.request_id, Unauthorized(why))

    def _decode(self, pending: Pending) -> dict[str, object]:
        try:
            return decode(pending.envelope, self._max_envelope)
        except DecodeError as exc:  # signed garbage: the key holder's own bug
            raise Rejected(pending.identity, None, InvalidRequest(str(exc))) from exc

    def validate(self, pending: Pending, digest: bytes) -> Inbound:
        """The envelope of an authenticated message as a ``Request`` (or Rejected)."""
        try:
            request = Request.model_validate(pending.raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "envelope"
            raise Rejected(pending.identity, pending.request_id, InvalidRequest(
                f"envelope.{where}: {first['msg']}", field=f"envelope.{where}")) from exc
        return Inbound(pending.identity, request, pending.payloads, digest.hex(), pending.size,
                       pending.fd)
