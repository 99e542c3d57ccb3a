"""Settings of the downloader (owned by fetch; composed into sidecar.settings).

Security-relevant semantics (see ``sidecar.fetch.urls`` and ``sidecar.fetch.resolve``):

* ``allowed_hosts``: ``host`` matches exactly, ``*.host`` any subdomain but not ``host``
  itself; matched on the parsed, IDNA-normalized, lower-cased host. IP literals are refused
  unless listed exactly.
* ``allow_http_loopback``: plain http (on any port) for ``localhost``/127.0.0.0/8/::1 only.
* ``allow_private_addresses``: without it, a host that resolves to a private, loopback,
  link-local, CGNAT, multicast, reserved or metadata address is refused. This applies to
  addresses from ``host_resolver_rules`` too, so mapping fal.media to 127.0.0.1 (tests, demo)
  needs this flag as well.
* ``host_resolver_rules``: a mapped host may also use a non-default port in its URL.

Time and size bounds of one download (see ``docs/PROTOCOL.md``, "What is promised"):

* ``head_timeout``: the whole response head of each request (redirect hops included) must
  arrive within this many seconds, however slowly it trickles.
* ``attempt_deadline``: one attempt (connect, head and body) ends after this many seconds
  whatever the server does; the next attempt resumes where it stopped when the server
  supports ranges, so a large file on a slow link still completes over several attempts.
* ``max_bytes``: the file's size cap, counted on the decoded bytes as they stream, and on
  the wire bytes too.
* ``per_host``: downloads from one host at once (others wait in a FIFO queue), below the
  global ``concurrency``; ``queue_per_client``: downloads one client may have queued or
  running at once (more answer ``busy``).
"""

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
    head_timeout: float = 30.0
    attempt_deadline: float = 1800.0
    max_attempts: int = 5  # attempts per fetch, the first included; each may resume
    max_redirects: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    concurrency: int = 4
    per_host: int = 2
    queue_per_client: int = 64

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
        if env.get("MEDIA_SIDECAR_DOWNLOAD_BACKOFF_MAX"):
            kw["backoff_max"] = float(env["MEDIA_SIDECAR_DOWNLOAD_BACKOFF_MAX"])
        if env.get("MEDIA_SIDECAR_DOWNLOAD_MAX_REDIRECTS"):
            kw["max_redirects"] = int(env["MEDIA_SIDECAR_DOWNLOAD_MAX_REDIRECTS"])
        if env.get("MEDIA_SIDECAR_CONNECT_TIMEOUT"):
            kw["connect_timeout"] = float(env["MEDIA_SIDECAR_CONNECT_TIMEOUT"])
        if env.get("MEDIA_SIDECAR_READ_TIMEOUT"):
            kw["read_timeout"] = float(env["MEDIA_SIDECAR_READ_TIMEOUT"])
        if env.get("MEDIA_SIDECAR_DOWNLOAD_HEAD_TIMEOUT"):
            kw["head_timeout"] = float(env["MEDIA_SIDECAR_DOWNLOAD_HEAD_TIMEOUT"])
        if env.get("MEDIA_SIDECAR_DOWNLOAD_DEADLINE"):
            kw["attempt_deadline"] = float(env["MEDIA_SIDECAR_DOWNLOAD_DEADLINE"])
        if env.get("MEDIA_SIDECAR_DOWNLOADS"):
            kw["concurrency"] = int(env["MEDIA_SIDECAR_DOWNLOADS"])
        if env.get("MEDIA_SIDECAR_DOWNLOADS_PER_HOST"):
            kw["per_host"] = int(env["MEDIA_SIDECAR_DOWNLOADS_PER_HOST"])
        if env.get("MEDIA_SIDECAR_DOWNLOAD_QUEUE_PER_CLIENT"):
            kw["queue_per_client"] = int(env["MEDIA_SIDECAR_DOWNLOAD_QUEUE_PER_CLIENT"])
        return cls(**kw)  # type: ignore[arg-type]
