"""Name resolution for the downloader: resolver rules, address policy, one lookup per connection.

Owns the second SSRF gate. ``Resolver.resolve`` turns a validated host into the socket addresses
to connect to, exactly once per connection (the transport connects to these addresses and
never resolves again, so DNS cannot answer differently between check and use).

* ``host_resolver_rules`` ("MAP fal.media 127.0.0.1:8443, MAP *.fal.media 127.0.0.1:8443,
  EXCLUDE x.fal.media", like Chromium's ``--host-resolver-rules``) replace the address and
  optionally the port; the URL, Host header, TLS SNI and certificate check keep the real name.
  The first matching rule wins; ``~NOTFOUND`` makes the name unresolvable.
* Address policy: every resolved address must be public. Private, loopback, link-local,
  CGNAT, multicast, reserved, unspecified and cloud-metadata addresses (including IPv4 mapped
  or NAT64-embedded in IPv6) are refused unless ``allow_private_addresses``; mapped addresses
  are no exception. A name with any refused address is refused whole (a mixed answer is how
  DNS rebinding looks).
* ``localhost`` names must resolve to loopback addresses only.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from fnmatch import fnmatchcase

from sidecar.fetch.urls import is_loopback_host, literal_ip

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SockAddr = tuple[int, tuple[str, int] | tuple[str, int, int, int]]  # (family, sockaddr)

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_IETF_PROTOCOL = ipaddress.IPv4Network("192.0.0.0/24")  # not all in is_private before 3.12
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_METADATA = frozenset({
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
})


class ResolveError(OSError):
    """The name did not resolve (a connection failure: may pass, so retried)."""


@dataclass(frozen=True)
class Rule:
    pattern: str  # fnmatch-style glob on the lower-cased host
    host: str | None  # replacement address or name; None for EXCLUDE or ~NOTFOUND
    port: int | None  # replacement port, if any
    exclude: bool = False


def parse_rules(text: str) -> tuple[Rule, ...]:
    """Parse "MAP pattern replacement[:port], EXCLUDE pattern, ..."; ``ValueError`` if malformed."""
    rules: list[Rule] = []
    for chunk in text.split(","):
        words = chunk.split()
        if not words:
            continue
        verb = words[0].upper()
        if verb == "EXCLUDE" and len(words) == 2:
            rules.append(Rule(pattern=words[1].lower(), host=None, port=None, exclude=True))
        elif verb == "MAP" and len(words) == 3:
            pattern, replacement = words[1].lower(), words[2]
            if replacement == "~NOTFOUND":
                rules.append(Rule(pattern=pattern, host=None, port=None))
                continue
            host, port = _split_replacement(replacement)
            rules.append(Rule(pattern=pattern, host=host, port=port))
        else:
            raise ValueError(f"bad host resolver rule: {chunk.strip()!r}")
    return tuple(rules)


def _split_replacement(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise ValueError(f"bad replacement address: {text!r}")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise ValueError(f"bad replacement address: {text!r}")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"bad replacement port: {text!r}")
    if not host:
        raise ValueError(f"bad replacement address: {text!r}")
    return host, int(port_text) if port_text else None


def address_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be connected to, or None if it is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if embedded is not None:  # the IPv4 address is where the packets end up
            reason = address_refusal(embedded)
            return f"{reason} (embedded in {ip})" if reason else None
    if ip in _METADATA:
        return "a cloud metadata address"
    for flag, reason in (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_unspecified, "the unspecified address"),
        (ip.is_reserved, "a reserved address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "a CGNAT address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _IETF_PROTOCOL, "a special address"),
        (ip.is_private, "a private address"),
        (not ip.is_global, "not a public address"),
    ):
        if flag:
            return reason
    return None


class Resolver:
    def __init__(self, rules: tuple[Rule, ...], *, allow_private_addresses: bool) -> None:
        self.rules = rules
        self.allow_private_addresses = allow_private_addresses

    def rule_for(self, host: str) -> Rule | None:
        for rule in self.rules:
            if fnmatchcase(host, rule.pattern):
                return None if rule.exclude else rule
        return None

    def is_mapped(self, host: str) -> bool:
        rule = self.rule_for(host)
        return rule is not None and rule.host is not None

    def resolve(self, host: str, port: int) -> list[SockAddr]:
        """The checked addresses to connect to; ``HostNotAllowed`` or ``ResolveError``."""
        # Not at the top: ``serve`` checks its resolver rules before pydantic loads.
        from sidecar.errors import HostNotAllowed

        rule = self.rule_for(host)
        if rule is not None:
            if rule.host is None:
                raise ResolveError(f"{host} is unresolvable by a host resolver rule")
            lookup_host, lookup_port = rule.host, rule.port or port
        else:
            lookup_host, lookup_port = host, port
        addrs = _getaddrinfo(lookup_host, lookup_port)
        for _, sockaddr in addrs:
            ip = ipaddress.ip_address(sockaddr[0])
            if is_loopback_host(host) and not ip.is_loopback:
                raise HostNotAllowed(f"{host} resolved to {ip}, not a loopback address")
            reason = address_refusal(ip)
            if reason and not self.allow_private_addresses:
                raise HostNotAllowed(f"{host} resolved to {ip}: {reason}")
        return addrs


def _getaddrinfo(host: str, port: int) -> list[SockAddr]:
    ip = literal_ip(host.strip("[]"))
    if ip is not None:  # no lookup for literals (and no inet_aton leniency)
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        return [(family, (str(ip), port))]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ResolveError(f"cannot resolve {host}: {exc}") from exc
    seen: list[SockAddr] = []
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            entry: SockAddr = (int(family), sockaddr)  # type: ignore[assignment]
            if entry not in seen:
                seen.append(entry)
    if not seen:
        raise ResolveError(f"{host} has no IPv4 or IPv6 address")
    return seen
