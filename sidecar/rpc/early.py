"""The first moments of a sidecar: ``hello`` and ``ping`` answered before pydantic loads.

``sidecar.app`` prints the ready line as soon as the socket is bound and the connection file
written; the protocol models, the store and the service load right after it. Meanwhile the
``Lobby`` receives every message:

* an authentic, fresh, *plain* ``hello`` (``params`` only ``protocol`` — exactly this
  server's version — and ``client``) opens the session and is answered with a reply built
  as plain data (``hello_result``); a plain ``ping`` of an open session is answered as the
  server's fast path answers it (``ping_envelope``);
* every other message is held as it came (nothing in it trusted or decoded for it: the
  server authenticates it later like any message), in arrival order. Once loaded, the
  server takes the held messages first, then the socket (``Server.serve``), so each is
  answered as it would have been after the load (the per-client bounds, ``busy`` included,
  apply then; control requests are never ``busy``). Held messages are bounded in count
  (``HELD_MESSAGES``) and bytes (``max_unverified_bytes``): at either bound the lobby stops
  reading the socket, and libzmq keeps what comes next (bounded per peer by its high-water
  mark) until the server reads it. If the load fails, each authentic held message is
  answered with the load's typed error, and the process exits as it did when the store
  could not be opened.

Nothing here imports pydantic or ``protocol``: the facts it needs come from
``sidecar.wire.facts`` (generated from ``protocol``, drift-tested), and every reply built
here has a test that it equals the model-built one (tests/reliability/test_early_replies.py).
The server uses the same builders once loaded, so there is one of each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import zmq

from sidecar import __version__
from sidecar.rpc.auth import Authenticator
from sidecar.rpc.sessions import Sessions
from sidecar.wire import facts
from sidecar.wire.codec import DecodeError, decode, encode, peek_id

if TYPE_CHECKING:
    from sidecar.rpc.router import Router
    from sidecar.settings import Settings

log = logging.getLogger("sidecar.rpc.early")

_SRCFD = int(zmq.SRCFD)
HELD_MESSAGES = 4096  # messages the lobby holds before it stops reading
Frames = list[zmq.Frame | bytes]
OnAuthenticated = Callable[[int, bytes], None]


def now_ms() -> int:
    return int(time.time() * 1000)


# -- what a plain request looks like ---------------------------------------------------------

def _plain_envelope(raw: Mapping[str, object], method: str) -> bool:
    """``raw`` is a ``Request`` envelope for ``method`` with no key beyond the model's."""
    if raw.get("method") != method or raw.get("type") != "request":
        return False
    ts, rid = raw.get("ts"), raw.get("id")
    if type(ts) is not int or ts < 0 or type(rid) is not str or not 0 < len(rid) <= 128:
        return False
    return len(raw) == (5 if "params" in raw else 4)


def is_plain_ping(raw: dict[str, object]) -> bool:
    """Whether ``raw`` is exactly an envelope ``Request`` accepts for ``ping`` with no params
    (so the fast path may skip building the model; anything else goes through it)."""
    if not _plain_envelope(raw, "ping"):
        return False
    params = raw.get("params", {})
    return type(params) is dict and not params


def _short_str(value: object, limit: int) -> bool:
    return type(value) is str and len(value) <= limit


def plain_hello(raw: dict[str, object]) -> str | None:
    """The client's name ("" when none) if ``raw`` is a ``hello`` the models accept and whose
    protocol is exactly this server's; None for anything else (it waits for the models)."""
    if not _plain_envelope(raw, "hello"):
        return None
    params = raw.get("params")
    if type(params) is not dict or not params.keys() <= {"protocol", "client"}:
        return None
    if type(params.get("protocol")) is not str or params["protocol"] != facts.PROTOCOL_VERSION:
        return None
    client = params.get("client")
    if client is None:
        return ""
    if type(client) is not dict or not client.keys() <= {"name", "version"}:
        return None
    name = client.get("name")
    if not _short_str(name, 128) or not _short_str(client.get("version", ""), 64):
        return None
    assert isinstance(name, str)
    return name


# -- replies built without the models --------------------------------------------------------

def served_methods(enable_test_hooks: bool) -> list[str]:
    """The methods a fully loaded sidecar serves (a test checks this against its handlers)."""
    return [name for name, test_only in facts.METHODS if enable_test_hooks or not test_only]


def hello_result(settings: Settings, session_id: str, methods: Sequence[str]) -> dict[str, Any]:
    """``HelloResult.wire()`` for this server, as plain data."""
    s = settings
    return {
        "server": {"name": "media-sidecar", "version": __version__},
        "protocol": facts.PROTOCOL_VERSION,
        "session": session_id,
        "methods": list(methods),
        "events": list(facts.EVENTS),
        "limits": {
            "maxEnvelopeBytes": s.max_envelope_bytes, "maxFrameBytes": s.max_frame_bytes,
            "maxFrames": s.max_frames, "maxInFlight": s.max_in_flight_per_client,
            "maxInFlightServer": s.max_in_flight,
            "maxMetadataBytes": s.store.max_metadata_bytes,
            "maxDownloadBytes": s.fetch.max_bytes,
            "replayWindowMs": s.replay_window_ms, "maxRangeBytes": s.range_limit},
        "features": {"testHooks": s.enable_test_hooks,
                     "rollbackOnFailure": s.store.rollback_on_failure,
                     "downloads": True},
        "dataDir": str(s.data_dir),
    }


def reply_envelope(request_id: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """``Reply(...).model_dump()`` without the model: the fields are already valid here."""
    return {"type": "reply", "id": request_id, "result": result, "ts": now_ms()}


def ping_envelope(request_id: str, started: float) -> dict[str, Any]:
    """The reply to a plain ping: ``Reply`` of ``PingResult.wire()`` (``started``: the
    server's ``time.monotonic()`` at start)."""
    now = now_ms()
    return {"type": "reply", "id": request_id, "result": {
        "pong": True, "time": now, "uptimeMs": int((time.monotonic() - started) * 1000)},
        "ts": now}


def error_envelope(request_id: str | None, code: str, message: str) -> dict[str, Any]:
    """``ErrorReply(...).model_dump(mode="json", by_alias=True)`` without the model."""
    return {"type": "error", "id": request_id,
            "error": {"code": code, "message": message, "field": None, "data": None},
            "ts": now_ms()}


# -- sessions --------------------------------------------------------------------------------

def open_session(sessions: Sessions, identity: bytes, fd: int, client_name: str,
                 on_authenticated: OnAuthenticated | None) -> None:
    """An accepted ``hello``: the connection's session is ready (and the guard told)."""
    session = sessions.get(identity)
    session.ready = True
    session.fd = fd
    session.client_name = client_name
    if on_authenticated is not None:
        on_authenticated(fd, identity)


def forget_connection(sessions: Sessions, identity: bytes, fd: int) -> None:
    """The connection ``fd`` of ``identity`` is gone (``ConnectionGuard``); a session that
    moved to another connection (a client reusing its routing id) is kept."""
    session = sessions.find(identity)
    if session is not None and session.fd == fd:
        sessions.forget(identity)


def source_fd(frame: zmq.Frame | bytes) -> int:
    """The file descriptor of the connection a frame came in on (-1 when unknown)."""
    if isinstance(frame, zmq.Frame):
        try:
            fd = frame.get(_SRCFD)
        except zmq.ZMQError:
            return -1
        return fd if isinstance(fd, int) else -1
    return -1


def _buffer(frame: zmq.Frame | bytes) -> memoryview | bytes:
    return frame if isinstance(frame, bytes) else frame.buffer


# -- the lobby -------------------------------------------------------------------------------

class Lobby:
    """Receives while the sidecar loads (see the module doc); the server takes over its
    authenticator, sessions and start time, so a hello answered here holds after the load
    and a signature seen here is a replay there."""

    def __init__(self, settings: Settings, transport: Router, session_id: str) -> None:
        self._settings = settings
        self._transport = transport
        self.auth = Authenticator(settings.secret, settings.replay_window_ms,
                                  not_before_ms=now_ms())
        self.sessions = Sessions()
        self.started = time.monotonic()
        self.on_authenticated: OnAuthenticated | None = None
        self._hello = hello_result(settings, session_id,
                                   served_methods(settings.enable_test_hooks))
        self._held: list[tuple[Frames, int]] = []  # with the time each arrived (ms)
        self._held_bytes = 0

    def forget(self, identity: bytes, fd: int) -> None:
        forget_connection(self.sessions, identity, fd)

    def on_message(self, frames: Frames) -> None:
        if not self._answered(frames):
            self._hold(frames)

    def take_held(self) -> list[tuple[Frames, int]]:
        """The held messages with their arrival times, in arrival order (the server receives
        them first, and judges their freshness at arrival)."""
        held, self._held, self._held_bytes = self._held, [], 0
        return held

    def fail(self, code: str, message: str) -> None:
        """The load failed: answer each authentic held message with its typed error."""
        for frames, _ in self.take_held():
            if len(frames) < 3:
                continue
            payloads = [memoryview(_buffer(f)) for f in frames[3:]]
            envelope = _buffer(frames[2])
            if self.auth.verify(_buffer(frames[1]), envelope, payloads):
                self._send(_identity(frames), error_envelope(peek_id(envelope), code, message))

    def _answered(self, frames: Frames) -> bool:
        """Answer a plain hello or ping here; False when the message must wait."""
        max_envelope = self._settings.max_envelope_bytes
        if len(frames) != 3:
            return False
        signature, envelope = _buffer(frames[1]), _buffer(frames[2])
        if len(envelope) > max_envelope or not self.auth.verify(signature, envelope):
            return False
        try:
            raw = decode(envelope, max_envelope)
        except DecodeError:
            return False
        identity = _identity(frames)
        ping = is_plain_ping(raw)
        client_name = None if ping else plain_hello(raw)
        if ping:
            session = self.sessions.find(identity)
            if session is None or not session.ready:  # not_ready, from the server
                return False
        elif client_name is None:
            return False
        if self.auth.admit(signature, raw["ts"]) is not None:
            return False  # the server refuses it with the reason, once loaded
        request_id = str(raw["id"])
        if client_name is None:
            self._send(identity, ping_envelope(request_id, self.started))
        else:
            open_session(self.sessions, identity, source_fd(frames[0]), client_name,
                         self.on_authenticated)
            self._send(identity, reply_envelope(request_id, self._hello))
        return True

    def _hold(self, frames: Frames) -> None:
        self._held.append((frames, now_ms()))
        self._held_bytes += sum(len(f) for f in frames[1:])
        if (len(self._held) >= HELD_MESSAGES
                or self._held_bytes >= self._settings.max_unverified_bytes):
            log.warning("starting: %d requests (%d bytes) wait for the load; the socket is "
                        "read again once it is done", len(self._held), self._held_bytes)
            self._transport.stop_receiving()

    def _send(self, identity: bytes, envelope: dict[str, Any]) -> None:
        packed = encode(envelope)
        self._transport.send(identity, self.auth.sign(packed), packed)


def _identity(frames: Frames) -> bytes:
    first = frames[0]
    return first if isinstance(first, bytes) else first.bytes
