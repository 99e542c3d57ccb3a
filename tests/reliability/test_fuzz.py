"""Wire fuzzing: thousands of malformed or mutated multipart messages against a real
sidecar. It stays alive, answers each of them, answers every well-formed request, and its
memory stays bounded."""

from __future__ import annotations

import time
from typing import Any

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sidecar.client.frames import now_ms
from sidecar.wire import signing
from sidecar.wire.codec import decode, encode
from tests.reliability.conftest import Figures, soak
from tests.reliability.helpers import rss
from tests.support import SidecarProcess

METHODS = ["hello", "ping", "subscribe", "unsubscribe", "addMediaItem", "getMediaItem",
           "removeMediaItem", "listMediaItems", "retrySaveItem", "retryAllUnsaved",
           "storageStatus", "downloadUrlOnlyItem", "cancelDownload", "testFault", "nope", ""]
# never "shutdown": a well-formed one would (rightly) stop the server under test

ints = st.integers(-(2**63), 2**64 - 1)  # what msgpack can carry
leaf = st.one_of(st.none(), st.booleans(), ints, st.floats(),
                 st.text(max_size=40), st.binary(max_size=40))
value = st.recursive(leaf, lambda c: st.one_of(st.lists(c, max_size=4),
                                               st.dictionaries(st.text(max_size=12), c,
                                                               max_size=4)), max_leaves=12)
params = st.dictionaries(st.sampled_from(["projectId", "id", "name", "type", "sourceUrl",
                                          "sourcePath", "download", "limit", "cursor",
                                          "metadata", "protocol", "events", "x"]),
                         value, max_size=6)


@st.composite
def envelopes(draw: st.DrawFn) -> bytes:
    """An envelope that decodes, with fields right, wrong, missing or extra."""
    env: dict[Any, Any] = {}
    if draw(st.booleans()):
        env["type"] = draw(st.sampled_from(["request", "reply", "event", 1, None]))
    if draw(st.integers(0, 9)):
        env["id"] = draw(st.one_of(st.text(min_size=1, max_size=20), st.text(min_size=129),
                                   ints, st.none(), st.just("")))
    if draw(st.integers(0, 9)):
        env["method"] = draw(st.one_of(st.sampled_from(METHODS), st.text(max_size=70),
                                       ints))
    if draw(st.integers(0, 3)):
        env["params"] = draw(st.one_of(params, value))
    if draw(st.integers(0, 9)):
        env["ts"] = draw(st.one_of(st.just(now_ms()), ints, st.floats(),
                                   st.booleans(), st.text(max_size=5)))
    if draw(st.integers(0, 5)) == 0:
        env[draw(st.text(max_size=8))] = draw(value)
    if env.get("method") == "shutdown":
        env["method"] = "ping"
    return encode(env)


@st.composite
def messages(draw: st.DrawFn, secret: bytes) -> list[bytes]:
    kind = draw(st.integers(0, 5))
    payloads = draw(st.lists(st.binary(max_size=300), max_size=3))
    if kind == 0:  # signed, well-formed msgpack, fields anything
        env = draw(envelopes())
        return [signing.sign(secret, env, payloads), env, *payloads]
    if kind == 1:  # not msgpack, or not a map, signed
        env = draw(st.one_of(st.binary(max_size=200),
                             value.map(lambda v: msgpack.packb(v, use_bin_type=True))))
        return [signing.sign(secret, env, payloads), env, *payloads]
    if kind == 2:  # a valid request, then bytes flipped, cut or appended anywhere
        env = encode({"type": "request", "id": "m", "method": "ping", "params": {},
                      "ts": now_ms()})
        frames = [signing.sign(secret, env, payloads), env, *payloads]
        i = draw(st.integers(0, len(frames) - 1))
        f = bytearray(frames[i])
        op = draw(st.integers(0, 2))
        if op == 0 and f:
            j = draw(st.integers(0, len(f) - 1))
            f[j] ^= draw(st.integers(1, 255))
        elif op == 1:
            del f[draw(st.integers(0, len(f))):]
        else:
            f += draw(st.binary(min_size=1, max_size=20))
        frames[i] = bytes(f)
        return frames
    if kind == 3:  # the wrong number of frames
        return draw(st.lists(st.binary(max_size=64), min_size=1, max_size=70))
    if kind == 4:  # an envelope over the size limit, or too many payload frames
        if draw(st.booleans()):
            env = encode({"type": "request", "id": "big", "method": "ping",
                          "params": {"x": "y" * (1024 * 1024 + 10)}, "ts": now_ms()})
            return [signing.sign(secret, env), env]
        env = encode({"type": "request", "id": "many", "method": "addMediaItem",
                      "params": {}, "ts": now_ms()})
        many = [b"x"] * 65
        return [signing.sign(secret, env, many), env, *many]
    # kind 5: deep nesting and odd msgpack types (ext, huge ints, non-str keys)
    env = draw(st.sampled_from([b"\x91" * 5000 + b"\xc0", b"\x81\x01\x02",
                                b"\xd4\x01\x00", b"\x81\xc4\x02id\xa1x",
                                b"\xdf\xff\xff\xff\xff", b"\xdd\xff\xff\xff\xff"]))
    return [signing.sign(secret, env), env]


@pytest.mark.timeout(soak(300, 3600))
def test_fuzzed_messages_get_answers_and_the_server_keeps_serving(
        sidecar: SidecarProcess, figures: Figures) -> None:
    secret = sidecar.secret.encode()
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 10_000)
    sock.connect(sidecar.endpoint)
    stats = {"sent": 0, "answered": 0, "pings": 0, "pings answered": 0}
    codes: dict[str, int] = {}
    seq = [0]

    def recv() -> dict[str, Any]:
        while True:
            frames = sock.recv_multipart()
            assert signing.verify(secret, frames[0], frames[1], frames[2:])
            msg: dict[str, Any] = decode(frames[1], 1 << 26)
            if msg.get("type") != "event":
                return msg

    def ping() -> None:
        seq[0] += 1
        rid = f"live-{seq[0]}"
        env = encode({"type": "request", "id": rid, "method": "ping", "params": {},
                      "ts": now_ms()})
        sock.send_multipart([signing.sign(secret, env), env])
        stats["pings"] += 1
        while True:
            msg = recv()
            if msg.get("id") == rid:
                assert msg["type"] == "reply", msg
                stats["pings answered"] += 1
                return

    env = encode({"type": "request", "id": "h", "method": "hello",
                  "params": {"protocol": "1.0.0"}, "ts": now_ms()})
    sock.send_multipart([signing.sign(secret, env), env])
    assert recv()["type"] == "reply"
    n = soak(10_000, 50_000)
    warm = min(500, n // 10)
    rss_start: list[int] = []

    @settings(max_examples=n, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def fuzz(data: st.DataObject) -> None:
        frames = data.draw(messages(secret))
        sock.send_multipart(frames)
        stats["sent"] += 1
        msg = recv()  # exactly one answer per message, an error or a reply
        stats["answered"] += 1
        key = msg["error"]["code"] if msg["type"] == "error" else msg["type"]
        codes[key] = codes.get(key, 0) + 1
        if stats["sent"] == warm:
            rss_start.append(rss(sidecar.pid))
        if stats["sent"] % 50 == 0:
            ping()

    t0 = time.perf_counter()
    try:
        fuzz()
        ping()
    finally:
        sock.close(0)
        ctx.term()
    growth = rss(sidecar.pid) - (rss_start[0] if rss_start else 0)
    figures["messages"] = stats["sent"]
    figures["answered"] = stats["answered"]
    figures["liveness pings answered"] = f"{stats['pings answered']}/{stats['pings']}"
    figures["answers by code"] = codes
    figures["RSS growth after warm-up (MiB)"] = round(growth / 2**20, 1)
    figures["seconds"] = round(time.perf_counter() - t0, 1)
    assert sidecar.proc.poll() is None, "the sidecar died"
    assert stats["answered"] == stats["sent"]
    assert stats["pings answered"] == stats["pings"]
    assert growth < 64 * 2**20
