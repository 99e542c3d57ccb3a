"""Handshake, authentication, pipelining and events over real sockets (ipc and tcp)."""

from __future__ import annotations

import asyncio
import time

import pytest

from protocol import PROTOCOL_VERSION
from protocol.events import ItemRemoved, StorageStatusChanged
from sidecar.client import RemoteError
from sidecar.wire import signing
from sidecar.wire.codec import encode
from tests.rpc.conftest import Served


async def test_hello_names_version_methods_and_limits(served: Served) -> None:
    c = await served.client(hello=False)
    try:
        result = await c.hello()
        assert result["protocol"] == PROTOCOL_VERSION
        assert result["server"]["name"] == "media-sidecar"
        assert "ping" in result["methods"] and "hello" in result["methods"]
        assert result["limits"]["maxFrameBytes"] == 8 * 1024 * 1024
        assert result["limits"]["maxInFlight"] == 8
        assert result["session"] == "test-session"
    finally:
        await c.close()


async def test_methods_before_hello_are_refused_with_not_ready(served: Served) -> None:
    c = await served.client(hello=False)
    try:
        with pytest.raises(RemoteError) as err:
            await c.call("ping")
        assert err.value.code == "not_ready"
        await c.hello()
        assert (await c.call("ping"))["pong"] is True
    finally:
        await c.close()


async def test_hello_with_another_major_version_is_refused(served: Served) -> None:
    c = await served.client(hello=False)
    try:
        with pytest.raises(RemoteError) as err:
            await c.hello(protocol="2.0.0")
        assert err.value.code == "version_mismatch"
        assert err.value.field == "params.protocol"
        with pytest.raises(RemoteError) as err2:
            await c.call("ping")
        assert err2.value.code == "not_ready"
        minor = PROTOCOL_VERSION.split(".")[0] + ".99.0"
        assert (await c.hello(protocol=minor))["protocol"] == PROTOCOL_VERSION
    finally:
        await c.close()


async def test_wrong_secret_is_unauthorized_and_session_stays_closed(served: Served) -> None:
    bad = await served.client(hello=False)
    good = await served.client()
    try:
        # signed with a wrong secret (the reply is read with the server's, to see its code)
        hello = bad.framer.envelope("hello", {"protocol": "1.0.0"})
        frames = bad.framer.seal(hello, key=b"not-the-secret-at-all-000000000")
        with pytest.raises(RemoteError) as err:
            await bad.call_frames(hello["id"], frames)
        assert err.value.code == "unauthorized"
        assert (await good.call("ping"))["pong"]
    finally:
        await bad.close()
        await good.close()


async def test_unsigned_stale_and_replayed_requests_are_refused(served: Served) -> None:
    c = await served.client()
    try:
        # no signature: an empty first frame
        rid = c.new_id()
        env = encode({"type": "request", "id": rid, "method": "ping", "params": {},
                      "ts": int(time.time() * 1000)})
        with pytest.raises(RemoteError) as err:
            await c.call_frames(rid, [b"", env])
        assert err.value.code == "unauthorized"
        # stale: outside the 5 s replay window
        rid = c.new_id()
        env = encode({"type": "request", "id": rid, "method": "ping", "params": {},
                      "ts": int(time.time() * 1000) - 60_000})
        with pytest.raises(RemoteError) as err:
            await c.call_frames(rid, [signing.sign(c.framer.secret, env), env])
        assert err.value.code == "unauthorized"
        assert "window" in err.value.message
        # replayed: the same signed frames twice
        rid = c.new_id()
        frames = c.build_frames({"type": "request", "id": rid, "method": "ping", "params": {},
                                 "ts": int(time.time() * 1000)})
        assert (await c.call_frames(rid, frames))["pong"]
        with pytest.raises(RemoteError) as err:
            await c.call_frames(rid, frames)
        assert err.value.code == "unauthorized"
        assert "replay" in err.value.message
    finally:
        await c.close()


async def test_tampered_payload_fails_the_signature(served: Served) -> None:
    c = await served.client()
    try:
        rid = c.new_id()
        frames = c.build_frames({"type": "request", "id": rid, "method": "ping", "params": {},
                                 "ts": int(time.time() * 1000)}, [b"payload"])
        frames[2] = b"PAYLOAD"
        with pytest.raises(RemoteError) as err:
            await c.call_frames(rid, frames)
        assert err.value.code == "unauthorized"
    finally:
        await c.close()


async def test_pipelined_requests_are_answered_out_of_order(served: Served) -> None:
    c = await served.client()
    try:
        order: list[str] = []

        async def tagged(name: str, method: str) -> None:
            await c.call(method)
            order.append(name)

        slow = asyncio.create_task(tagged("slow", "storageStatus"))
        await asyncio.sleep(0.05)
        fast = [asyncio.create_task(tagged(f"ping{i}", "ping")) for i in range(20)]
        await asyncio.gather(slow, *fast)
        assert order[-1] == "slow"
        assert len(order) == 21
    finally:
        await c.close()


async def test_too_many_in_flight_for_one_client_gets_busy(served: Served) -> None:
    c = await served.client()
    try:
        results = await asyncio.gather(*(c.call("storageStatus") for _ in range(12)),
                                       return_exceptions=True)
        busy = [r for r in results if isinstance(r, RemoteError) and r.code == "busy"]
        ok = [r for r in results if isinstance(r, dict)]
        assert len(ok) == 8 and len(busy) == 4
    finally:
        await c.close()


async def test_subscribed_client_receives_events_in_seq_order_filtered_by_project(
        served: Served) -> None:
    all_events = await served.client()
    project_a = await served.client()
    quiet = await served.client()
    try:
        await all_events.subscribe()
        await project_a.subscribe(events=["itemRemoved"], project_id="A")
        served.bus.emit(ItemRemoved(id="1", project_id="A"))
        served.bus.emit(ItemRemoved(id="2", project_id="B"))
        served.bus.emit(StorageStatusChanged(writable=False, blocked=True, reason="ENOSPC"))
        got = [await all_events.next_event(5) for _ in range(3)]
        assert [e["seq"] for e in got] == [1, 2, 3]
        assert [e["event"] for e in got] == ["itemRemoved", "itemRemoved",
                                              "storageStatusChanged"]
        assert got[0]["data"] == {"id": "1", "projectId": "A", "counts": None}
        only_a = await project_a.next_event(5)
        assert only_a["data"]["projectId"] == "A" and only_a["seq"] == 1
        await asyncio.sleep(0.2)
        assert project_a.pending_events() == 0
        assert quiet.pending_events() == 0
        assert (await all_events.call("unsubscribe"))["unsubscribed"] is True
        served.bus.emit(ItemRemoved(id="3", project_id="A"))
        assert (await project_a.next_event(5))["data"]["id"] == "3"
        await asyncio.sleep(0.2)
        assert all_events.pending_events() == 0
    finally:
        for c in (all_events, project_a, quiet):
            await c.close()


async def test_subscribe_to_unknown_event_is_invalid_params(served: Served) -> None:
    c = await served.client()
    try:
        with pytest.raises(RemoteError) as err:
            await c.subscribe(events=["nope"])
        assert err.value.code == "invalid_params" and err.value.field == "params.events"
    finally:
        await c.close()


async def test_shutdown_replies_then_drains_in_flight_work(served: Served) -> None:
    c = await served.client()
    try:
        slow = asyncio.create_task(c.call("storageStatus"))
        await asyncio.sleep(0.05)
        reply = await c.call("shutdown", {"drainTimeoutMs": 5000})
        assert reply["accepted"] is True and reply["inFlight"] == 1
        with pytest.raises(RemoteError) as err:
            await c.call("ping")
        assert err.value.code == "shutting_down"
        assert (await slow)["writable"] is True
        await asyncio.wait_for(served.task, 5)
    finally:
        await c.close()
