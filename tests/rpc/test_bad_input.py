"""Every malformed message gets a typed error where a reply can be routed; the server
keeps serving."""

from __future__ import annotations

import time

import msgpack
import pytest

from protocol.vocabulary import FaultOp
from sidecar.client import Client, RemoteError
from sidecar.wire import signing
from sidecar.wire.codec import encode
from tests.rpc.conftest import SECRET, Served


def _now() -> int:
    return int(time.time() * 1000)


async def _unmatched_error(c: Client, frames: list[bytes]) -> dict[str, object]:
    await c.send_frames(frames)
    reply = await c.unmatched(5)
    assert reply["type"] == "error"
    error = reply["error"]
    assert isinstance(error, dict)
    return {"id": reply["id"], **error}


def _signed(envelope: bytes, *payloads: bytes) -> list[bytes]:
    return [signing.sign(SECRET, envelope, payloads), envelope, *payloads]


async def _still_serving(served: Served) -> None:
    c = await served.client()
    try:
        assert (await c.call("ping"))["pong"] is True
    finally:
        await c.close()


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([b"only-one-frame"], "invalid_request"),
        (_signed(b"\xc1\xc1\xc1"), "invalid_request"),
        (_signed(msgpack.packb([1, 2, 3])), "invalid_request"),
        (_signed(msgpack.packb({1: 2})), "invalid_request"),
        (_signed(encode({"type": "request", "id": 7, "method": "ping", "ts": 1})),
         "unauthorized"),
    ],
    ids=["one-frame", "bad-msgpack", "array-envelope", "int-keys", "stale-int-id"],
)
async def test_malformed_message_gets_error_with_null_id(served: Served, frames: list[bytes],
                                                         code: str) -> None:
    c = await served.client()
    try:
        err = await _unmatched_error(c, frames)
        assert err["code"] == code
        assert err["id"] is None
    finally:
        await c.close()
    await _still_serving(served)


async def test_envelope_missing_method_names_the_field(served: Served) -> None:
    c = await served.client()
    try:
        env = encode({"type": "request", "id": "x1", "params": {}, "ts": _now()})
        with pytest.raises(RemoteError) as err:
            await c.call_frames("x1", _signed(env))
        assert err.value.code == "invalid_request"
        assert err.value.field == "envelope.method"
    finally:
        await c.close()


async def test_envelope_with_unknown_field_is_invalid_request(served: Served) -> None:
    c = await served.client()
    try:
        env = encode({"type": "request", "id": "x2", "method": "ping", "params": {},
                      "ts": _now(), "extra": 1})
        with pytest.raises(RemoteError) as err:
            await c.call_frames("x2", _signed(env))
        assert err.value.code == "invalid_request"
    finally:
        await c.close()


async def test_unknown_method_is_named(served: Served) -> None:
    c = await served.client()
    try:
        with pytest.raises(RemoteError) as err:
            await c.call("dropAllTables")
        assert err.value.code == "unknown_method"
        with pytest.raises(RemoteError) as err:
            await c.call("testFault", {"op": FaultOp.CLEAR})  # not served without test hooks
        assert err.value.code == "unknown_method"
    finally:
        await c.close()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"drainTimeoutMs": "soon"}, "params.drainTimeoutMs"),
        ({"drainTimeoutMs": -1}, "params.drainTimeoutMs"),
        ({"drainTimeoutMs": 1.5}, "params.drainTimeoutMs"),
        ({"bogus": 1}, "params.bogus"),
    ],
)
async def test_wrong_param_types_name_the_field(served: Served, params: dict[str, object],
                                                field: str) -> None:
    c = await served.client()
    try:
        with pytest.raises(RemoteError) as err:
            await c.call("shutdown", params)
        assert err.value.code == "invalid_params"
        assert err.value.field == field
    finally:
        await c.close()
    await _still_serving(served)


async def test_oversized_envelope_is_payload_too_large(served: Served) -> None:
    c = await served.client()
    try:
        with pytest.raises(RemoteError) as err:
            await c.call("ping", {"pad": "x" * 70_000})
        assert err.value.code == "payload_too_large"
    finally:
        await c.close()


async def test_too_many_payload_frames_is_payload_too_large(served: Served) -> None:
    c = await served.client()
    try:
        with pytest.raises(RemoteError) as err:
            await c.call("ping", {}, payloads=[b"a"] * 5)
        assert err.value.code == "payload_too_large"
    finally:
        await c.close()


async def test_payload_frames_on_a_method_without_payloads_is_invalid(served: Served) -> None:
    c = await served.client()
    try:
        with pytest.raises(RemoteError) as err:
            await c.call("subscribe", {}, payloads=[b"abc"])
        assert err.value.code == "invalid_params" and err.value.field == "payloads"
    finally:
        await c.close()


async def test_frame_over_max_frame_bytes_drops_only_that_peer(served: Served) -> None:
    big = await served.client()
    try:
        await big.send_frames(_signed(encode({"type": "request", "id": "big", "method": "ping",
                                              "params": {}, "ts": _now()}),
                                      b"\0" * (9 * 1024 * 1024)))
        await _still_serving(served)
    finally:
        await big.close()
