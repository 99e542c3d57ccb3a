"""A raw protocol peer: one DEALER socket, full control of every frame it sends.

Everything the server sends is checked on arrival, whatever the case looks at: the
signature, the envelope schema, the result schema of the method the id was sent for (or,
for an error, that its code is documented for that method), the data schema of each
event, and that ``seq`` grows by one. A reply is matched by id; replies
that arrive early wait in a map, so cases may pipeline freely. Messages are built and opened
by the client's ``sidecar.client.frames``, like every peer's; cases build broken ones
from its primitives (``envelope``, ``frames`` with another key, raw bytes).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

import zmq

from sidecar.client.frames import (
    BadMessage,
    Framer,
    Json,
    Payload,
    ReceivedError,
    ReceivedEvent,
    ReceivedReply,
    RemoteError,
    now_ms,
    result_of,
)
from sidecar.tools.harness.outcome import CaseFailed
from sidecar.tools.harness.schemas import SchemaBook, SchemaViolation
from sidecar.tools.harness.target import Target

__all__ = ["NO_METHOD", "Json", "Payload", "Peer", "expect_error", "now_ms"]  # for the cases

NO_METHOD = ""  # sent frames whose method is not a protocol method


class Peer:
    def __init__(self, zctx: zmq.Context[zmq.Socket[bytes]], target: Target, book: SchemaBook,
                 *, timeout: float = 10.0) -> None:
        self.target = target
        self.book = book
        self.timeout = timeout
        self._sock = zctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.SNDHWM, 0)
        self._sock.setsockopt(zmq.RCVHWM, 0)
        self._sock.connect(target.endpoint)
        self.framer = Framer(target.secret)
        self._sent: dict[str, str] = {}  # id → method, for the result schema
        self._replies: dict[str, ReceivedReply | ReceivedError] = {}
        self._reply_payloads: dict[str, list[bytes]] = {}
        self._anonymous: deque[Json] = deque()  # error replies with id null
        self.events: deque[Json] = deque()
        self.arrivals: list[str] = []  # reply ids in arrival order
        self.last_seq: int | None = None
        self.hello_result: Json | None = None

    def close(self) -> None:
        self._sock.close(linger=0)

    # -- sending ---------------------------------------------------------------------------

    def new_id(self) -> str:
        return self.framer.new_id()

    def envelope(self, method: str, params: Json | None = None, *, rid: str | None = None,
                 ts: int | None = None) -> Json:
        return self.framer.envelope(method, params, rid=rid, ts=ts)

    def frames(self, envelope: Json | bytes, payloads: Sequence[Payload] = (), *,
               key: bytes | None = None) -> list[Payload]:
        """``[signature, envelope, *payloads]`` signed with ``key`` (the target's secret)."""
        return self.framer.seal(envelope, payloads, key=key)

    def send_frames(self, frames: Sequence[Payload], rid: str | None = None,
                    method: str = NO_METHOD) -> None:
        """Send prepared frames; a reply carrying ``rid`` is then expected and accepted."""
        if rid is not None:
            self._sent[rid] = method
        big = sum(memoryview(f).nbytes for f in frames) > 1 << 16
        self._sock.send_multipart(list(frames), copy=not big)

    def forget(self, rid: str) -> None:
        """Accept a new reply for ``rid`` (the same frames are about to be sent again)."""
        if rid in self.arrivals:
            self.arrivals.remove(rid)
        self._replies.pop(rid, None)

    def send(self, method: str, params: Json | None = None, payloads: Sequence[Payload] = (),
             *, rid: str | None = None, ts: int | None = None, key: bytes | None = None) -> str:
        env = self.envelope(method, params, rid=rid, ts=ts)
        self.send_frames(self.frames(env, payloads, key=key), env["id"], method)
        return str(env["id"])

    # -- receiving -------------------------------------------------------------------------

    def _pump(self, timeout: float) -> bool:
        """Receive and check one message; False when none came within ``timeout``."""
        if not self._sock.poll(max(int(timeout * 1000), 0), zmq.POLLIN):
            return False
        try:
            got = self.framer.open(self._sock.recv_multipart())
        except BadMessage as exc:
            raise CaseFailed(f"server sent {exc}") from exc
        msg = got.raw
        try:
            self.book.check_envelope(msg)
        except SchemaViolation as exc:
            raise CaseFailed(f"server message: {exc}") from exc
        if isinstance(got, ReceivedEvent):
            self._take_event(got)
            return True
        rid, payloads = got.id, got.payloads
        if rid is None:
            self._anonymous.append(msg)
            return True
        if rid not in self._sent:
            raise CaseFailed(f"reply for an id never sent: {rid!r}")
        method = self._sent[rid]
        if method in self.book.methods:
            try:
                if msg["type"] == "reply":
                    self.book.check_result(method, msg["result"])
                else:
                    self.book.check_error_code(method, msg["error"]["code"])
            except SchemaViolation as exc:
                raise CaseFailed(str(exc)) from exc
        self._check_payloads(method, msg, payloads)
        if rid in self.arrivals:
            raise CaseFailed(f"a second reply for request {rid}")
        self._replies[rid] = got
        if payloads:
            self._reply_payloads[rid] = list(payloads)
        self.arrivals.append(rid)
        return True

    def _check_payloads(self, method: str, msg: Json, payloads: Sequence[bytes]) -> None:
        """A reply of a method whose index entry says ``replyPayloads`` carries exactly one
        payload frame of ``result.length`` bytes; every other reply and error carries none
        (their signatures were checked over the frames already)."""
        spec = self.book.methods.get(method, {})
        if msg["type"] == "reply" and spec.get("replyPayloads"):
            if len(payloads) != 1:
                raise CaseFailed(f"{method} replied with {len(payloads)} payload frames, "
                                 "not one")
            length = msg["result"].get("length")
            if len(payloads[0]) != length:
                raise CaseFailed(f"{method}'s payload frame has {len(payloads[0])} bytes, "
                                 f"its result says {length}")
        elif payloads:
            raise CaseFailed(f"a {msg['type']} to {method or 'a raw message'} carries "
                             f"{len(payloads)} payload frame(s)")

    def _take_event(self, got: ReceivedEvent) -> None:
        try:
            self.book.check_event(got.event, got.data)
        except SchemaViolation as exc:
            raise CaseFailed(str(exc)) from exc
        if self.last_seq is not None and got.seq != self.last_seq + 1:
            raise CaseFailed(f"event seq {got.seq} after {self.last_seq} (must grow by one)")
        self.last_seq = got.seq
        self.events.append(got.raw)

    def _until(self, found: Callable[[], bool], timeout: float | None, what: str) -> None:
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while not found():
            left = deadline - time.monotonic()
            if left <= 0 or not self._pump(left):
                if found():
                    return
                raise CaseFailed(f"no {what} within {wait:g}s")

    def reply(self, rid: str, timeout: float | None = None) -> Json:
        """The reply or error envelope for ``rid``."""
        return self._received(rid, timeout).raw

    def _received(self, rid: str, timeout: float | None) -> ReceivedReply | ReceivedError:
        self._until(lambda: rid in self._replies, timeout, f"reply to request {rid}")
        return self._replies.pop(rid)

    def payloads_of(self, rid: str) -> list[bytes]:
        """The payload frames that came with the reply to ``rid`` (after ``reply``)."""
        return self._reply_payloads.pop(rid, [])

    def anonymous(self, timeout: float | None = None) -> Json:
        """The next error reply with ``id: null`` (a message too broken to carry an id)."""
        self._until(lambda: bool(self._anonymous), timeout, "error reply with id null")
        return self._anonymous.popleft()

    def reply_or_anonymous(self, rid: str, timeout: float | None = None) -> Json:
        """The reply for ``rid``, or an error reply with ``id: null``, whichever comes."""
        self._until(lambda: rid in self._replies or bool(self._anonymous), timeout,
                    f"reply to request {rid}")
        if rid in self._replies:
            return self._replies.pop(rid).raw
        return self._anonymous.popleft()

    def call(self, method: str, params: Json | None = None, payloads: Sequence[Payload] = (),
             *, timeout: float | None = None) -> Json:
        """The result of a request; raise RemoteError when the server answers an error."""
        result = result_of(self._received(self.send(method, params, payloads), timeout), method)
        if method == "subscribe" and self.last_seq is None:
            self.last_seq = int(result["seq"])
        return result

    def call_payloads(self, method: str, params: Json | None = None, *,
                      timeout: float | None = None) -> tuple[Json, list[bytes]]:
        """The result of a request and the payload frames of its reply."""
        rid = self.send(method, params)
        got = self._received(rid, timeout)
        frames = self.payloads_of(rid)
        return result_of(got, method), frames

    def error(self, method: str, params: Json | None = None, payloads: Sequence[Payload] = (),
              *, code: str, field: str | None = None, timeout: float | None = None) -> Json:
        """Call ``method`` and require the error ``code`` (and ``field`` when given)."""
        try:
            result = self.call(method, params, payloads, timeout=timeout)
        except RemoteError as exc:
            expect_error(exc.body, code, field, method)
            return exc.body
        raise CaseFailed(f"{method} succeeded ({_short(result)}) where {code} was expected")

    def event(self, name: str, where: Callable[[Json], bool] = lambda d: True,
              timeout: float | None = None) -> Json:
        """The next event called ``name`` whose data satisfies ``where`` (others are kept)."""
        def found() -> bool:
            return any(e["event"] == name and where(e["data"]) for e in self.events)

        self._until(found, timeout, f"{name} event")
        for e in list(self.events):
            if e["event"] == name and where(e["data"]):
                self.events.remove(e)
                return e
        raise AssertionError("unreachable")

    def hello(self, protocol: str | None = None) -> Json:
        result = self.call("hello", {"protocol": protocol or self.book.protocol_version,
                                     "client": {"name": "media-sidecar-harness",
                                                "version": "1"}})
        self.hello_result = result
        return result


def expect_error(body: Json, code: str, field: str | None, what: str) -> None:
    if body.get("code") != code:
        raise CaseFailed(f"{what}: expected {code}, got {body.get('code')}: "
                         f"{body.get('message')}")
    if field is not None and body.get("field") != field:
        raise CaseFailed(f"{what}: expected field {field!r}, got {body.get('field')!r}")


def _short(value: object, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
