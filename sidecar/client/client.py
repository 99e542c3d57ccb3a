"""The Python client: connect by connection file, hello, call, events.

Used by the tests, the CLI debugger and the demo. One reader task owns the socket's input;
pending requests live in a map by id, each with its own timeout; replies and events are
checked against the server's signature; a reply nobody waits for is counted and logged,
never silently dropped. ``SyncClient`` wraps it for scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import zmq
import zmq.asyncio

from protocol import METHODS, PROTOCOL_VERSION
from protocol.base import Params, Result
from sidecar.wire import signing
from sidecar.wire.codec import DecodeError, decode, encode

log = logging.getLogger("sidecar.client")
Payload = bytes | bytearray | memoryview
T = TypeVar("T")


class RemoteError(Exception):
    """An error reply: ``code`` is a protocol ErrorCode value."""

    def __init__(self, code: str, message: str, field: str | None = None,
                 data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
        self.data = data


class ClientClosed(Exception):
    """The client was closed while the request was pending."""


class BadReply(Exception):
    """A reply that breaks the protocol (e.g. the wrong number of payload frames)."""


@dataclass(frozen=True)
class Received:
    """A reply (or error) envelope and the payload frames that came with it (verified: the
    payloads' lengths and sha256 are part of the server's signature)."""

    message: dict[str, Any]
    payloads: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class ConnectionInfo:
    endpoint: str
    secret: bytes
    pid: int | None = None
    protocol: str = PROTOCOL_VERSION
    data_dir: str | None = None
    started_at: int | None = None
    path: Path | None = None

    @classmethod
    def load(cls, path: str | Path) -> ConnectionInfo:
        p = Path(path)
        raw = json.loads(p.read_text())
        return cls(endpoint=raw["endpoint"], secret=str(raw["secret"]).encode(),
                   pid=raw.get("pid"), protocol=raw.get("protocol", PROTOCOL_VERSION),
                   data_dir=raw.get("dataDir"), started_at=raw.get("startedAt"), path=p)


async def within(aw: Awaitable[T], timeout: float) -> T:
    """``await aw`` for at most ``timeout`` seconds (TimeoutError after).

    Not ``asyncio.wait_for``: on Python 3.11 it returns the result when a cancellation
    arrives in the same loop turn as that result, so the caller's cancel (Ctrl-C under
    ``asyncio.run``) is lost and ``watch`` keeps running. Awaiting in the caller's own task
    under ``asyncio.timeout`` lets the cancellation through; an event that arrived with it
    stays in its queue.
    """
    async with asyncio.timeout(timeout):
        return await aw


def _now_ms() -> int:
    return int(time.time() * 1000)


class Client:
    def __init__(self, endpoint: str, secret: bytes, *, timeout: float = 30.0,
                 verify_server: bool = True, max_frame_bytes: int = 2 * 1024**3) -> None:
        self.endpoint = endpoint
        self._secret = secret
        self.timeout = timeout
        self._verify = verify_server
        self._ctx = zmq.asyncio.Context()
        self._sock: zmq.asyncio.Socket = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.MAXMSGSIZE, max_frame_bytes)
        self._sock.setsockopt(zmq.SNDHWM, 0)
        self._tag = secrets.token_hex(4)
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Received]] = {}
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._unmatched: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._last_seq = 0
        self.events_missed = 0
        self.bad_signatures = 0
        self.hello_result: dict[str, Any] | None = None
        self._closed = False

    # -- connection ------------------------------------------------------------------------

    @classmethod
    async def connect(cls, target: ConnectionInfo | str | Path, *, hello: bool = True,
                      client_name: str = "media-sidecar-python", timeout: float = 30.0,
                      ) -> Client:
        info = target if isinstance(target, ConnectionInfo) else ConnectionInfo.load(target)
        client = cls(info.endpoint, info.secret, timeout=timeout)
        client.open()
        if hello:
            await client.hello(client_name=client_name)
        return client

    def open(self) -> None:
        self._sock.connect(self.endpoint)
        self._reader = asyncio.create_task(self._read_loop())

    async def hello(self, protocol: str = PROTOCOL_VERSION,
                    client_name: str = "media-sidecar-python") -> dict[str, Any]:
        result = await self.call("hello", {"protocol": protocol,
                                           "client": {"name": client_name, "version": "0.1.0"}})
        self.hello_result = result
        return result

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ClientClosed("client closed"))
        self._pending.clear()
        self._sock.close(linger=0)
        self._ctx.term()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- calls -----------------------------------------------------------------------------

    def new_id(self) -> str:
        return f"{self._tag}-{next(self._ids)}"

    def build_frames(self, envelope: dict[str, Any], payloads: Sequence[Payload] = (),
                     ) -> list[Payload]:
        packed = encode(envelope)
        return [signing.sign(self._secret, packed, payloads), packed, *payloads]

    async def call(self, method: str, params: dict[str, Any] | None = None,
                   payloads: Sequence[Payload] = (), timeout: float | None = None,
                   ) -> dict[str, Any]:
        """Send a request and wait for its reply; raise RemoteError on an error reply."""
        result, _ = await self.call_with_payloads(method, params, payloads, timeout)
        return result

    async def call_with_payloads(self, method: str, params: dict[str, Any] | None = None,
                                 payloads: Sequence[Payload] = (),
                                 timeout: float | None = None,
                                 ) -> tuple[dict[str, Any], tuple[bytes, ...]]:
        """Like ``call``, and also the reply's payload frames (readMediaRange's bytes)."""
        rid = self.new_id()
        envelope = {"type": "request", "id": rid, "method": method,
                    "params": params or {}, "ts": _now_ms()}
        got = await self._exchange(rid, self.build_frames(envelope, payloads), timeout)
        return _result_of(got.message), got.payloads

    async def read_range(self, project_id: str, item_id: str, offset: int, length: int,
                         timeout: float | None = None) -> tuple[dict[str, Any], bytes]:
        """readMediaRange: its result and the bytes of its one payload frame."""
        result, frames = await self.call_with_payloads(
            "readMediaRange", {"projectId": project_id, "id": item_id, "offset": offset,
                               "length": length}, timeout=timeout)
        if len(frames) != 1 or len(frames[0]) != result.get("length"):
            raise BadReply(f"readMediaRange replied with {len(frames)} payload frame(s), "
                           f"not one of {result.get('length')} bytes")
        return result, frames[0]

    async def call_frames(self, rid: str, frames: Sequence[Payload],
                          timeout: float | None = None) -> dict[str, Any]:
        """Send prepared frames whose envelope carries ``rid``; wait for that reply."""
        return _result_of((await self._exchange(rid, frames, timeout)).message)

    async def _exchange(self, rid: str, frames: Sequence[Payload],
                        timeout: float | None) -> Received:
        if self._closed:
            raise ClientClosed("client closed")
        fut: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            await self._sock.send_multipart(list(frames), copy=False)
            return await within(fut, timeout if timeout is not None else self.timeout)
        finally:
            self._pending.pop(rid, None)

    async def send_frames(self, frames: Sequence[Payload]) -> None:
        """Send raw frames (tests, the harness): replies arrive in ``unmatched()``
        unless a pending call waits for their id."""
        await self._sock.send_multipart(list(frames), copy=False)

    async def request(self, params: Params, payloads: Sequence[Payload] = (),
                      timeout: float | None = None) -> Result:
        """A typed call: the method is the one whose params model ``params`` is."""
        for spec in METHODS.values():
            if type(params) is spec.params:
                raw = await self.call(spec.name, params.model_dump(by_alias=True,
                                                                   exclude_none=True),
                                      payloads, timeout)
                return spec.result.model_validate(raw)
        raise TypeError(f"{type(params).__name__} is not the params model of a method")

    async def subscribe(self, events: Sequence[str] = (), project_id: str | None = None,
                        ) -> dict[str, Any]:
        params: dict[str, Any] = {"events": list(events)}
        if project_id is not None:
            params["projectId"] = project_id
        return await self.call("subscribe", params)

    # -- events and stray replies ----------------------------------------------------------

    async def next_event(self, timeout: float | None = None) -> dict[str, Any]:
        return await within(self._events.get(), timeout or self.timeout)

    async def wait_event(self, name: str, timeout: float | None = None,
                         **match: Any) -> dict[str, Any]:
        """The next event called ``name`` whose data matches ``match`` (others are dropped)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {name} event")
            ev = await self.next_event(left)
            data = ev["data"]
            if ev["event"] == name and all(_dig(data, k) == v for k, v in match.items()):
                return ev

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self._events.get()

    def pending_events(self) -> int:
        return self._events.qsize()

    async def unmatched(self, timeout: float | None = None) -> dict[str, Any]:
        """The next reply no call was waiting for (e.g. an error with ``id: null``)."""
        return await within(self._unmatched.get(), timeout or self.timeout)

    async def _read_loop(self) -> None:
        while True:
            frames = await self._sock.recv_multipart(copy=True)
            if len(frames) < 2:
                log.warning("message with %d frames from server ignored", len(frames))
                continue
            sig, env, payloads = frames[0], frames[1], frames[2:]
            if self._verify and not signing.verify(self._secret, sig, env, payloads):
                self.bad_signatures += 1
                log.warning("message with a bad server signature dropped")
                continue
            try:
                msg = decode(env, 64 * 1024 * 1024)
            except DecodeError:
                log.warning("undecodable message from server dropped")
                continue
            if msg.get("type") == "event":
                seq = msg.get("seq")
                if isinstance(seq, int):
                    if self._last_seq and seq != self._last_seq + 1:
                        self.events_missed += max(seq - self._last_seq - 1, 0)
                    self._last_seq = seq
                self._events.put_nowait(msg)
                continue
            rid = msg.get("id")
            fut = self._pending.get(rid) if isinstance(rid, str) else None
            if fut is not None and not fut.done():
                fut.set_result(Received(msg, tuple(payloads)))
            else:
                log.info("reply for no pending request: id=%r", msg.get("id"))
                self._unmatched.put_nowait(msg)


def _result_of(reply: dict[str, Any]) -> dict[str, Any]:
    if reply["type"] == "error":
        err = reply.get("error") or {}
        raise RemoteError(str(err.get("code")), str(err.get("message")),
                          err.get("field"), err.get("data"))
    result: dict[str, Any] = reply["result"]
    return result


def _dig(data: dict[str, Any], dotted: str) -> Any:
    cur: Any = data
    for part in dotted.split("__"):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


class SyncClient:
    """A blocking wrapper: an event loop in a private thread runs the async Client."""

    def __init__(self, target: ConnectionInfo | str | Path, *, timeout: float = 30.0,
                 hello: bool = True) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="media-sidecar-client")
        self._thread.start()
        self._client: Client = self._run(Client.connect(target, hello=hello, timeout=timeout))

    def _run(self, coro: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
        async def wrap() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self._loop).result()

    @property
    def client(self) -> Client:
        return self._client

    def call(self, method: str, params: dict[str, Any] | None = None,
             payloads: Sequence[Payload] = (), timeout: float | None = None) -> dict[str, Any]:
        return self._run(self._client.call(method, params, payloads, timeout))

    def call_with_payloads(self, method: str, params: dict[str, Any] | None = None,
                           payloads: Sequence[Payload] = (), timeout: float | None = None,
                           ) -> tuple[dict[str, Any], tuple[bytes, ...]]:
        return self._run(self._client.call_with_payloads(method, params, payloads, timeout))

    def read_range(self, project_id: str, item_id: str, offset: int, length: int,
                   ) -> tuple[dict[str, Any], bytes]:
        return self._run(self._client.read_range(project_id, item_id, offset, length))

    def subscribe(self, events: Sequence[str] = (), project_id: str | None = None,
                  ) -> dict[str, Any]:
        return self._run(self._client.subscribe(events, project_id))

    def next_event(self, timeout: float | None = None) -> dict[str, Any]:
        return self._run(self._client.next_event(timeout))

    def close(self) -> None:
        self._run(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def find_connection_files(runtime_dir: Path | None = None) -> list[Path]:
    """Connection files of sidecars of this user (``media-sidecar ps``)."""
    from sidecar.settings import default_runtime_dir

    d = runtime_dir or default_runtime_dir()
    if not d.is_dir():
        return []
    return sorted(p for p in d.glob("sidecar-*.json") if p.is_file() and os.access(p, os.R_OK))
