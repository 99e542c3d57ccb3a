"""Messages of the session itself: hello, ping, shutdown, subscribe."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from protocol.base import Params, Result


class ClientInfo(Params):
    """Who the client is (for logs)."""

    name: Annotated[str, Field(max_length=128)]
    version: Annotated[str, Field(max_length=64)] = ""


class HelloParams(Params):
    """Opens the session. Nothing but hello is served before it succeeds."""

    protocol: Annotated[str, Field(max_length=32, description="The client's protocol version.")]
    client: ClientInfo | None = None


class ServerInfo(Result):
    """The server's name and version."""

    name: str
    version: str


class Limits(Result):
    """Limits the server enforces; a client must stay within them. ``maxInFlight`` is per
    client (beyond it a request is answered ``busy``); ``maxInFlightServer`` bounds the
    requests running at once over all clients (beyond it they wait their turn, never
    ``busy``); ``maxDownloadBytes`` is the largest download (``payload_too_large``)."""

    max_envelope_bytes: int
    max_frame_bytes: int
    max_frames: int
    max_in_flight: int
    max_in_flight_server: int
    max_metadata_bytes: int
    max_download_bytes: int
    replay_window_ms: int
    max_range_bytes: int = Field(description="The largest ``length`` readMediaRange serves.")


class HelloResult(Result):
    """The negotiated session: versions, methods, events, limits, features."""

    server: ServerInfo
    protocol: str
    session: str = Field(description="Changes at every start of the server.")
    methods: list[str]
    events: list[str]
    limits: Limits
    features: dict[str, bool]
    data_dir: str


class PingParams(Params):
    """Liveness. Answered ahead of queued work."""


class PingResult(Result):
    """Liveness: the server's clock and uptime."""

    pong: bool = True
    time: int = Field(description="Server clock, ms since epoch.")
    uptime_ms: int


class ShutdownParams(Params):
    """Orderly stop: stop intake, drain in-flight work (bounded), close, exit 0."""

    drain_timeout_ms: Annotated[int, Field(ge=0, le=600_000)] = 10_000


class ShutdownResult(Result):
    """The shutdown was accepted; ``inFlight`` requests are being drained."""

    accepted: bool
    in_flight: int


EVENT_NAMES_ALL = "*"


class SubscribeParams(Params):
    """Receive events on this connection. ``events`` empty or absent means all of them."""

    events: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=64)] = Field(
        default_factory=list
    )
    project_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class SubscribeResult(Result):
    """The events this connection now receives."""

    events: list[str]
    project_id: str | None
    seq: int = Field(description="The seq of the last event sent to this client (0 if none).")


class UnsubscribeParams(Params):
    """Stop receiving events on this connection."""


class UnsubscribeResult(Result):
    """Whether the connection was subscribed before."""

    unsubscribed: bool
