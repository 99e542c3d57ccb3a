"""The request loop: receive, authenticate, dispatch with bounded concurrency, reply.

States: STARTING → SERVING → DRAINING → CLOSED. While draining, new requests are answered
``shutting_down`` and in-flight ones may finish until the drain deadline; then the rest are
cancelled (answered ``cancelled``). Transport details live in ``sidecar.transport``; this
module never touches the store.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import zmq

from protocol import EVENTS, PROTOCOL_VERSION, is_compatible
from protocol.core import (
    HelloParams,
    HelloResult,
    Limits,
    PingParams,
    PingResult,
    ServerInfo,
    ShutdownParams,
    ShutdownResult,
    SubscribeParams,
    SubscribeResult,
    UnsubscribeParams,
    UnsubscribeResult,
)
from protocol.envelope import ErrorReply, EventMessage
from protocol.errors import ErrorBody
from protocol.events import Event
from sidecar import __version__
from sidecar.auth import Authenticator
from sidecar.dispatch import CallContext, Handlers, WithPayload, error_body
from sidecar.errors import (
    Busy,
    Cancelled,
    InvalidParams,
    NotReady,
    ShuttingDown,
    VersionMismatch,
)
from sidecar.events import EventBus
from sidecar.inbound import (
    Inbound,
    InboundParser,
    Pending,
    Rejected,
    digest_of,
    is_plain_ping,
)
from sidecar.sessions import Sessions
from sidecar.settings import Settings
from sidecar.transport import Transport
from sidecar.wire.codec import encode

log = logging.getLogger("sidecar.server")


class State(enum.Enum):
    STARTING = "starting"
    SERVING = "serving"
    DRAINING = "draining"
    CLOSED = "closed"


def _now_ms() -> int:
    return int(time.time() * 1000)


class Server:
    def __init__(self, settings: Settings, transport: Transport, handlers: Handlers,
                 bus: EventBus, session_id: str) -> None:
        self.settings = settings
        self.state = State.STARTING
        self._transport = transport
        self._handlers = handlers
        self._bus = bus
        self._session_id = session_id
        self._auth = Authenticator(settings.secret, settings.replay_window_ms)
        self._parser = InboundParser(self._auth, settings.max_envelope_bytes, settings.max_frames)
        self._sessions = Sessions()
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._drain_timeout = settings.drain_timeout
        # Called once when draining begins (the media service pauses its downloads there).
        self.on_drain: list[Callable[[], None]] = []
        self._started = time.monotonic()
        self._register_core()
        self._remove_listener = bus.listen(self._on_event)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def request_stop(self, drain_timeout: float | None = None) -> None:
        """Begin draining (idempotent); ``serve`` returns once drained."""
        if drain_timeout is not None:
            self._drain_timeout = drain_timeout
        if self.state in (State.STARTING, State.SERVING):
            log.info("draining", extra={"in_flight": self.in_flight})
            self.state = State.DRAINING
            for hook in self.on_drain:
                hook()
        self._stop.set()

    async def serve(self) -> None:
        self.state = State.SERVING
        self._transport.start(asyncio.get_running_loop(), self._on_message)
        try:
            await self._stop.wait()
            await self._drain()
        finally:
            self._transport.stop_receiving()
            self._remove_listener()
            self.state = State.CLOSED

    async def _drain(self) -> None:
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self._drain_timeout)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("drain timeout: cancelled %d requests", len(pending))
                await asyncio.wait(pending, timeout=2.0)

    # -- receiving -------------------------------------------------------------------------

    def _on_message(self, frames: list[zmq.Frame | bytes]) -> None:
        parser = self._parser
        try:
            pending = parser.split(frames)
            if pending.hash_off_loop:
                self._spawn(self._hash_then_dispatch(pending, self.state is State.SERVING))
                return
            digest = digest_of(pending)
            parser.authenticate(pending, digest)
            if (not pending.payloads and self.state is State.SERVING
                    and is_plain_ping(pending.raw)):
                session = self._sessions.get(pending.identity)
                if session.ready:  # the fast path: answered before any queued work
                    self._send(pending.identity, self.ping_reply(str(pending.request_id)))
                    return
            inbound = parser.validate(pending, digest)
        except Rejected as rej:
            self._reject(rej)
            return
        self._spawn(self._dispatch(inbound, self.state is State.SERVING))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hash_then_dispatch(self, pending: Pending, accepted: bool) -> None:
        digest = await asyncio.to_thread(digest_of, pending)
        try:
            inbound = self._parser.finish(pending, digest)
        except Rejected as rej:
            self._reject(rej)
            return
        await self._dispatch(inbound, accepted)

    def _reject(self, rej: Rejected) -> None:
        log.info("rejected message: %s", rej.error.message,
                 extra={"code": rej.error.code.value, "request_id": rej.request_id})
        self._send_error(rej.identity, rej.request_id, error_body(rej.error, rej.request_id))

    async def _dispatch(self, inbound: Inbound, accepted: bool) -> None:
        """``accepted``: the message arrived while serving. Work received before a drain
        began is finished; only what arrives after it is refused."""
        req = inbound.request
        session = self._sessions.get(inbound.identity)
        try:
            if not accepted:
                raise ShuttingDown("the server is shutting down")
            if not session.ready and req.method != "hello":
                raise NotReady("call hello first")
            if session.in_flight >= self.settings.max_in_flight_per_client:
                raise Busy(f"more than {self.settings.max_in_flight_per_client} requests "
                           "in flight for this client")
            params = self._handlers.params_for(req.method, req.params)
            if inbound.payloads and not _accepts_payloads(req.method):
                raise InvalidParams(f"{req.method} takes no binary payload frames",
                                    field="payloads")
            ctx = CallContext(req.id, inbound.identity, inbound.payloads,
                              inbound.payload_sha256 if inbound.payloads else None,
                              inbound.payload_size)
            session.in_flight += 1
            try:
                if req.method == "ping":
                    result = await self._handlers.call(req.method, ctx, params)
                else:
                    async with self._slots:
                        result = await self._handlers.call(req.method, ctx, params)
            finally:
                session.in_flight -= 1
        except asyncio.CancelledError:
            self._send_error(inbound.identity, req.id,
                             error_body(Cancelled("cancelled by shutdown"), req.id))
            raise
        except Exception as exc:
            self._send_error(inbound.identity, req.id, error_body(exc, req.id))
            return
        # Reply(...).model_dump() without the model: the fields are already valid here.
        envelope = {"type": "reply", "id": req.id, "result": result.wire(), "ts": _now_ms()}
        if isinstance(result, WithPayload):
            self._send(inbound.identity, envelope, result.payloads, result.digest)
        else:
            self._send(inbound.identity, envelope)

    # -- sending ---------------------------------------------------------------------------

    def _send(self, identity: bytes, envelope: dict[str, Any],
              payloads: Sequence[bytes | bytearray | memoryview] = (),
              digest: bytes | None = None) -> None:
        """Sign and send; reply payload frames are signed like request payloads (their
        lengths and sha256 are in the signed text)."""
        packed = encode(envelope)
        self._transport.send(identity, self._auth.sign(packed, payloads, digest), packed,
                             *payloads)

    def ping_reply(self, request_id: str) -> dict[str, Any]:
        """The fast path's reply envelope: ``Reply`` of ``PingResult.wire()`` built without
        the models (a test checks that the two agree)."""
        now = _now_ms()
        return {"type": "reply", "id": request_id, "result": {
            "pong": True, "time": now,
            "uptimeMs": int((time.monotonic() - self._started) * 1000)}, "ts": now}

    def _send_error(self, identity: bytes, request_id: str | None, body: ErrorBody) -> None:
        msg = ErrorReply(type="error", id=request_id, error=body, ts=_now_ms())
        self._send(identity, msg.model_dump(mode="json", by_alias=True))

    def _on_event(self, event: Event) -> None:
        data: dict[str, object] | None = None
        for session in self._sessions.subscribers():
            if session.wants(event):
                if data is None:
                    data = event.wire()
                msg = EventMessage(type="event", event=event.name, seq=session.next_seq(),
                                   data=data, ts=_now_ms())
                self._send(session.identity, msg.model_dump())

    # -- the session's own methods ---------------------------------------------------------

    def _register_core(self) -> None:
        h = self._handlers
        h.add("hello", self._hello)
        h.add("ping", self._ping)
        h.add("shutdown", self._shutdown)
        h.add("subscribe", self._subscribe)
        h.add("unsubscribe", self._unsubscribe)

    async def _hello(self, ctx: CallContext, p: HelloParams) -> HelloResult:
        if not is_compatible(p.protocol):
            raise VersionMismatch(
                f"client protocol {p.protocol} is incompatible with {PROTOCOL_VERSION}",
                field="params.protocol", data={"server": PROTOCOL_VERSION})
        session = self._sessions.get(ctx.client)
        session.ready = True
        session.client_name = p.client.name if p.client else ""
        s = self.settings
        return HelloResult(
            server=ServerInfo(name="media-sidecar", version=__version__),
            protocol=PROTOCOL_VERSION,
            session=self._session_id,
            methods=self._handlers.names(),
            events=list(EVENTS),
            limits=Limits(
                max_envelope_bytes=s.max_envelope_bytes, max_frame_bytes=s.max_frame_bytes,
                max_frames=s.max_frames, max_in_flight=s.max_in_flight_per_client,
                max_in_flight_server=s.max_in_flight,
                max_metadata_bytes=s.store.max_metadata_bytes,
                max_download_bytes=s.fetch.max_bytes,
                replay_window_ms=s.replay_window_ms, max_range_bytes=s.range_limit),
            features={"testHooks": s.enable_test_hooks,
                      "rollbackOnFailure": s.store.rollback_on_failure,
                      "downloads": True},
            data_dir=str(s.data_dir),
        )

    async def _ping(self, ctx: CallContext, p: PingParams) -> PingResult:
        return self._ping_result()

    def _ping_result(self) -> PingResult:
        return PingResult(pong=True, time=_now_ms(),
                          uptime_ms=int((time.monotonic() - self._started) * 1000))

    async def _shutdown(self, ctx: CallContext, p: ShutdownParams) -> ShutdownResult:
        in_flight = self.in_flight - 1
        # Stop after this reply is sent: the reply is queued before the drain begins.
        asyncio.get_running_loop().call_soon(self.request_stop, p.drain_timeout_ms / 1000)
        return ShutdownResult(accepted=True, in_flight=max(in_flight, 0))

    async def _subscribe(self, ctx: CallContext, p: SubscribeParams) -> SubscribeResult:
        unknown = [e for e in p.events if e not in EVENTS]
        if unknown:
            raise InvalidParams(f"unknown event {unknown[0]!r}", field="params.events")
        session = self._sessions.get(ctx.client)
        session.subscribed = True
        session.events = frozenset(p.events)
        session.project_id = p.project_id
        return SubscribeResult(events=sorted(session.events) or list(EVENTS),
                               project_id=p.project_id, seq=session.seq)

    async def _unsubscribe(self, ctx: CallContext, p: UnsubscribeParams) -> UnsubscribeResult:
        session = self._sessions.get(ctx.client)
        was = session.subscribed
        session.subscribed = False
        return UnsubscribeResult(unsubscribed=was)


def _accepts_payloads(method: str) -> bool:
    from protocol import METHODS

    spec = METHODS.get(method)
    return spec is not None and spec.payloads
