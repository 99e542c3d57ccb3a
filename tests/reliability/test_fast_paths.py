"""The hot path's hand-built shortcuts say exactly what the slow, model-built path says."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import random
import struct
from pathlib import Path

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from protocol.control import PingResult
from protocol.envelope import SIGNATURE_DOMAIN, Reply, Request
from sidecar.events import EventBus
from sidecar.rpc.dispatch import Handlers
from sidecar.rpc.early import is_plain_ping
from sidecar.rpc.server import Server
from sidecar.settings import Settings
from sidecar.wire import signing
from sidecar.wire.codec import encode


def _reference_signature(key: bytes, env: bytes, payloads: list[bytes]) -> bytes:
    """The signature exactly as docs/PROTOCOL.md writes it, fed part by part."""
    digest = hashlib.sha256(b"".join(payloads)).digest()
    mac = hmac.new(key, digestmod=hashlib.sha256)
    mac.update(SIGNATURE_DOMAIN + struct.pack(">I", len(env)) + env)
    mac.update(struct.pack(">I", len(payloads)))
    for p in payloads:
        mac.update(struct.pack(">Q", len(p)))
    mac.update(digest)
    return mac.digest()


def test_one_shot_signature_equals_the_documented_construction() -> None:
    rng = random.Random(7)
    for _ in range(300):
        key = os.urandom(rng.randrange(0, 80))
        env = os.urandom(rng.randrange(0, 4000))
        payloads = [os.urandom(rng.randrange(0, 3000)) for _ in range(rng.randrange(0, 5))]
        want = _reference_signature(key, env, payloads)
        assert signing.sign(key, env, payloads) == want
        assert signing.sign(key, memoryview(env), [memoryview(p) for p in payloads]) == want
        assert signing.verify(key, want, env, payloads)


def test_reused_packer_encodes_like_packb_and_survives_a_failure() -> None:
    obj = {"type": "reply", "id": "x", "result": {"a": [1, 2.5, None, b"\0", "é"]}, "ts": 1}
    want = msgpack.packb(obj, use_bin_type=True, datetime=False)
    assert encode(obj) == want
    with pytest.raises(TypeError):
        encode({"bad": object()})
    assert encode(obj) == want


async def test_fast_ping_reply_matches_the_model_built_reply(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret=b"k" * 32, runtime_dir=tmp_path)
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())

    class NoTransport:
        def start(self, *a: object) -> None: ...
        def stop_receiving(self) -> None: ...
        def send(self, *a: object) -> None: ...

    server = Server(settings, NoTransport(), Handlers(), bus, "s")  # type: ignore[arg-type]
    fast = server.ping_reply("id-1")
    model = Reply(type="reply", id="id-1", ts=fast["ts"], result=PingResult(
        pong=True, time=fast["result"]["time"],
        uptime_ms=fast["result"]["uptimeMs"]).wire()).model_dump()
    assert fast == model
    assert encode(fast) == encode(model)


_key = st.sampled_from(["type", "id", "method", "params", "ts", "extra", b"id"])
_val = st.one_of(st.sampled_from(["request", "ping", "reply", "", "x" * 128, "y" * 129]),
                 st.integers(-5, 2**40), st.booleans(), st.none(), st.just({}),
                 st.just({"a": 1}), st.just([]), st.floats(allow_nan=False), st.binary())


@settings(max_examples=1000, deadline=None, database=None, derandomize=True)
@given(st.dictionaries(_key, _val, max_size=6))
def test_plain_ping_check_accepts_only_what_the_request_model_accepts_as_a_plain_ping(
        raw: dict[object, object]) -> None:
    try:
        req = Request.model_validate(raw)
        model_says = req.method == "ping" and not req.params
    except ValidationError:
        model_says = False
    assert is_plain_ping(raw) == model_says  # type: ignore[arg-type]


def test_plain_ping_check_on_the_usual_shapes() -> None:
    base = {"type": "request", "id": "a", "method": "ping", "ts": 1}
    assert is_plain_ping(base) and is_plain_ping({**base, "params": {}})
    assert not is_plain_ping({**base, "params": {"x": 1}})
    assert not is_plain_ping({**base, "ts": True})
    assert not is_plain_ping({**base, "extra": 1})
