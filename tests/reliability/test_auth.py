"""Unauthenticated and forged requests are refused, every one, and change nothing."""

from __future__ import annotations

import os
from pathlib import Path

from protocol.vocabulary import MediaType
from sidecar.client.frames import now_ms
from sidecar.wire import signing
from tests.reliability.conftest import Figures
from tests.reliability.helpers import RawDealer, request, signed
from tests.support import SidecarProcess

PROJECT = "p-auth"


def _add(rid: str | None = None, ts: int | None = None, name: str = "forged") -> tuple[
        str, bytes]:
    return request("addMediaItem", {"projectId": PROJECT, "name": name, "type": MediaType.IMAGE},
                   rid=rid, ts=ts)


def _forgeries(secret: bytes) -> list[tuple[str, list[bytes]]]:
    """(what, frames) of requests that must all be refused; each would add an item."""
    data = os.urandom(4096)
    out: list[tuple[str, list[bytes]]] = []
    _, env = _add()
    out.append(("no signature frame", [b"", env, data]))
    out.append(("wrong key", signed(b"x" * len(secret), _add()[1], [data])))
    out.append(("empty key", signed(b"", _add()[1], [data])))
    good = signed(secret, _add()[1], [data])
    out.append(("truncated signature", [good[0][:31], good[1], data]))
    out.append(("signature with a byte flipped", [bytes([good[0][0] ^ 1]) + good[0][1:],
                                                   good[1], data]))
    out.append(("signature of hex digest", [good[0].hex().encode(), good[1], data]))
    _, other = _add(name="tampered")
    out.append(("envelope swapped after signing", [good[0], other, data]))
    out.append(("payload changed after signing", [good[0], good[1], data[:-1] + b"!"]))
    out.append(("payload frame added", [good[0], good[1], data, b"more"]))
    out.append(("payload frame removed", [good[0], good[1]]))
    two = signed(secret, _add()[1], [data[:100], data[100:]])
    out.append(("payload split moved", [two[0], two[1], data[:101], data[101:]]))
    out.append(("stale ts", signed(secret, _add(ts=now_ms() - 120_000)[1], [data])))
    out.append(("future ts", signed(secret, _add(ts=now_ms() + 120_000)[1], [data])))
    out.append(("ts zero", signed(secret, _add(ts=0)[1], [data])))
    out.append(("signature over the domain-less text",
                [signing.hmac.digest(secret, good[1], "sha256"), good[1], data]))
    return out


async def test_forged_and_unauthenticated_requests_are_all_refused_and_change_nothing(
        sidecar: SidecarProcess, figures: Figures) -> None:
    secret = sidecar.secret.encode()
    good = RawDealer(sidecar.endpoint, secret)
    attacker = RawDealer(sidecar.endpoint, secret)
    try:
        await good.hello()
        before = await good.call("listMediaItems", {"projectId": PROJECT})
        status_before = await good.call("storageStatus")
        refused = total = 0
        codes: dict[str, int] = {}
        # 1. before any hello: correctly signed, but no session
        _, env = _add()
        await attacker.send(signed(secret, env, [b"abc"]))
        msg = await attacker.recv()
        total += 1
        refused += msg["type"] == "error" and msg["error"]["code"] == "not_ready"
        codes["not_ready (before hello)"] = int(msg["type"] == "error")
        await attacker.hello()
        # 2. forged or tampered, after a successful hello (every one would add an item)
        for _what, frames in _forgeries(secret):
            await attacker.send(frames)
            msg = await attacker.recv()
            total += 1
            code = msg["error"]["code"] if msg["type"] == "error" else "ACCEPTED"
            codes[code] = codes.get(code, 0) + 1
            refused += code in ("unauthorized", "invalid_request")
        # 3. a replay of a request that was accepted once
        _, env = request("ping")
        frames = signed(secret, env)
        await attacker.send(frames)
        assert (await attacker.recv())["type"] == "reply"
        for _ in range(20):
            await attacker.send(frames)
            msg = await attacker.recv()
            total += 1
            replay = msg["type"] == "error" and msg["error"]["code"] == "unauthorized"
            refused += replay
            codes["unauthorized (replays)"] = codes.get("unauthorized (replays)", 0) + replay
        after = await good.call("listMediaItems", {"projectId": PROJECT})
        status_after = await good.call("storageStatus")
    finally:
        good.close()
        attacker.close()
    figures["requests refused"] = f"{refused}/{total}"
    figures["codes"] = codes
    assert refused == total, codes
    assert before["result"]["items"] == after["result"]["items"] == []
    assert status_before["result"]["counts"] == status_after["result"]["counts"]
    blobs = Path(sidecar.data_dir) / "blobs"
    assert not any(p.is_file() for p in blobs.rglob("*")) if blobs.exists() else True
