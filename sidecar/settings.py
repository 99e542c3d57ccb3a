"""Settings: read once at start-up into a frozen object and passed down.

Precedence: command-line options, then environment (MEDIA_SIDECAR_*), then defaults.
The secret never comes from the command line: stdin (``--secret-stdin``, what the shim
uses), environment (MEDIA_SIDECAR_SECRET), or generated. A secret given by environment is
removed from ``os.environ`` once read, so children do not inherit it, but it stays in the
process's initial environment block, which ``/proc/<pid>/environ`` shows to the same user
(and root) for the life of the process: prefer stdin (docs/PROTOCOL.md, "Authentication").
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sidecar.fetch.config import FetchConfig
from sidecar.portable.files import user_tag
from sidecar.store.config import StoreConfig

SECRET_ENV = "MEDIA_SIDECAR_SECRET"  # noqa: S105 (a variable name, not a secret)


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("media-sidecar", appauthor=False))


def default_runtime_dir() -> Path:
    """Where sockets and connection files live: the user's runtime dir, or, where there is
    none (no XDG_RUNTIME_DIR on Linux, e.g. a service or CI), an owner-only dir in /tmp."""
    if sys.platform.startswith("linux") and not os.environ.get("XDG_RUNTIME_DIR"):
        return Path(tempfile.gettempdir()) / f"media-sidecar-{user_tag()}"
    from platformdirs import user_runtime_dir

    return Path(user_runtime_dir("media-sidecar", appauthor=False))


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    secret: bytes = field(repr=False)
    endpoint: str | None = None  # None: ipc in the runtime dir, tcp://127.0.0.1:0 if no ipc
    transport: str = "ipc"  # "ipc" | "tcp" (used when endpoint is None)
    connection_file: Path | None = None
    runtime_dir: Path = field(default_factory=default_runtime_dir)
    parent_pid: int | None = None
    # our parent's pid when the process started (the launcher); -1: unknown
    original_ppid: int = -1
    watch_parent: bool = True
    parent_poll_interval: float = 0.25
    max_in_flight: int = 64
    max_in_flight_per_client: int = 32
    max_envelope_bytes: int = 1024 * 1024
    max_frame_bytes: int = 1024 * 1024 * 1024
    max_frames: int = 64
    max_range_bytes: int = 4 * 1024 * 1024  # readMediaRange's largest length (capped by frames)
    replay_window_ms: int = 30_000
    # hostile input (docs/PROTOCOL.md "What is promised against hostile input")
    max_unverified_bytes: int = 1024 * 1024 * 1024  # payload bytes hashing, not yet verified
    event_budget_bytes: int = 8 * 1024 * 1024  # per subscriber, not yet taken by the peer
    max_connections: int = 4096  # also bounded by the fd limit (sidecar.connections)
    hello_timeout: float = 10.0  # seconds a connection may stay without a hello
    drain_timeout: float = 10.0
    linger_ms: int = 200
    enable_test_hooks: bool = False
    store: StoreConfig = field(default_factory=StoreConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)

    @property
    def range_limit(self) -> int:
        """readMediaRange's largest length: the setting, never above one frame."""
        return max(1, min(self.max_range_bytes, self.max_frame_bytes))

    @property
    def secret_hex_ok(self) -> bool:
        return len(self.secret) >= 16


_WIRE_ENV: dict[str, tuple[str, type]] = {
    "MEDIA_SIDECAR_MAX_UNVERIFIED_BYTES": ("max_unverified_bytes", int),
    "MEDIA_SIDECAR_EVENT_BUDGET_BYTES": ("event_budget_bytes", int),
    "MEDIA_SIDECAR_MAX_CONNECTIONS": ("max_connections", int),
    "MEDIA_SIDECAR_HELLO_TIMEOUT": ("hello_timeout", float),
}


def wire_overrides(env: Mapping[str, str]) -> dict[str, object]:
    """The wire bounds set by environment (positive numbers only)."""
    out: dict[str, object] = {}
    for name, (attr, kind) in _WIRE_ENV.items():
        text = env.get(name, "").strip()
        if text:
            try:
                value = kind(text)
            except ValueError as exc:
                raise SystemExit(f"media-sidecar: {name}={text!r} is not a number") from exc
            if value <= 0:
                raise SystemExit(f"media-sidecar: {name} must be positive")
            out[attr] = value
    return out


def secret_from(env: Mapping[str, str], stdin_line: str | None) -> bytes:
    """The launcher's secret (stdin first, then environment), or a fresh one."""
    if stdin_line is not None and stdin_line.strip():
        return stdin_line.strip().encode()
    value = env.get(SECRET_ENV, "")
    if value:
        return value.encode()
    return secrets.token_hex(32).encode()


def scrub_secret_from_environ() -> None:
    """Children of the sidecar must not inherit the secret."""
    os.environ.pop(SECRET_ENV, None)
