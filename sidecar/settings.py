"""Settings: read once at start-up into a frozen object and passed down.

Precedence: command-line options, then environment (MEDIA_SIDECAR_*), then defaults. Each
setting is declared beside its field (``sidecar.setting``): variable, flag, meaning; the
README and ``serve --help`` tables are generated from those declarations.
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sidecar.fetch.config import FetchConfig
from sidecar.portable.files import user_tag
from sidecar.setting import at_least, setting
from sidecar.store.config import StoreConfig

SECRET_ENV = "MEDIA_SIDECAR_SECRET"  # noqa: S105 (a variable name, not a secret)


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("media-sidecar", appauthor=False))


def default_runtime_dir() -> Path:
    """Where sockets and connection files live: the user's runtime dir, or, where there is
    none (no XDG_RUNTIME_DIR on Linux, e.g. a service or CI), an owner-only dir in /tmp."""
    if sys.platform.startswith("linux") and not os.environ.get("XDG_RUNTIME_DIR"):
        import tempfile  # not at the top: ``serve`` imports this module before its ready line

        return Path(tempfile.gettempdir()) / f"media-sidecar-{user_tag()}"
    from platformdirs import user_runtime_dir

    return Path(user_runtime_dir("media-sidecar", appauthor=False))


def _abs_path(text: str) -> Path:
    if not text.strip():
        raise ValueError("expected a path")
    return Path(text.strip()).expanduser().resolve()


def _abs_path_as_given(text: str) -> Path:
    """Absolute, but no link resolved: a file the sidecar creates there must be checked (and
    refused when it is a symlink), not followed (sidecar.lifecycle)."""
    if not text.strip():
        raise ValueError("expected a path")
    return Path(os.path.abspath(Path(text.strip()).expanduser()))


def _event_loop(text: str) -> str:
    choice = text.strip()
    if choice not in ("asyncio", "uvloop"):
        raise ValueError("expected asyncio or uvloop")
    return choice


def _transport(text: str) -> str:
    if text.strip() not in ("ipc", "tcp"):
        raise ValueError("expected ipc or tcp")
    return text.strip()


def _log_level(text: str) -> str:
    level = text.strip().lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(metadata=setting(
        "the library directory (database, blobs, spill)", env="MEDIA_SIDECAR_DATA_DIR",
        flag="--data-dir", parse=_abs_path, metavar="DIR",
        default_doc="platformdirs user data dir"))
    secret: bytes = field(repr=False, metadata=setting(
        "the shared secret (its UTF-8 bytes are the HMAC key); scrubbed from the environment "
        "once read; --secret-stdin reads it from stdin's first line instead",
        env=SECRET_ENV, flag="--secret-stdin", default_doc="generated", read=False))
    endpoint: str | None = field(default=None, metadata=setting(
        "bind here (tcp://127.0.0.1:0, ipc:///path) instead of the default endpoint",
        flag="--endpoint", metavar="URL", default_doc="ipc in the runtime dir"))
    transport: str = field(default="ipc", metadata=setting(
        "the default endpoint's kind when --endpoint is not given (ipc or tcp)",
        flag="--transport", parse=_transport, metavar="ipc|tcp"))
    connection_file: Path | None = field(default=None, metadata=setting(
        "where to write the connection file", flag="--connection-file", parse=_abs_path_as_given,
        metavar="PATH", default_doc="<runtime dir>/sidecar-<pid>.json"))
    runtime_dir: Path = field(default_factory=default_runtime_dir, metadata=setting(
        "owner-only directory for the socket and the connection file", flag="--runtime-dir",
        parse=_abs_path, metavar="DIR",
        default_doc="$XDG_RUNTIME_DIR/media-sidecar, else /tmp/media-sidecar-<uid>"))
    parent_pid: int | None = field(default=None, metadata=setting(
        "exit when this process dies", flag="--parent-pid", metavar="PID",
        default_doc="the parent at start"))
    # our parent's pid when the process started (the launcher); -1: unknown
    original_ppid: int = -1
    watch_parent: bool = field(default=True, metadata=setting(
        "standalone use: do not exit when the parent dies", flag="--no-parent-watch",
        flag_value=False, default_doc="watch the parent"))
    parent_poll_interval: float = 0.25
    max_in_flight: int = 64
    max_in_flight_per_client: int = 32
    max_envelope_bytes: int = 1024 * 1024
    max_frame_bytes: int = field(default=1024 * 1024 * 1024, metadata=setting(
        "largest frame accepted; a bigger one makes libzmq drop the connection",
        env="MEDIA_SIDECAR_MAX_FRAME_BYTES", flag="--max-frame-bytes", metavar="BYTES",
        check=at_least(1024)))
    max_frames: int = 64
    max_range_bytes: int = field(default=4 * 1024 * 1024, metadata=setting(
        "largest readMediaRange length (hello's limits.maxRangeBytes; never above one frame)",
        env="MEDIA_SIDECAR_MAX_RANGE_BYTES", flag="--max-range-bytes", metavar="BYTES",
        check=at_least(1)))
    replay_window_ms: int = 30_000
    # hostile input (docs/PROTOCOL.md "The wire: what is promised against hostile input")
    max_unverified_bytes: int = field(default=1024 * 1024 * 1024, metadata=setting(
        "payload bytes being hashed and not yet verified, over all clients (beyond: busy)",
        env="MEDIA_SIDECAR_MAX_UNVERIFIED_BYTES", flag="--max-unverified-bytes",
        metavar="BYTES", check=at_least(1)))
    event_budget_bytes: int = field(default=8 * 1024 * 1024, metadata=setting(
        "event bytes a subscriber may leave unread before events are dropped (seq gap)",
        env="MEDIA_SIDECAR_EVENT_BUDGET_BYTES", flag="--event-budget-bytes", metavar="BYTES",
        check=at_least(1)))
    max_connections: int = field(default=4096, metadata=setting(
        "connections held at once (also bounded by the fd limit); strangers dropped first",
        env="MEDIA_SIDECAR_MAX_CONNECTIONS", flag="--max-connections", metavar="N",
        check=at_least(1)))
    hello_timeout: float = field(default=10.0, metadata=setting(
        "seconds a connection may stay without a successful hello before it is closed",
        env="MEDIA_SIDECAR_HELLO_TIMEOUT", flag="--hello-timeout", metavar="S",
        check=at_least(0.1)))
    drain_timeout: float = field(default=10.0, metadata=setting(
        "seconds shutdown waits for in-flight work before cancelling it",
        env="MEDIA_SIDECAR_DRAIN_TIMEOUT", flag="--drain-timeout", metavar="S",
        check=at_least(0)))
    linger_ms: int = 200
    enable_test_hooks: bool = field(default=False, metadata=setting(
        "serve the test-only testFault method (never in production)",
        flag="--enable-test-hooks"))
    log_level: str = field(default="info", metadata=setting(
        "log level of the stderr log (debug, info, warning, error)",
        env="MEDIA_SIDECAR_LOG_LEVEL", flag="--log-level", parse=_log_level, metavar="LEVEL"))
    event_loop: str = field(default="asyncio", metadata=setting(
        "the event loop that serves: asyncio's own, or uvloop if installed (sidecar.loop)",
        env="MEDIA_SIDECAR_EVENT_LOOP", parse=_event_loop, metavar="asyncio|uvloop"))
    store: StoreConfig = field(default_factory=StoreConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)

    @property
    def range_limit(self) -> int:
        """readMediaRange's largest length: the setting, never above one frame."""
        return max(1, min(self.max_range_bytes, self.max_frame_bytes))


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
