"""Settings of the downloader (owned by fetch; composed into sidecar.settings).

Each user-settable field declares its variable, flag and meaning (``sidecar.setting``);
``validate`` checks the whole at start so ``serve`` refuses a bad one in one line.

Security-relevant semantics (see ``sidecar.fetch.urls`` and ``sidecar.fetch.resolve``):

* ``allowed_hosts``: ``host`` matches exactly, ``*.host`` any subdomain but not ``host``
  itself; matched on the parsed, IDNA-normalized, lower-cased host. IP literals are refused
  unless listed exactly. ``host:port`` allows that host on that port only.
* ``allow_http_loopback``: plain http (on any port) for ``localhost``/127.0.0.0/8/::1 only.
* ``allow_private_addresses``: without it, a host that resolves to a private, loopback,
  link-local, CGNAT, multicast, reserved or metadata address is refused. This applies to
  addresses from ``map_hosts`` / ``host_resolver_rules`` too, so mapping fal.media to
  127.0.0.1 (tests, a local mirror) needs this flag as well; ``validate`` says so at start.
* ``map_hosts`` / ``host_resolver_rules``: connect to another address (and port) while the
  URL, Host header, TLS SNI and certificate check keep the real name; a mapped host may use
  a non-default port in its URLs.
* ``ca_file``: PEM certificates trusted in addition to the built-in roots (certifi).

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

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sidecar.setting import SettingError, at_least, from_env, setting

GIB = 1024 * 1024 * 1024


def _map_rule(text: str) -> str:
    """``HOST=ADDRESS[:PORT]`` (``*.host`` allowed) as a resolver rule."""
    host, sep, target = text.strip().partition("=")
    if not sep or not host.strip() or not target.strip():
        raise ValueError("expected HOST=ADDRESS[:PORT], e.g. fal.media=127.0.0.1:8443")
    return f"MAP {host.strip()} {target.strip()}"


@dataclass(frozen=True)
class FetchConfig:
    allowed_hosts: tuple[str, ...] = field(default=("fal.media", "*.fal.media"), metadata=setting(
        "a host downloads may come from: host, *.host, an IP, or host:port for one port",
        env="MEDIA_SIDECAR_ALLOWED_HOSTS", flag="--allow-host", metavar="HOST",
        default_doc="fal.media, *.fal.media"))
    allow_http_loopback: bool = field(default=False, metadata=setting(
        "allow plain http to loopback hosts (localhost, 127.0.0.0/8, ::1): local tests only",
        env="MEDIA_SIDECAR_ALLOW_HTTP_LOOPBACK"))
    allow_private_addresses: bool = field(default=False, metadata=setting(
        "allow hosts that resolve (or are mapped) to private/loopback addresses",
        env="MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES", flag="--allow-private-addresses"))
    map_hosts: tuple[str, ...] = field(default=(), metadata=setting(
        "connect HOST to ADDRESS[:PORT] instead of resolving it; Host, SNI and the "
        "certificate check keep HOST", env="MEDIA_SIDECAR_MAP_HOSTS", flag="--map-host",
        metavar="HOST=ADDR[:PORT]", parse=_map_rule, default_doc="none"))
    host_resolver_rules: str = field(default="", metadata=setting(
        "the same as Chromium's --host-resolver-rules: 'MAP host addr[:port], EXCLUDE host'",
        env="MEDIA_SIDECAR_HOST_RESOLVER_RULES", default_doc="none"))
    ca_file: Path | None = field(default=None, metadata=setting(
        "PEM file of CA certificates trusted in addition to the built-in roots",
        env="MEDIA_SIDECAR_CA_FILE", flag="--ca-file", metavar="PATH",
        default_doc="built-in roots only"))
    max_bytes: int = field(default=8 * GIB, metadata=setting(
        "largest download; a bigger one answers payload_too_large",
        env="MEDIA_SIDECAR_DOWNLOAD_MAX_BYTES", check=at_least(1)))
    connect_timeout: float = field(default=10.0, metadata=setting(
        "seconds to connect (and TLS handshake) before an attempt fails",
        env="MEDIA_SIDECAR_CONNECT_TIMEOUT", check=at_least(0.001)))
    read_timeout: float = field(default=30.0, metadata=setting(
        "seconds without a byte before an attempt fails", env="MEDIA_SIDECAR_READ_TIMEOUT",
        check=at_least(0.001)))
    max_attempts: int = field(default=5, metadata=setting(
        "attempts per download, the first included; each resumes where the last stopped",
        env="MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS", check=at_least(1)))
    max_redirects: int = field(default=5, metadata=setting(
        "redirects followed (each hop checked like the first URL)",
        env="MEDIA_SIDECAR_DOWNLOAD_MAX_REDIRECTS", check=at_least(0)))
    backoff_base: float = field(default=0.5, metadata=setting(
        "seconds before the first retry of a download (doubling after)",
        env="MEDIA_SIDECAR_DOWNLOAD_BACKOFF_BASE", check=at_least(0)))
    backoff_max: float = field(default=8.0, metadata=setting(
        "longest pause between download retries, in seconds",
        env="MEDIA_SIDECAR_DOWNLOAD_BACKOFF_MAX", check=at_least(0)))
    head_timeout: float = field(default=30.0, metadata=setting(
        "seconds for a whole response head (each redirect hop), however slowly it trickles",
        env="MEDIA_SIDECAR_DOWNLOAD_HEAD_TIMEOUT", check=at_least(0.001)))
    attempt_deadline: float = field(default=1800.0, metadata=setting(
        "seconds one attempt (connect, head, body) may last; the next attempt resumes",
        env="MEDIA_SIDECAR_DOWNLOAD_DEADLINE", check=at_least(0.001)))
    concurrency: int = field(default=4, metadata=setting(
        "downloads running at once", env="MEDIA_SIDECAR_DOWNLOADS", check=at_least(1)))
    per_host: int = field(default=2, metadata=setting(
        "downloads running at once from one host (others wait in a FIFO queue)",
        env="MEDIA_SIDECAR_DOWNLOADS_PER_HOST", check=at_least(1)))
    queue_per_client: int = field(default=64, metadata=setting(
        "downloads one client may have queued or running (more answer busy)",
        env="MEDIA_SIDECAR_DOWNLOAD_QUEUE_PER_CLIENT", check=at_least(1)))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> FetchConfig:
        config: FetchConfig = from_env(cls, env)
        return config

    @property
    def resolver_rules(self) -> str:
        """``map_hosts`` then ``host_resolver_rules``, as one rule text (first match wins)."""
        return ", ".join([*self.map_hosts, *([self.host_resolver_rules]
                                             if self.host_resolver_rules.strip() else [])])

    def validate(self) -> None:
        """Raise ``SettingError`` (one line) if the downloader could not work as configured."""
        from sidecar.fetch.resolve import address_refusal, parse_rules
        from sidecar.fetch.urls import HostPattern, is_loopback_host, literal_ip

        for entry in self.allowed_hosts:
            try:
                pattern = HostPattern(entry)
            except ValueError as exc:
                raise SettingError(f"allowed host {entry!r}: {exc}") from None
            ip = literal_ip(pattern.host)
            local = is_loopback_host(pattern.host) or (
                ip is not None and address_refusal(ip) is not None)
            if local and not self.allow_private_addresses:
                raise SettingError(
                    f"allowed host {entry!r} is a loopback or private address: downloads from "
                    "it also need --allow-private-addresses "
                    "(MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES=1)")
        for text, where in ((", ".join(self.map_hosts), "--map-host (MEDIA_SIDECAR_MAP_HOSTS)"),
                            (self.host_resolver_rules, "MEDIA_SIDECAR_HOST_RESOLVER_RULES")):
            try:
                rules = parse_rules(text)
            except ValueError as exc:
                raise SettingError(f"{where}: {exc}") from None
            for rule in rules:
                ip = literal_ip(rule.host.strip("[]")) if rule.host else None
                if ip is not None and address_refusal(ip) and not self.allow_private_addresses:
                    raise SettingError(
                        f"{where}: {rule.pattern} is mapped to {ip}, {address_refusal(ip)}: "
                        "add --allow-private-addresses (MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES=1)")
        if self.ca_file is not None:
            try:
                ssl.create_default_context().load_verify_locations(cafile=str(self.ca_file))
            except FileNotFoundError:
                raise SettingError(f"CA file {self.ca_file}: no such file") from None
            except (OSError, ssl.SSLError) as exc:
                reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
                raise SettingError(f"CA file {self.ca_file}: not usable PEM certificates "
                                   f"({reason})") from None
