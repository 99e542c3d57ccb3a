"""The client half of the wire, sans I/O: a request's frames out, a server message's frames in.

Every Python peer (the client, the debugger CLI, the conformance harness, the benches, the
reliability tests) builds and opens messages here, as ``electron-shim/src/codec.ts`` and
``signing.ts`` do for TypeScript; ``sidecar.wire`` stays the shared codec and HMAC:

* ``now_ms`` (a request's ``ts``), ``RequestIds`` (ids unique per peer: a random tag and a
  counter), ``request_envelope`` (the one place a request envelope is written);
* ``seal``: ``[signature, envelope, *payloads]`` signed with the secret;
* ``open_message``: frames → signature checked (payload frames included: their lengths
  and sha256 are signed) → envelope decoded → shape checked → a ``ReceivedReply``,
  ``ReceivedError`` or ``ReceivedEvent``, or ``BadMessage``;
* ``Framer`` holds a peer's secret and ids and does all three.

No sockets, no event loop: callers send and receive the frames.
"""

from __future__ import annotations

import dataclasses
import itertools
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from sidecar.wire import signing
from sidecar.wire.codec import DecodeError, decode, encode

Json = dict[str, Any]
Payload = bytes | bytearray | memoryview
MAX_ENVELOPE_BYTES = 64 * 1024 * 1024  # a server envelope larger than this is refused


def now_ms() -> int:
    """Milliseconds since the Unix epoch: a request's ``ts``."""
    return int(time.time() * 1000)


class RequestIds:
    """Request ids ``<tag>-<n>``: the random tag keeps peers of one server apart."""

    def __init__(self, tag: str | None = None) -> None:
        self.tag = secrets.token_hex(4) if tag is None else tag
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self.tag}-{next(self._counter)}"


def request_envelope(method: str, params: Json | None, rid: str, ts: int | None = None,
                     ) -> Json:
    """A request envelope (``ts`` now unless given)."""
    return {"type": "request", "id": rid, "method": method,
            "params": {} if params is None else params, "ts": now_ms() if ts is None else ts}


def seal(secret: bytes, envelope: Json | bytes, payloads: Sequence[Payload] = (),
         ) -> list[Payload]:
    """``[signature, envelope, *payloads]``; ``envelope`` as a map, or already packed."""
    packed = envelope if isinstance(envelope, bytes) else encode(envelope)
    return [signing.sign(secret, packed, payloads), packed, *payloads]


class BadMessage(Exception):
    """A server message that cannot be trusted or read (the text says why)."""


class RemoteError(Exception):
    """An error reply: ``code`` is a protocol ErrorCode value; ``body`` the error map as
    sent; ``method`` (when the caller says) the method that failed."""

    def __init__(self, code: str, message: str, field: str | None = None,
                 data: dict[str, Any] | None = None, *, method: str | None = None,
                 body: Json | None = None) -> None:
        super().__init__(f"{method}: {code}: {message}" if method else f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.data = data
        self.method = method
        self.body: Json = body if body is not None else {
            "code": code, "message": message, "field": field, "data": data}


@dataclass(frozen=True)
class ReceivedReply:
    """The success of request ``id``, with its payload frames (readMediaRange's bytes)."""

    id: str
    result: Json
    raw: Json = dataclasses.field(repr=False)
    payloads: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class ReceivedError:
    """The failure of request ``id`` (None: the server could not read an id)."""

    id: str | None
    code: str
    message: str
    field: str | None
    data: Json | None
    raw: Json = dataclasses.field(repr=False)
    payloads: tuple[bytes, ...] = ()

    def exception(self, method: str | None = None) -> RemoteError:
        return RemoteError(self.code, self.message, self.field, self.data, method=method,
                           body=self.raw["error"])


@dataclass(frozen=True)
class ReceivedEvent:
    """An event sent to a subscribed session; ``seq`` grows by one per event."""

    event: str
    seq: int
    data: Json
    raw: Json = dataclasses.field(repr=False)
    payloads: tuple[bytes, ...] = ()


Received = ReceivedReply | ReceivedError | ReceivedEvent


def result_of(received: ReceivedReply | ReceivedError, method: str | None = None) -> Json:
    """The result of a reply; ``RemoteError`` for an error reply."""
    if isinstance(received, ReceivedError):
        raise received.exception(method)
    return received.result


def open_message(secret: bytes, frames: Sequence[bytes], *,
                 max_bytes: int = MAX_ENVELOPE_BYTES) -> Received:
    """One server message, checked and typed; ``BadMessage`` when it is not one."""
    if len(frames) < 2:
        raise BadMessage(f"a message of {len(frames)} frame(s)")
    signature, envelope, payloads = frames[0], frames[1], tuple(frames[2:])
    if not signing.verify(secret, signature, envelope, payloads):
        raise BadMessage("a wrong signature")
    try:
        msg = decode(envelope, max_bytes)
    except DecodeError as exc:
        raise BadMessage(f"an undecodable envelope: {exc}") from exc
    return _typed(msg, payloads)


def _typed(msg: Json, payloads: tuple[bytes, ...]) -> Received:
    """The shape check of ``codec.ts``'s ``checkServerEnvelope``."""
    if not _is_int(msg.get("ts")):
        raise BadMessage("an envelope whose ts is not an integer")
    kind = msg.get("type")
    if kind == "reply":
        rid, result = msg.get("id"), msg.get("result")
        if not isinstance(rid, str) or not isinstance(result, dict):
            raise BadMessage("a reply without a string id and a result map")
        return ReceivedReply(rid, result, msg, payloads)
    if kind == "error":
        rid, body = msg.get("id"), msg.get("error")
        if (rid is not None and not isinstance(rid, str)) or not isinstance(body, dict) \
                or not isinstance(body.get("code"), str) \
                or not isinstance(body.get("message"), str):
            raise BadMessage("an error without an id and an error {code, message}")
        where, data = body.get("field"), body.get("data")
        return ReceivedError(rid, body["code"], body["message"],
                             where if isinstance(where, str) else None,
                             data if isinstance(data, dict) else None, msg, payloads)
    if kind == "event":
        name, seq, data = msg.get("event"), msg.get("seq"), msg.get("data")
        if not isinstance(name, str) or not _is_int(seq) or seq < 1 \
                or not isinstance(data, dict):
            raise BadMessage("an event without a name, a positive seq and a data map")
        return ReceivedEvent(name, seq, data, msg, payloads)
    raise BadMessage(f"an envelope of unknown type {kind!r}")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class OutgoingRequest:
    """A request ready to send: its id and its signed frames."""

    id: str
    frames: list[Payload]


class Framer:
    """One peer's half of the wire: its secret, its request ids, its frames in and out."""

    def __init__(self, secret: bytes, *, ids: RequestIds | None = None) -> None:
        self.secret = secret
        self.ids = ids or RequestIds()

    def new_id(self) -> str:
        return self.ids.next()

    def envelope(self, method: str, params: Json | None = None, *, rid: str | None = None,
                 ts: int | None = None) -> Json:
        return request_envelope(method, params, rid or self.new_id(), ts)

    def seal(self, envelope: Json | bytes, payloads: Sequence[Payload] = (), *,
             key: bytes | None = None) -> list[Payload]:
        """Signed with this peer's secret, or with ``key`` (tests of a wrong one)."""
        return seal(self.secret if key is None else key, envelope, payloads)

    def request(self, method: str, params: Json | None = None,
                payloads: Sequence[Payload] = (), *, rid: str | None = None,
                ts: int | None = None) -> OutgoingRequest:
        env = self.envelope(method, params, rid=rid, ts=ts)
        return OutgoingRequest(env["id"], self.seal(env, payloads))

    def open(self, frames: Sequence[bytes]) -> Received:
        return open_message(self.secret, frames)
