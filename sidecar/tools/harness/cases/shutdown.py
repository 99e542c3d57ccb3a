"""Orderly shutdown, run last: the reply comes, in-flight work is answered, the server
stops and removes its connection file."""

from __future__ import annotations

import os
import time

from protocol.vocabulary import MediaType
from sidecar.tools.harness.context import Context
from sidecar.tools.harness.outcome import check
from sidecar.tools.harness.registry import case


@case("shutdown.drains_and_stops", last=True)
def drains_and_stops(ctx: Context) -> None:
    """shutdown replies accepted; an add in flight still gets its answer (done, or
    cancelled at the drain deadline); the connection file is removed."""
    peer = ctx.peer(timeout=max(ctx.options.timeout, 30.0))
    slow = peer.send("addMediaItem", {"projectId": ctx.project(), "name": "last.bin",
                                      "type": MediaType.VIDEO}, [os.urandom(8 << 20)])
    result = peer.call("shutdown", {"drainTimeoutMs": 20_000})
    check(result["accepted"] is True, "shutdown was not accepted")
    msg = peer.reply(slow)
    if msg["type"] == "error":
        check(msg["error"]["code"] in ("cancelled", "shutting_down"),
              f"the in-flight add got {msg['error']['code']} at shutdown")
    path = ctx.target.connection_file
    if path is None:
        return
    deadline = time.monotonic() + peer.timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    check(not path.exists(), f"the connection file {path} was not removed at shutdown")
