"""A handler's unexpected exception is answered ``internal`` with the request id, and the
replay cache remembers a signature for as long as its message could be fresh.

The first runs a real server on a real ROUTER socket with one handler that raises (an
unexpected exception cannot be caused from the wire; the handler table is the seam). The
second drives the authenticator's clock to the edges of the window.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import msgpack
import pytest
import zmq

from protocol.media import StorageStatusParams
from sidecar.client import Client, RemoteError
from sidecar.errors import Unauthorized
from sidecar.events import EventBus
from sidecar.rpc.auth import Authenticator
from sidecar.rpc.dispatch import CallContext, Handlers
from sidecar.rpc.router import Router
from sidecar.rpc.server import Server
from sidecar.settings import Settings
from sidecar.wire import signing

SECRET = b"0123456789abcdef0123456789abcdef"


async def _explodes(ctx: CallContext, p: StorageStatusParams) -> object:
    raise ZeroDivisionError("a bug in a handler")


@pytest.fixture
async def endpoint(tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(data_dir=tmp_path, secret=SECRET, runtime_dir=tmp_path)
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    handlers = Handlers()
    handlers.add("storageStatus", _explodes)  # type: ignore[arg-type]
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    transport = Router(zctx, settings.max_frame_bytes, 0)
    ep = transport.bind(f"ipc://{tmp_path}/s.sock")
    server = Server(settings, transport, handlers, bus, "test-session")
    task = asyncio.create_task(server.serve())
    try:
        yield ep
    finally:
        server.request_stop(1.0)
        await asyncio.wait_for(task, 5)
        transport.close()
        zctx.term()


async def test_an_unexpected_exception_is_answered_internal_with_the_id(endpoint: str) -> None:
    c = Client(endpoint, SECRET, timeout=5)
    c.open()
    try:
        await c.hello()
        for rid in ("boom-1", "boom-2"):
            env: dict[str, object] = {"type": "request", "id": rid, "method": "storageStatus",
                                      "params": {}, "ts": int(time.time() * 1000)}
            with pytest.raises(RemoteError) as info:
                await c.call_frames(rid, c.build_frames(env))
            assert info.value.code == "internal"
            assert info.value.message == f"internal error (request {rid})"
            # the server keeps serving
            assert (await c.call("ping"))["pong"] is True
    finally:
        await c.close()


# -- the replay window ----------------------------------------------------------------------

WINDOW = 30_000
T0 = 1_800_000_000_000


def _message(ts: int) -> tuple[bytes, bytes, int]:
    env = msgpack.packb({"type": "request", "id": "r1", "method": "ping", "params": {},
                         "ts": ts})
    return signing.sign(SECRET, env), env, ts


def _check_at(auth: Authenticator, now_ms: int, msg: tuple[bytes, bytes, int],
              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sidecar.rpc.auth.time.time", lambda: now_ms / 1000)
    sig, env, ts = msg
    assert auth.verify(sig, env, [], signing.payload_digest([]))
    why = auth.admit(sig, ts)
    if why is not None:
        raise Unauthorized(why)


@pytest.mark.parametrize("skew", [-WINDOW, 0, WINDOW])
def test_a_signature_is_refused_as_replayed_for_as_long_as_it_is_fresh(
        skew: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """A message stamped ``ts`` is fresh while |now - ts| <= window: from ts - window to
    ts + window. A client clock ahead by a whole window makes that T0 .. T0 + 2 windows
    of server time: the cache must remember the signature over all of it."""
    auth = Authenticator(SECRET, WINDOW)
    msg = _message(T0 + skew)
    _check_at(auth, T0, msg, monkeypatch)  # first time: accepted
    last_fresh = T0 + skew + WINDOW
    for now in sorted({t for t in (T0, T0 + 1, (T0 + last_fresh) // 2, last_fresh - 1,
                                   last_fresh) if T0 <= t <= last_fresh}):
        with pytest.raises(Unauthorized, match="replayed"):
            _check_at(auth, now, msg, monkeypatch)
    # one ms later it is stale: still refused, now for its timestamp
    with pytest.raises(Unauthorized, match="window"):
        _check_at(auth, last_fresh + 1, msg, monkeypatch)


def test_other_traffic_does_not_make_the_cache_forget_early(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Expiry runs on every check: traffic at the edge of the window must not evict a
    signature that is still fresh."""
    auth = Authenticator(SECRET, WINDOW)
    first = _message(T0 + WINDOW)
    _check_at(auth, T0, first, monkeypatch)
    for i in range(1, 5):
        now = T0 + i * WINDOW // 2
        _check_at(auth, now, _message(now - 1), monkeypatch)  # fresh, new signatures
    with pytest.raises(Unauthorized, match="replayed"):
        _check_at(auth, T0 + 2 * WINDOW, first, monkeypatch)
