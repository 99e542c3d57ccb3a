"""Replay: captured messages replayed within the window, to the same server and to a
restarted one with the same secret and data dir (the seen-signature set dies with the
process; requests signed before a server started are refused by it)."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from protocol.vocabulary import ItemStatus, MediaType
from tests.adversarial.conftest import Figures
from tests.adversarial.wire_support import alive, attacked_sidecar
from tests.reliability.helpers import RawDealer, request, signed

PROJECT = "p-replay"


async def _add_keep(sc_endpoint: str, secret: bytes) -> None:
    c = RawDealer(sc_endpoint, secret)
    try:
        await c.hello()
        msg = await c.call("addMediaItem", {"id": "keep", "projectId": PROJECT,
                                            "name": "keep.png", "type": MediaType.IMAGE},
                           payloads=[os.urandom(4096)])
        assert msg["type"] == "reply" and msg["result"]["item"]["status"] == ItemStatus.SAVED, msg
    finally:
        c.close()


async def _listed(endpoint: str, secret: bytes) -> list[str]:
    c = RawDealer(endpoint, secret)
    try:
        await c.hello()
        msg = await c.call("listMediaItems", {"projectId": PROJECT})
        return [i["id"] for i in msg["result"]["items"]]
    finally:
        c.close()


async def test_captured_hello_and_remove_replayed_to_a_restarted_sidecar_are_refused(
        tmp_path: Path, figures: Figures) -> None:
    secret_text = secrets.token_hex(32)
    secret = secret_text.encode()
    data = tmp_path / "data"
    with attacked_sidecar(tmp_path, data_dir=data, secret=secret_text) as first:
        await _add_keep(first.endpoint, secret)
        # what an eavesdropper captures: a client's hello and its removeMediaItem
        _, hello_env = request("hello", {"protocol": "1.0.0"})
        _, remove_env = request("removeMediaItem", {"id": "keep", "projectId": PROJECT})
        captured = [signed(secret, hello_env), signed(secret, remove_env)]
        captured_at = time.monotonic()
        victim = RawDealer(first.endpoint, secret)
        try:
            for frames in captured:  # delivered once: the item is removed
                await victim.send(frames)
                assert (await victim.recv())["type"] == "reply"
            # replayed to the same server within the window: refused
            same_run = []
            for frames in captured:
                await victim.send(frames)
                msg = await victim.recv()
                same_run.append(msg["error"]["code"] if msg["type"] == "error" else "ACCEPTED")
        finally:
            victim.close()
        assert same_run == ["unauthorized", "unauthorized"], same_run
        await _add_keep(first.endpoint, secret)  # the user adds it again
    assert not alive(first)
    with attacked_sidecar(tmp_path, data_dir=data, secret=secret_text) as second:
        attacker = RawDealer(second.endpoint, secret)
        try:
            codes = []
            for frames in captured:
                await attacker.send(frames)
                msg = await attacker.recv()
                codes.append(msg["error"]["code"] if msg["type"] == "error" else "ACCEPTED")
            replayed_after = time.monotonic() - captured_at
        finally:
            attacker.close()
        assert replayed_after < 30, "the replay must fall within the replay window"
        assert codes == ["unauthorized", "unauthorized"], codes
        assert await _listed(second.endpoint, secret) == ["keep"]
        assert "before this server started" in second.stderr()
        figures["replayed to the same run"] = same_run
        figures["replayed to the restarted sidecar"] = codes
        figures["replay s after capture"] = round(replayed_after, 1)
