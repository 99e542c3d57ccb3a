"""64 downloads from one slow allowed host must not starve anyone.

Client A starts 64 downloads (plus a few over its per-client cap) from ``slow.fal.media``,
which stalls every body. Meanwhile a new client B must get its ``hello`` answered, list, and
download from another host; A's own ``list`` must not be ``busy``. The downloads queue behind
the per-host slots and give their server request slots back while they wait.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from protocol.vocabulary import ItemStatus, MediaType
from tests.adversarial.conftest import Figures
from tests.adversarial.fs_support import (
    Stopwatch,
    code_of,
    fetch_env,
    https_hosts,
    no_traceback,
    peak_rss,
    running,
)
from tests.fetch.server import Handler, serve
from tests.reliability.helpers import RawDealer, request, signed

BODY = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 64
DOWNLOADS = 64
OVER = 4  # beyond the per-client cap


def stalled(release: threading.Event) -> object:
    """Head and half the body, then nothing until ``release`` (or 60 s)."""

    def respond(h: Handler) -> None:
        h.send(200, {"Content-Type": "video/mp4", "Content-Length": str(len(BODY))},
               BODY[:100])
        h.wfile.flush()
        h.close_connection = True
        release.wait(60)

    return respond


async def test_downloads_from_one_slow_host_starve_no_one(tmp_path: Path,
                                                          figures: Figures) -> None:
    release = threading.Event()
    with https_hosts(tmp_path) as (server, ca):
        server.route("/slow.mp4", stalled(release))
        server.route("/fast.mp4", serve(BODY))
        env = fetch_env(server, ca, MEDIA_SIDECAR_DOWNLOAD_QUEUE_PER_CLIENT=str(DOWNLOADS),
                        MEDIA_SIDECAR_READ_TIMEOUT="60", MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS="1")
        with running(tmp_path, "--drain-timeout", "1", env=env) as sc:
            a = RawDealer(sc.endpoint, sc.secret.encode())
            b: RawDealer | None = None
            try:
                await a.hello()
                ids = []
                for i in range(DOWNLOADS + OVER):
                    rid, env_ = request("addMediaItem", {
                        "id": f"slow{i}", "projectId": "a", "name": "s", "type": MediaType.VIDEO,
                        "sourceUrl": f"https://slow.fal.media/slow.mp4?{i}",
                        "download": True})
                    ids.append(rid)
                    await a.send(signed(a.secret, env_))
                    if i % 16 == 15:
                        # batches within maxInFlight (32): a waiting download stops counting
                        # against it once registered
                        await asyncio.sleep(0.3)
                # the ones over the cap answer busy at once; the rest wait
                busy = 0
                for _ in range(OVER):
                    msg = await a.recv(timeout=10)
                    assert msg.get("id") in ids
                    busy += code_of(msg) == "busy"
                await asyncio.sleep(0.5)  # every download is queued or stalled by now

                # a queued download is cancelled at once, not when it reaches the front
                clock = Stopwatch()
                last = DOWNLOADS - 1
                cancel = await a.call("cancelDownload", {"id": f"slow{last}"}, timeout=10)
                reply = await a.recv(timeout=10)
                while reply.get("id") != ids[last]:
                    reply = await a.recv(timeout=10)
                cancel_s = clock.elapsed
                clock = Stopwatch()
                own_list = await a.call("listMediaItems", {"projectId": "a"}, timeout=10)
                own_list_s = clock.elapsed
                b = RawDealer(sc.endpoint, sc.secret.encode())
                clock = Stopwatch()
                await b.hello()
                hello_s = clock.elapsed
                clock = Stopwatch()
                listed = await b.call("listMediaItems", {"projectId": "b"}, timeout=10)
                fast = await b.call("addMediaItem", {
                    "id": "fast", "projectId": "b", "name": "f", "type": MediaType.VIDEO,
                    "sourceUrl": "https://fast.fal.media/fast.mp4", "download": True},
                    timeout=20)
                other_s = clock.elapsed
                connections = server.log.connections
                rss = peak_rss(sc.pid)
            finally:
                release.set()
                a.close()
                if b is not None:
                    b.close()
            assert no_traceback(sc)
    figures["downloads queued from one stalled host"] = DOWNLOADS
    figures["over the per-client cap: busy"] = f"{busy}/{OVER}"
    figures["connections to the slow+fast host while queued (per-host cap 2)"] = connections
    figures["a queued download cancelled: its add answered after (s)"] = cancel_s
    figures["A's own list while its 64 downloads wait (s)"] = own_list_s
    figures["new client's hello waited (s)"] = hello_s
    figures["new client's list + download from another host (s)"] = other_s
    figures["peak RSS (MiB)"] = rss // (1024 * 1024)
    assert busy == OVER
    assert cancel["result"]["cancelled"] is True and code_of(reply) == "cancelled"
    assert code_of(own_list) == "ok"
    # the 64 are registered urlOnly; the busy ones left nothing behind
    assert own_list["result"]["counts"]["urlOnly"] == DOWNLOADS
    assert code_of(listed) == "ok"
    assert code_of(fast) == "ok" and fast["result"]["item"]["status"] == ItemStatus.SAVED
    assert connections <= 2 + 1  # two slow downloads at a time, plus the fast one
