"""The Python client: connect by connection file, hello, call, events.

Used by the tests, the CLI debugger and the demo. One reader task owns the socket's input;
pending requests live in a map by id, each with its own timeout; messages are built and
opened by ``frames`` (signed, checked against the server's signature, typed); a reply
nobody waits for is logged and kept for ``unmatched``, never silently dropped.
``SyncClient`` wraps it for scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import zmq
import zmq.asyncio

from protocol.version import PROTOCOL_VERSION
from sidecar.client.connection import ConnectionInfo
from sidecar.client.frames import (
    BadMessage,
    Framer,
    Payload,
    ReceivedError,
    ReceivedEvent,
    ReceivedReply,
    result_of,
)

log = logging.getLogger("sidecar.client")
T = TypeVar("T")


class ClientClosed(Exception):
    """The client was closed while the request was pending."""


class BadReply(Exception):
    """A reply that breaks the protocol (e.g. the wrong number of payload frames)."""


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


class Client:
    def __init__(self, endpoint: str, secret: bytes, *, timeout: float = 30.0,
                 max_frame_bytes: int = 2 * 1024**3) -> None:
        self.endpoint = endpoint
        self.framer = Framer(secret)
        self.timeout = timeout
        self._ctx = zmq.asyncio.Context()
        self._sock: zmq.asyncio.Socket = self._ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.MAXMSGSIZE, max_frame_bytes)
        self._sock.setsockopt(zmq.SNDHWM, 0)
        self._pending: dict[str, asyncio.Future[ReceivedReply | ReceivedError]] = {}
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._unmatched: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._last_seq = 0
        self.events_missed = 0
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
        return self.framer.new_id()

    def build_frames(self, envelope: dict[str, Any], payloads: Sequence[Payload] = (),
                     ) -> list[Payload]:
        """``envelope`` (any map: tests send broken ones) signed with the secret."""
        return self.framer.seal(envelope, payloads)

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
        request = self.framer.request(method, params, payloads)
        got = await self._exchange(request.id, request.frames, timeout)
        return result_of(got), got.payloads

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
        return result_of(await self._exchange(rid, frames, timeout))

    async def _exchange(self, rid: str, frames: Sequence[Payload],
                        timeout: float | None) -> ReceivedReply | ReceivedError:
        if self._closed:
            raise ClientClosed("client closed")
        fut: asyncio.Future[ReceivedReply | ReceivedError] = \
            asyncio.get_running_loop().create_future()
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
            try:
                got = self.framer.open(frames)
            except BadMessage as exc:
                log.warning("server message dropped: %s", exc)
                continue
            if isinstance(got, ReceivedEvent):
                if self._last_seq and got.seq != self._last_seq + 1:
                    self.events_missed += max(got.seq - self._last_seq - 1, 0)
                self._last_seq = got.seq
                self._events.put_nowait(got.raw)
                continue
            fut = self._pending.get(got.id) if got.id is not None else None
            if fut is not None and not fut.done():
                fut.set_result(got)
            else:
                log.info("reply for no pending request: id=%r", got.id)
                self._unmatched.put_nowait(got.raw)


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

