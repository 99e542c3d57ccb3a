"""Control requests (hello, ping, cancelDownload, shutdown, subscribe) are never ``busy`` and
never wait for a slot: a client at its in-flight limit, with the pool busy with its adds,
still gets them answered; so does a new client's hello.

(Downloads waiting on a slow host are covered by ``test_fetch_starvation.py``: they give
their slots back while they wait.)
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from protocol.vocabulary import MediaType
from tests.adversarial.conftest import Figures, soak
from tests.adversarial.wire_support import attacked_sidecar
from tests.reliability.helpers import RawDealer, request, signed

PROJECT = "p-control"


async def test_control_requests_are_never_busy_at_the_in_flight_limit(
        tmp_path: Path, figures: Figures) -> None:
    with attacked_sidecar(tmp_path, "--drain-timeout", "5") as sc:
        secret = sc.secret.encode()
        a = RawDealer(sc.endpoint, secret)
        b: RawDealer | None = None
        try:
            await a.hello()
            kinds: dict[str, str] = {}
            adds = soak(300, 2_000)
            payload = os.urandom(64 * 1024)
            for i in range(adds):
                rid, env = request("addMediaItem", {"id": f"c{i}", "projectId": PROJECT,
                                                    "name": f"c{i}", "type": MediaType.IMAGE})
                kinds[rid] = "add"
                await a.send(signed(secret, env, [payload]))
                if i % 10 == 5:
                    for method, params in (("ping", {}),
                                           ("cancelDownload", {"id": "nothing-running"}),
                                           ("subscribe", {"projectId": PROJECT}),
                                           ("hello", {"protocol": "1.0.0"})):
                        rid, env = request(method, params)
                        kinds[rid] = method
                        await a.send(signed(secret, env))
            # a new client says hello while A's requests fill its share of the pool
            b = RawDealer(sc.endpoint, secret)
            started = time.monotonic()
            await b.hello()
            hello_s = time.monotonic() - started
            rid, env = request("shutdown", {"drainTimeoutMs": 5000})
            kinds[rid] = "shutdown"
            await a.send(signed(secret, env))
            answers: dict[str, str] = {}
            deadline = time.monotonic() + 120
            while len(answers) < len(kinds) and time.monotonic() < deadline:
                msg = await a.recv(timeout=60)
                if msg["type"] == "event":
                    continue
                rid = msg["id"]
                assert rid in kinds and rid not in answers, msg
                answers[rid] = "ok" if msg["type"] == "reply" else msg["error"]["code"]
            by_kind: dict[str, dict[str, int]] = {}
            for rid, kind in kinds.items():
                slot = by_kind.setdefault(kind, {})
                slot[answers.get(rid, "NO ANSWER")] = slot.get(answers.get(rid, "NO ANSWER"),
                                                               0) + 1
            figures["requests"] = f"{adds} adds, {len(kinds) - adds - 1} control, 1 shutdown"
            figures["answers by method"] = by_kind
            figures["new client's hello while A is at its limit (s)"] = round(hello_s, 3)
            assert len(answers) == len(kinds), by_kind
            assert by_kind["add"].get("busy", 0) > 0, (
                "the client never reached its in-flight limit: the test proved nothing")
            assert set(by_kind["add"]) <= {"ok", "busy", "shutting_down"}, by_kind
            assert by_kind["ping"] == {"ok": len(by_kind["ping"]) and sum(
                by_kind["ping"].values())}, by_kind
            assert by_kind["cancelDownload"] == {"not_found": sum(
                by_kind["cancelDownload"].values())}, by_kind
            assert set(by_kind["subscribe"]) == {"ok"} and set(by_kind["hello"]) == {"ok"}
            assert by_kind["shutdown"] == {"ok": 1}, by_kind
            assert sc.wait(30) == 0
        finally:
            a.close()
            if b is not None:
                b.close()
