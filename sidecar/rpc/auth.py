"""Authentication of incoming requests: signature, freshness, replay.

A request passes when its HMAC is right (constant-time compare), its ``ts`` lies within the
replay window of the server clock, and its signature was not seen within that window. The
seen-set is bounded by time (entries expire after twice the window) and by count.

The seen-set dies with the process, so a request is also refused when its ``ts`` is older
than this server's start (``not_before_ms``): a message captured before a restart cannot be
replayed to the next server, even with the same secret. Client and server read the same
machine clock; a clock stepped backwards after the start refuses requests until it catches
up (documented in docs/PROTOCOL.md).

Two steps, each done once per message: ``verify`` (the HMAC, before anything is decoded) and
``admit`` (freshness and replay, on the decoded ``ts``). No pydantic here: the early stage
(``sidecar.rpc.early``) authenticates ``hello`` before the protocol models are loaded.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence

from sidecar.wire import signing


class Authenticator:
    def __init__(self, key: bytes, window_ms: int, max_seen: int = 1_000_000,
                 not_before_ms: int = 0) -> None:
        self._key = key
        self._window_ms = window_ms
        self._not_before_ms = not_before_ms
        self._max_seen = max_seen
        self._seen: OrderedDict[bytes, int] = OrderedDict()

    @property
    def key(self) -> bytes:
        return self._key

    def verify(self, signature: memoryview | bytes, envelope: memoryview | bytes,
               payloads: Sequence[memoryview] = (), digest: bytes | None = None) -> bool:
        """Whether the HMAC is right (constant-time): the one check before decoding."""
        return signing.verify(self._key, signature, envelope, payloads, digest)

    def admit(self, signature: memoryview | bytes, ts: object, *,
              arrived_ms: int | None = None) -> str | None:
        """Why a message whose signature ``verify`` accepted is refused, or None: it is fresh
        and new (and is now remembered as seen). ``arrived_ms``: when a message held while
        the sidecar loaded arrived; its freshness is judged then, not after the wait the
        client did not cause (a replay of it is still refused: it is remembered as seen, and
        its ``ts`` ages)."""
        now = int(time.time() * 1000) if arrived_ms is None else arrived_ms
        if not isinstance(ts, int) or isinstance(ts, bool) or abs(now - ts) > self._window_ms:
            return "request timestamp outside the replay window"
        if ts < self._not_before_ms:
            return "request timestamp before this server started (replay)"
        sig = bytes(signature)
        self._expire(now)
        if sig in self._seen:
            return "replayed request"
        self._seen[sig] = now + 2 * self._window_ms
        return None

    def _expire(self, now: int) -> None:
        seen = self._seen
        while seen:
            expiry = next(iter(seen.values()))
            # ``>=``: a message is fresh up to and including ts + window, and ts may lie a
            # window ahead of ``now`` when it was first seen: keep it through now + 2 windows.
            if expiry >= now and len(seen) < self._max_seen:
                break
            seen.popitem(last=False)

    def sign(self, envelope: bytes, payloads: Sequence[bytes | bytearray | memoryview] = (),
             digest: bytes | None = None) -> bytes:
        return signing.sign(self._key, envelope, payloads, digest)
