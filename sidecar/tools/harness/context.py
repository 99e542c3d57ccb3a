"""What a case gets: fresh peers, unique project ids, the server's announced limits, and
small helpers for the steps many cases share (add inline bytes, inject a fault)."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import zmq

from protocol.vocabulary import FaultOp, MediaType
from sidecar.client.frames import RemoteError
from sidecar.tools.harness.httpfixture import HttpFixture
from sidecar.tools.harness.outcome import CaseFailed, NotApplicable, check
from sidecar.tools.harness.peer import Json, Peer
from sidecar.tools.harness.schemas import SchemaBook
from sidecar.tools.harness.target import Target


@dataclass(frozen=True)
class Options:
    timeout: float = 10.0
    large_bytes: int = 32 * 1024 * 1024
    require_test_hooks: bool = False
    allow_shutdown: bool = True
    # URL-only items are registered under this base when the server does not accept the
    # harness's loopback HTTP server (no request is made to it unless storage fails).
    media_url_base: str = "https://v3.fal.media/files/media-sidecar-harness"

NO_LOOPBACK = ("the server does not allow downloads from the harness's loopback HTTP "
               "server (allow host 127.0.0.1 with plain http from loopback)")


@dataclass
class Context:
    target: Target
    book: SchemaBook
    options: Options
    server: Json  # the hello result of the harness's first connection
    zctx: zmq.Context[zmq.Socket[bytes]]
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    _peers: list[Peer] = field(default_factory=list)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _http: HttpFixture | None = None
    _loopback_ok: bool | None = None

    @property
    def limits(self) -> Json:
        limits: Json = self.server["limits"]
        return limits

    @property
    def has_test_hooks(self) -> bool:
        return "testFault" in self.server["methods"]

    def peer(self, *, hello: bool = True, timeout: float | None = None) -> Peer:
        """A new connection (a new session), said hello to unless ``hello=False``."""
        p = Peer(self.zctx, self.target, self.book, timeout=timeout or self.options.timeout)
        self._peers.append(p)
        if hello:
            p.hello()
        return p

    def close_peers(self) -> None:
        while self._peers:
            self._peers.pop().close()

    def close(self) -> None:
        self.close_peers()
        if self._http is not None:
            self._http.close()
            self._http = None

    @property
    def http(self) -> HttpFixture:
        if self._http is None:
            self._http = HttpFixture()
        return self._http

    def loopback_downloads(self) -> bool:
        """Whether the server accepts URLs of the harness's HTTP server (probed once)."""
        if self._loopback_ok is None:
            peer = self.peer()
            try:
                item = peer.call("addMediaItem", {
                    "projectId": self.project("probe"), "name": "probe.mp4",
                    "type": MediaType.VIDEO, "sourceUrl": self.http.url("parked", "probe.mp4")})
            except RemoteError as exc:
                if exc.code != "host_not_allowed":
                    raise
                self._loopback_ok = False
            else:
                peer.call("removeMediaItem", {"id": item["item"]["id"]})
                self._loopback_ok = True
        return self._loopback_ok

    def need_loopback_downloads(self) -> HttpFixture:
        if not self.loopback_downloads():
            raise NotApplicable(NO_LOOPBACK)
        return self.http

    def media_url(self, name: str) -> str:
        """A URL for a URL-only item that nobody is expected to fetch."""
        if self.loopback_downloads():
            return self.http.url("parked", f"{self.run_id}-{name}.mp4")
        return f"{self.options.media_url_base}/{self.run_id}-{name}.mp4"

    def project(self, label: str = "p") -> str:
        """A project id no other case (nor an earlier run) uses."""
        return f"harness-{self.run_id}-{label}-{next(self._counter)}"

    def item_id(self, label: str = "i") -> str:
        return f"h{self.run_id}-{label}-{next(self._counter)}"

    def need_test_hooks(self) -> None:
        if not self.has_test_hooks:
            raise NotApplicable("server has no test hooks")

    @contextlib.contextmanager
    def fault(self, peer: Peer, op: str, errno: str, count: int = 1) -> Iterator[None]:
        """Make the next ``count`` store operations ``op`` fail; cleared on the way out."""
        peer.call("testFault", {"op": op, "errno": errno, "count": count})
        try:
            yield
        finally:
            peer.call("testFault", {"op": FaultOp.CLEAR})


def add_inline(peer: Peer, project: str, data: bytes, *, item_id: str | None = None,
               chunks: int = 1, timeout: float | None = None, **params: Any) -> Json:
    """addMediaItem with ``data`` in ``chunks`` payload frames; checks the reply's item."""
    body: Json = {"projectId": project, "name": params.pop("name", "clip.mp4"),
                  "type": params.pop("type", MediaType.VIDEO), **params}
    if item_id is not None:
        body["id"] = item_id
    size = len(data)
    step = max(1, -(-size // chunks))
    frames = [data[i:i + step] for i in range(0, size, step)] or [b""]
    result = peer.call("addMediaItem", body, frames, timeout=timeout)
    item = result["item"]
    check(item["projectId"] == project, f"added item is in project {item['projectId']!r}")
    if item_id is not None:
        check(item["id"] == item_id, f"added item has id {item['id']!r}, not {item_id!r}")
    return result


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def listed_ids(peer: Peer, project: str, **filters: Any) -> list[str]:
    """Every item id of a project, following cursors (bounded)."""
    ids: list[str] = []
    cursor = None
    for _ in range(1000):
        params: Json = {"projectId": project, **filters}
        if cursor is not None:
            params["cursor"] = cursor
        page = peer.call("listMediaItems", params)
        for item in page["items"]:
            check(item["projectId"] == project,
                  f"listing {project} returned an item of {item['projectId']}")
            ids.append(item["id"])
        cursor = page["nextCursor"]
        if cursor is None:
            return ids
    raise CaseFailed("listMediaItems never returned nextCursor null")
