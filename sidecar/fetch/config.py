"""Settings of the downloader (owned by fetch; composed into sidecar.settings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class FetchConfig:
    allowed_hosts: tuple[str, ...] = ("fal.media", "*.fal.media")
    # Plain http is allowed only for loopback hosts, and only when this is set (tests, demo).
    allow_http_loopback: bool = False
    # Resolved addresses in private/loopback/link-local ranges are refused unless this is set.
    allow_private_addresses: bool = False
    # "MAP host addr:port, ..." like Chromium's --host-resolver-rules (tests and the demo).
    host_resolver_rules: str = ""
    ca_file: Path | None = None
    max_bytes: int = 8 * 1024 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    concurrency: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> FetchConfig:
        kw: dict[str, object] = {}
        if env.get("MEDIA_SIDECAR_ALLOWED_HOSTS"):
            kw["allowed_hosts"] = tuple(
                h.strip() for h in env["MEDIA_SIDECAR_ALLOWED_HOSTS"].split(",") if h.strip()
            )
        if "MEDIA_SIDECAR_ALLOW_HTTP_LOOPBACK" in env:
            kw["allow_http_loopback"] = _flag(env["MEDIA_SIDECAR_ALLOW_HTTP_LOOPBACK"])
        if "MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES" in env:
            kw["allow_private_addresses"] = _flag(env["MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES"])
        if env.get("MEDIA_SIDECAR_HOST_RESOLVER_RULES"):
            kw["host_resolver_rules"] = env["MEDIA_SIDECAR_HOST_RESOLVER_RULES"]
        if env.get("MEDIA_SIDECAR_CA_FILE"):
            kw["ca_file"] = Path(env["MEDIA_SIDECAR_CA_FILE"])
        if env.get("MEDIA_SIDECAR_DOWNLOAD_MAX_BYTES"):
            kw["max_bytes"] = int(env["MEDIA_SIDECAR_DOWNLOAD_MAX_BYTES"])
        if env.get("MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS"):
            kw["max_attempts"] = int(env["MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS"])
        if env.get("MEDIA_SIDECAR_DOWNLOAD_BACKOFF_BASE"):
            kw["backoff_base"] = float(env["MEDIA_SIDECAR_DOWNLOAD_BACKOFF_BASE"])
        if env.get("MEDIA_SIDECAR_READ_TIMEOUT"):
            kw["read_timeout"] = float(env["MEDIA_SIDECAR_READ_TIMEOUT"])
        return cls(**kw)  # type: ignore[arg-type]
