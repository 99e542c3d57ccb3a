"""The request loop: receive, authenticate, dispatch with bounded concurrency, reply.

States: STARTING → SERVING → DRAINING → CLOSED. While draining, new requests are answered
``shutting_down`` and in-flight ones may finish until the drain deadline; then the rest are
cancelled (answered ``cancelled``). Router details live in ``sidecar.rpc.router``; this
module never touches the store.

Capacity: control requests (``CONTROL``: hello, ping, cancelDownload, shutdown, subscribe,
unsubscribe) take no slot and are never answered ``busy``, so a full pool cannot starve
them; other requests take one of ``max_in_flight`` slots and count towards the client's
``max_in_flight_per_client``, except while their handler waits on something outside the
process (``async with ctx.idle():`` a download waiting on the network).

Hostile input (see ``sidecar.rpc.inbound`` for the order of checks): payload frames from a
connection without a session are refused before they are hashed; payloads of at least
1 MiB are hashed in a thread, and all such bytes waiting for their signature check are
bounded together (``max_unverified_bytes``: beyond it, ``busy``). Events to a subscriber
are bounded in bytes (``event_budget_bytes``): when the peer does not drain its socket the
event is dropped and its ``seq`` is skipped (the gap the protocol defines).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from typing import Any

from protocol import EVENTS, METHODS, PROTOCOL_VERSION, is_compatible
from protocol.control import (
    HelloParams,
    PingParams,
    PingResult,
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
from sidecar.errors import (
    Busy,
    Cancelled,
    InvalidParams,
    NotReady,
    ShuttingDown,
    VersionMismatch,
)
from sidecar.events import EventBus
from sidecar.rpc.auth import Authenticator
from sidecar.rpc.connections import send_queue_bytes
from sidecar.rpc.dispatch import (
    CallContext,
    Handlers,
    Land,
    LandedPayload,
    Prebuilt,
    WithPayload,
    error_body,
)
from sidecar.rpc.early import (
    Frames,
    Lobby,
    forget_connection,
    hello_result,
    is_plain_ping,
    now_ms,
    open_session,
    ping_envelope,
    reply_envelope,
)
from sidecar.rpc.inbound import Inbound, InboundParser, Pending, Rejected, digest_of
from sidecar.rpc.router import Router
from sidecar.rpc.sessions import Session, Sessions
from sidecar.settings import Settings
from sidecar.wire.codec import encode
from sidecar.wire.signing import EMPTY_DIGEST

log = logging.getLogger("sidecar.rpc.server")

# Requests that take no slot and are never refused busy (they do no I/O of their own).
CONTROL = frozenset({"hello", "ping", "cancelDownload", "shutdown", "subscribe",
                     "unsubscribe"})
# A subscriber whose kernel send queue is under this has drained what it was sent.
DRAINED_BYTES = 64 * 1024
# Reply payload bytes (readMediaRange) a client may leave unread before its next such request
# is answered busy: libzmq bounds its queue to a peer in messages, not bytes.
REPLY_BUDGET_BYTES = 64 * 1024 * 1024
_PAYLOAD_REPLIES = frozenset(m.name for m in METHODS.values() if m.reply_payloads)
LOG_INTERVAL = 5.0


class State(enum.Enum):
    STARTING = "starting"
    SERVING = "serving"
    DRAINING = "draining"
    CLOSED = "closed"


class Lease:
    """A request's slot (one of the server's, one of its client's), which its handler may
    give back while it waits on something outside the process."""

    __slots__ = ("_held", "_server", "_session")

    def __init__(self, server: Server, session: Session) -> None:
        self._server = server
        self._session = session
        self._held = False

    async def acquire(self) -> None:
        await self._server._slots.acquire()
        self._session.in_flight += 1
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._session.in_flight -= 1
            self._server._slots.release()

    @contextlib.asynccontextmanager
    async def released(self) -> AsyncIterator[None]:
        """``CallContext.idle``: the slot is free while the block waits. A block that ends
        by an exception (a cancel at shutdown) does not wait for a slot again."""
        self.release()
        yield
        await self.acquire()


class Server:
    """``lobby``: the early stage that received while the sidecar loaded (its sessions,
    authenticator and held messages carry over; ``sidecar.rpc.early``)."""

    def __init__(self, settings: Settings, transport: Router, handlers: Handlers,
                 bus: EventBus, session_id: str, *, lobby: Lobby | None = None) -> None:
        self.settings = settings
        self.state = State.STARTING
        self._transport = transport
        self._handlers = handlers
        self._bus = bus
        self._session_id = session_id
        # Requests signed before this server started are refused (replay across a restart).
        self._auth = lobby.auth if lobby else Authenticator(
            settings.secret, settings.replay_window_ms, not_before_ms=now_ms())
        self._parser = InboundParser(self._auth, settings.max_envelope_bytes,
                                     settings.max_frames, settings.max_frame_bytes)
        self._sessions = lobby.sessions if lobby else Sessions()
        self._held: list[tuple[Frames, int]] = lobby.take_held() if lobby else []
        self._unverified = 0  # payload bytes waiting for their signature check
        self._last_log: dict[str, float] = {}
        self.on_authenticated: Callable[[int, bytes], None] | None = None
        # Large payloads are written to a temp file while their hash is computed (the
        # composition root injects the store's landing; see sidecar.store.landing).
        self.landing: Land | None = None
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._drain_timeout = settings.drain_timeout
        # Called once when draining begins (the media service pauses its downloads there).
        self.on_drain: list[Callable[[], None]] = []
        self._started = lobby.started if lobby else time.monotonic()
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
        if self.state is State.STARTING:  # a stop asked for before this keeps it draining
            self.state = State.SERVING
        self._transport.start(asyncio.get_running_loop(), self._on_message)
        held, self._held = self._held, []
        for frames, arrived_ms in held:  # what came while it loaded, before anything newer
            self._on_message(frames, arrived_ms)
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

    def _on_message(self, frames: Frames, arrived_ms: int | None = None) -> None:
        parser = self._parser
        try:
            pending = parser.split(frames)
            pending.arrived_ms = arrived_ms
            if pending.payloads:
                session = self._sessions.find(pending.identity)
                if session is None or not session.ready:  # refused before any hashing
                    raise Rejected(pending.identity, pending.request_id, NotReady(
                        "call hello first (payload frames are refused before it)"))
                if pending.hash_off_loop:
                    self._hash_off_loop(pending)
                    return
                digest = digest_of(pending)
            else:
                digest = EMPTY_DIGEST
            parser.authenticate(pending, digest)
            raw = pending.raw
            if (not pending.payloads and self.state is State.SERVING and raw is not None
                    and is_plain_ping(raw)):
                session = self._sessions.find(pending.identity)
                if session is not None and session.ready:  # answered before queued work
                    self._send(pending.identity, self.ping_reply(str(pending.request_id)))
                    return
            inbound = parser.validate(pending, digest)
        except Rejected as rej:
            self._reject(rej)
            return
        self._spawn(self._dispatch(inbound, self.state is State.SERVING))

    def _hash_off_loop(self, pending: Pending) -> None:
        """Hash a large payload in a thread, within the budget of unverified bytes."""
        budget = self.settings.max_unverified_bytes
        if self._unverified + pending.size > budget:
            self._log("unverified", "payload bytes waiting for authentication at the bound "
                      "(%d + %d > %d): answered busy", self._unverified, pending.size, budget)
            raise Rejected(pending.identity, pending.request_id, Busy(
                "too many payload bytes are waiting for their signature check; retry"))
        self._unverified += pending.size
        landed = self.landing(pending.payloads) if self.landing is not None else None
        self._spawn(self._hash_then_dispatch(pending, self.state is State.SERVING, landed))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hash_then_dispatch(
            self, pending: Pending, accepted: bool,
            landed: asyncio.Future[LandedPayload | None] | None = None) -> None:
        try:
            try:
                digest = await asyncio.to_thread(digest_of, pending)
                inbound = self._parser.finish(pending, digest)
            except Rejected as rej:
                self._reject(rej)
                return
            finally:
                self._unverified -= pending.size
            await self._dispatch(inbound, accepted, landed)
        finally:  # whatever happened: a landing nobody took is deleted once it is written
            if landed is not None:
                landed.add_done_callback(_discard_landed)

    def _reject(self, rej: Rejected) -> None:
        log.info("rejected message: %s", rej.error.message,
                 extra={"code": rej.error.code.value, "request_id": rej.request_id})
        self._send_error(rej.identity, rej.request_id, error_body(rej.error, rej.request_id))

    async def _dispatch(self, inbound: Inbound, accepted: bool,
                        landed: asyncio.Future[LandedPayload | None] | None = None) -> None:
        """``accepted``: the message arrived while serving. Work received before a drain
        began is finished; only what arrives after it is refused."""
        req = inbound.request
        method = req.method
        try:
            if not accepted:
                raise ShuttingDown("the server is shutting down")
            session = self._sessions.find(inbound.identity)
            if method == "hello":
                if session is None:
                    session = Session(inbound.identity, fd=inbound.fd)
            elif session is None or not session.ready:
                raise NotReady("call hello first")
            control = method in CONTROL
            if not control and session.in_flight >= self.settings.max_in_flight_per_client:
                raise Busy(f"more than {self.settings.max_in_flight_per_client} requests "
                           "in flight for this client")
            if method in _PAYLOAD_REPLIES and not self._admit_reply(session):
                raise Busy("this client has not read its earlier replies' bytes "
                           f"({session.reply_backlog} bytes unread); read them, then retry")
            params = self._handlers.params_for(method, req.params)
            if inbound.payloads and not _accepts_payloads(method):
                raise InvalidParams(f"{method} takes no binary payload frames",
                                    field="payloads")
            if control:
                ctx = CallContext(req.id, inbound.identity, fd=inbound.fd)
                result = await self._handlers.call(method, ctx, params)
            else:
                lease = Lease(self, session)
                ctx = CallContext(req.id, inbound.identity, inbound.payloads,
                                  inbound.payload_sha256 if inbound.payloads else None,
                                  inbound.payload_size, fd=inbound.fd, idle=lease.released,
                                  landed=landed)
                await lease.acquire()
                try:
                    result = await self._handlers.call(method, ctx, params)
                finally:
                    lease.release()
        except asyncio.CancelledError:
            self._send_error(inbound.identity, req.id,
                             error_body(Cancelled("cancelled by shutdown"), req.id))
            raise
        except Exception as exc:
            self._send_error(inbound.identity, req.id, error_body(exc, req.id))
            return
        envelope = reply_envelope(req.id, result.wire())
        if isinstance(result, WithPayload):
            session.reply_backlog += sum(len(p) for p in result.payloads)
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
        return ping_envelope(request_id, self._started)

    def _send_error(self, identity: bytes, request_id: str | None, body: ErrorBody) -> None:
        msg = ErrorReply(type="error", id=request_id, error=body, ts=now_ms())
        self._send(identity, msg.model_dump(mode="json", by_alias=True))

    def _on_event(self, event: Event) -> None:
        data: dict[str, object] | None = None
        for session in self._sessions.subscribers():
            if session.wants(event):
                if data is None:
                    data = event.wire()
                msg = EventMessage(type="event", event=event.name, seq=session.next_seq(),
                                   data=data, ts=now_ms())
                packed = encode(msg.model_dump())
                if self._admit_event(session, len(packed)):
                    self._transport.send(session.identity, self._auth.sign(packed), packed)

    def _admit_event(self, session: Session, size: int) -> bool:
        """Whether the subscriber's event bytes stay within its budget. libzmq's queue to a
        peer is bounded in messages, not bytes, so the bytes are counted here: they reset
        whenever the peer's kernel send queue is seen drained; an event over the budget is
        dropped and its seq skipped (the client sees the gap and re-lists)."""
        queued = send_queue_bytes(session.fd)
        if queued is not None and queued < DRAINED_BYTES:
            session.backlog = 0
        budget = self.settings.event_budget_bytes
        if session.backlog + size > budget:
            session.dropped += 1
            self._log("events", "subscriber %r is not reading: %d event bytes queued "
                      "(budget %d), %d events dropped for it so far",
                      session.client_name or session.identity.hex(), session.backlog, budget,
                      session.dropped)
            return False
        session.backlog += size
        return True

    def _admit_reply(self, session: Session) -> bool:
        """Whether a request whose reply carries bytes may run: the client's unread reply
        bytes stay under ``REPLY_BUDGET_BYTES`` (reset whenever its kernel send queue is seen
        drained; where that cannot be read, the per-client in-flight bound is the only one)."""
        queued = send_queue_bytes(session.fd)
        if queued is None or queued < DRAINED_BYTES:
            session.reply_backlog = 0
        return session.reply_backlog < REPLY_BUDGET_BYTES

    def forget(self, identity: bytes, fd: int) -> None:
        """The connection ``fd`` of ``identity`` is gone (``ConnectionGuard``); a session
        that moved to another connection (a client reusing its routing id) is kept."""
        forget_connection(self._sessions, identity, fd)

    def _log(self, key: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        if now - self._last_log.get(key, -LOG_INTERVAL) >= LOG_INTERVAL:
            self._last_log[key] = now
            log.warning(msg, *args)

    # -- the session's own methods ---------------------------------------------------------

    def _register_core(self) -> None:
        h = self._handlers
        h.add("hello", self._hello)
        h.add("ping", self._ping)
        h.add("shutdown", self._shutdown)
        h.add("subscribe", self._subscribe)
        h.add("unsubscribe", self._unsubscribe)

    async def _hello(self, ctx: CallContext, p: HelloParams) -> Prebuilt:
        if not is_compatible(p.protocol):
            raise VersionMismatch(
                f"client protocol {p.protocol} is incompatible with {PROTOCOL_VERSION}",
                field="params.protocol", data={"server": PROTOCOL_VERSION})
        open_session(self._sessions, ctx.client, ctx.fd, p.client.name if p.client else "",
                     self.on_authenticated)
        # Built as plain data (sidecar.rpc.early answers hello with it before the models
        # load); a test checks it against HelloResult.
        return Prebuilt(hello_result(self.settings, self._session_id, self._handlers.names()))

    async def _ping(self, ctx: CallContext, p: PingParams) -> PingResult:
        return self._ping_result()

    def _ping_result(self) -> PingResult:
        return PingResult(pong=True, time=now_ms(),
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


def _discard_landed(landed: asyncio.Future[LandedPayload | None]) -> None:
    """Delete a landing that was not taken, in a thread (nothing when it was taken)."""
    if landed.cancelled() or landed.exception() is not None:
        return
    got = landed.result()
    if got is None:
        return
    try:
        landed.get_loop().run_in_executor(None, got.discard)
    except RuntimeError:  # the loop's executor is gone (the loop is closing): here, then
        got.discard()


def _accepts_payloads(method: str) -> bool:
    from protocol import METHODS

    spec = METHODS.get(method)
    return spec is not None and spec.payloads
