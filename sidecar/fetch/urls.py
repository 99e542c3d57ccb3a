"""URL policy: parse a URL strictly, normalize its host, and decide whether it may be fetched.

Owns the first SSRF gate (no network): scheme, userinfo, parser-confusion characters, host
syntax (IDNA-normalized, lower-cased), the host allow-list, literal IPs and ports. A URL that
passes comes back as a ``AllowedUrl`` whose ``url`` is re-serialized from the parsed parts, and
only that string is handed to the HTTP client: the client can never read a different host out
of it than the one we checked. Redirect hops go through the same ``UrlPolicy.check``.

Decisions (documented in ``FetchConfig`` too):
* ``https`` only; ``http`` only for loopback hosts (``localhost``, ``*.localhost``, 127/8,
  ::1) when ``allow_http_loopback`` is set.
* allow-list entries: ``host`` matches exactly; ``*.host`` matches any subdomain at any depth
  but not ``host`` itself; an IP literal entry matches that address only. Wildcards never
  match IP literals.
* a non-default port is refused unless the allow-list entry names it (``localhost:8443``), the
  host is mapped by ``map_hosts``/``host_resolver_rules``, or is a loopback host in
  http-loopback mode (local servers in tests and the demo).
* literal IPs are refused unless listed exactly; hosts WHATWG would read as IPv4 (``2130706433``,
  ``0x7f.1``, ``127.1``) are refused outright.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:  # not at run time: ``serve`` checks the allow-list before pydantic loads
    from sidecar.errors import HostNotAllowed

DEFAULT_PORTS = {"https": 443, "http": 80}
_MAX_URL = 8192
# Anything a lenient parser might strip, fold or reinterpret: controls, spaces, backslashes.
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
# Keep URL syntax characters and existing %-escapes; percent-encode everything else (non-ASCII).
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE = _PATH_SAFE + "?"


@dataclass(frozen=True)
class AllowedUrl:
    """A URL that passed the policy, in canonical form."""

    scheme: str
    host: str  # lower-case ASCII (IDNA); an IPv6 literal without brackets
    port: int
    path: str  # path plus "?query", never empty, never a fragment

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = DEFAULT_PORTS[self.scheme] == self.port
        return f"{self.scheme}://{host}{'' if default else f':{self.port}'}{self.path}"

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        return literal_ip(self.host)


def literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def is_loopback_host(host: str) -> bool:
    ip = literal_ip(host)
    if ip is not None:
        return ip.is_loopback
    return host == "localhost" or host.endswith(".localhost")


def normalize_host(raw: str) -> str:
    """Lower-cased ASCII host (IDNA/UTS46 for non-ASCII); ``ValueError`` if it is not a host."""
    if raw.startswith("["):
        if not raw.endswith("]"):
            raise ValueError("unterminated IPv6 literal")
        ip = ipaddress.IPv6Address(raw[1:-1])  # rejects zone ids ("%eth0") too
        return str(ip)
    host = raw
    if not host.isascii():
        import idna  # only for non-ASCII hosts: keeps the import off the common path

        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"invalid international host: {exc}") from exc
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]  # the absolute form names the same DNS host
    labels = host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        # WHATWG reads this as an IPv4 address, and so does inet_aton: accept dotted-quad only.
        return str(ipaddress.IPv4Address(host))
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError("not a valid host name")
    if any(label.startswith("xn--") for label in labels):
        import idna

        try:
            idna.decode(host)
        except idna.IDNAError as exc:
            raise ValueError(f"invalid punycode label: {exc}") from exc
    return host


class HostPattern:
    """One allow-list entry: ``host``, ``*.host`` or an IP literal, each optionally with
    ``:port`` (that port only: ``localhost:8443``, ``[::1]:8443``)."""

    def __init__(self, entry: str) -> None:
        entry = entry.strip()
        self.port: int | None = None
        host_text, port_text = _split_host_port(entry)
        if port_text:
            if not (port_text.isdigit() and 0 < int(port_text) < 65536):
                raise ValueError(f"invalid port in {entry!r}")
            self.port = int(port_text)
            entry = host_text
        self.wildcard = entry.startswith("*.")
        self.host = normalize_host(entry[2:] if self.wildcard else entry)
        if self.wildcard and literal_ip(self.host) is not None:
            raise ValueError(f"a wildcard cannot cover IP addresses: {entry!r}")

    def matches(self, host: str) -> bool:
        if self.wildcard:
            # Label-aligned suffix: "a.fal.media" yes; "fal.media", "xfal.media" and
            # "fal.media.evil.example" no.
            return host.endswith("." + self.host)
        return host == self.host

    def __repr__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"HostPattern({'*.' if self.wildcard else ''}{self.host}{port})"


class UrlPolicy:
    def __init__(self, allowed_hosts: Iterable[str], *, allow_http_loopback: bool,
                 is_mapped: Callable[[str], bool]) -> None:
        self.patterns = tuple(HostPattern(h) for h in allowed_hosts)
        self.allow_http_loopback = allow_http_loopback
        self._is_mapped = is_mapped

    def check(self, url: str) -> AllowedUrl:
        """Return the canonical ``AllowedUrl`` for ``url``, or raise ``HostNotAllowed``."""
        if not isinstance(url, str) or not url:
            raise _refuse("empty URL")
        if len(url) > _MAX_URL:
            raise _refuse("URL too long")
        if _FORBIDDEN_CHARS.search(url):
            raise _refuse("URL contains whitespace, control characters or backslashes")
        scheme, sep, _ = url.partition("://")
        scheme = scheme.lower()
        if not sep or scheme not in DEFAULT_PORTS:
            raise _refuse("only https URLs can be fetched")
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise _refuse(f"unparsable URL: {exc}") from exc
        netloc = parts.netloc
        if "@" in netloc:
            raise _refuse("URLs with credentials (userinfo) are refused")
        if "%" in netloc:
            raise _refuse("percent-encoded hosts are refused")
        host_raw, port_text = _split_host_port(netloc)
        try:
            host = normalize_host(host_raw)
        except ValueError as exc:
            raise _refuse(f"invalid host: {exc}") from exc
        if not port_text:
            port = DEFAULT_PORTS[scheme]
        elif port_text.isdigit() and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            raise _refuse("invalid port")

        ip = literal_ip(host)
        matching = [p for p in self.patterns if p.matches(host)]
        if not matching:
            what = "IP address" if ip is not None else "host"
            raise _refuse(f"{what} {host!r} is not in the allowed hosts")
        loopback_dev = self.allow_http_loopback and is_loopback_host(host)
        if scheme == "http" and not loopback_dev:
            raise _refuse("plain http is allowed only for loopback hosts in development mode")
        # An entry with a port allows exactly that port; one without, the default port (or
        # any port of a mapped host, or of a loopback host in development mode).
        port_ok = any(p.port == port for p in matching) or (
            any(p.port is None for p in matching)
            and (port == DEFAULT_PORTS[scheme] or loopback_dev or self._is_mapped(host)))
        if not port_ok:
            raise _refuse(f"port {port} is not allowed for {host!r}")

        path = quote(parts.path, safe=_PATH_SAFE) or "/"
        if not path.startswith("/"):
            raise _refuse("invalid path")
        if parts.query:
            path += "?" + quote(parts.query, safe=_QUERY_SAFE)
        return AllowedUrl(scheme=scheme, host=host, port=port, path=path)


def _split_host_port(netloc: str) -> tuple[str, str]:
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            return netloc, ""
        rest = netloc[end + 1:]
        if rest and not rest.startswith(":"):
            return netloc, "x"  # garbage after the literal: an invalid port
        return netloc[:end + 1], rest[1:]
    host, _, port = netloc.partition(":")
    if ":" in port:
        return host, "x"
    return host, port


def _refuse(reason: str) -> HostNotAllowed:
    from sidecar.errors import HostNotAllowed

    return HostNotAllowed(f"URL refused: {reason}")
