"""Many clients, many mixed requests: every request gets exactly one reply."""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any

import pytest

from protocol.vocabulary import MediaType
from tests.reliability.conftest import Figures, soak
from tests.reliability.helpers import RawDealer, request, signed
from tests.support import SidecarProcess

CLIENTS = 16
WINDOW = 16  # below the per-client in-flight limit, so "busy" stays rare (it is a reply too)


def _mixed(rng: random.Random, client: int, i: int) -> tuple[str, list[bytes], bytes]:
    """(rid, payloads, envelope) of one request of a realistic mix."""
    project = f"p{client % 4}"
    kind = rng.random()
    payloads: list[bytes] = []
    if kind < 0.35:
        rid, env = request("ping")
    elif kind < 0.55:
        rid, env = request("listMediaItems", {"projectId": project, "limit": 20})
    elif kind < 0.70:
        rid, env = request("getMediaItem", {"id": f"c{client}-{rng.randrange(i + 1)}"})
    elif kind < 0.80:
        rid, env = request("storageStatus")
    elif kind < 0.90:
        payloads = [os.urandom(rng.randrange(1, 2048))]
        rid, env = request("addMediaItem", {"id": f"c{client}-{i}", "projectId": project,
                                            "name": f"clip {i}", "type": MediaType.IMAGE})
    elif kind < 0.95:
        rid, env = request("noSuchMethod")
    else:
        rid, env = request("getMediaItem", {"id": 42})  # invalid params: an error reply
    return rid, payloads, env


async def _client(sc: SidecarProcess, n: int, seed: int) -> dict[str, Any]:
    secret = sc.secret.encode()
    dealer = RawDealer(sc.endpoint, secret)
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    types: dict[str, int] = {}
    try:
        await dealer.hello()
        sent = 0
        outstanding = 0
        while sent < n or outstanding:
            while sent < n and outstanding < WINDOW:
                rid, payloads, env = _mixed(rng, seed, sent)
                counts[rid] = 0
                await dealer.send(signed(secret, env, payloads))
                sent += 1
                outstanding += 1
            msg = await dealer.recv(30)
            if msg.get("type") == "event":
                continue
            rid = msg.get("id")
            counts[rid] = counts.get(rid, 0) + 1
            key = msg["type"] if msg["type"] == "reply" else msg["error"]["code"]
            types[key] = types.get(key, 0) + 1
            outstanding -= 1
        try:  # anything extra (a duplicate) would arrive now
            while True:
                msg = await dealer.recv(0.3)
                rid = msg.get("id")
                counts[rid] = counts.get(rid, 0) + 1
        except TimeoutError:
            pass
    finally:
        dealer.close()
    return {"counts": counts, "types": types}


@pytest.mark.timeout(soak(300, 3600))
async def test_sixteen_clients_get_exactly_one_reply_per_request(
        sidecar: SidecarProcess, figures: Figures) -> None:
    n = soak(2000, 10_000)
    t0 = time.perf_counter()
    results = await asyncio.gather(*(_client(sidecar, n, c) for c in range(CLIENTS)))
    elapsed = time.perf_counter() - t0
    lost = sum(1 for r in results for c in r["counts"].values() if c == 0)
    dup = sum(c - 1 for r in results for c in r["counts"].values() if c > 1)
    stray = sum(1 for r in results for rid in r["counts"] if rid is None)
    types: dict[str, int] = {}
    for r in results:
        for k, v in r["types"].items():
            types[k] = types.get(k, 0) + v
    total = CLIENTS * n
    figures["requests"] = total
    figures["lost replies"] = lost
    figures["duplicated replies"] = dup
    figures["reply kinds"] = types
    figures["throughput req/s"] = round(total / elapsed)
    assert lost == 0 and dup == 0 and stray == 0
    assert sum(types.values()) == total
