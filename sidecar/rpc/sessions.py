"""Per-connection state: handshake done, requests in flight, event subscription and seq.

A session exists only once its connection said ``hello`` successfully: a peer without the
secret never gets one (so it can neither fill the table nor evict anybody's session).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the protocol models load after the ready line (sidecar.rpc.early)
    from protocol.events import Event


@dataclass
class Session:
    identity: bytes
    ready: bool = False
    client_name: str = ""
    in_flight: int = 0
    subscribed: bool = False
    events: frozenset[str] = frozenset()  # empty: all events
    project_id: str | None = None
    seq: int = 0
    fd: int = -1  # the connection's descriptor (for its kernel send queue), -1 if unknown
    backlog: int = 0  # event bytes handed to libzmq since the peer was last seen draining
    dropped: int = 0  # events dropped for this subscriber (each one a seq gap)
    reply_backlog: int = 0  # reply payload bytes sent since the peer was last seen draining

    def wants(self, event: Event) -> bool:
        if not self.subscribed:
            return False
        if self.events and event.name not in self.events:
            return False
        if self.project_id is not None:
            project = event.project()
            if project is not None and project != self.project_id:
                return False
        return True

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


@dataclass
class Sessions:
    """Sessions by ROUTER identity. Bounded: the oldest idle session is forgotten first."""

    max_sessions: int = 4096
    _by_id: dict[bytes, Session] = field(default_factory=dict)

    def find(self, identity: bytes) -> Session | None:
        return self._by_id.get(identity)

    def get(self, identity: bytes) -> Session:
        """The session of ``identity``, made when absent (only for an authentic hello)."""
        session = self._by_id.get(identity)
        if session is None:
            if len(self._by_id) >= self.max_sessions:
                self._evict()
            session = Session(identity)
            self._by_id[identity] = session
        return session

    def forget(self, identity: bytes) -> None:
        """The connection is gone: its identity will never be seen again."""
        session = self._by_id.pop(identity, None)
        if session is not None:
            session.subscribed = False
            session.ready = False

    def subscribers(self) -> list[Session]:
        return [s for s in self._by_id.values() if s.subscribed]

    def __len__(self) -> int:
        return len(self._by_id)

    def _evict(self) -> None:
        for identity, s in list(self._by_id.items()):
            if s.in_flight == 0 and not s.subscribed:
                del self._by_id[identity]
                return
        self._by_id.pop(next(iter(self._by_id)))
