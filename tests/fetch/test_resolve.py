"""Resolver rules and the address policy."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from sidecar.errors import HostNotAllowed
from sidecar.fetch.resolve import ResolveError, Resolver, address_refusal, parse_rules


def test_rules_map_hosts_by_glob_first_match_wins() -> None:
    r = Resolver(parse_rules("MAP fal.media 127.0.0.1:8443, EXCLUDE x.fal.media, "
                             "MAP *.fal.media [::1]:9443, MAP other.example 127.0.0.2"),
                 allow_private_addresses=True)
    assert r.resolve("fal.media", 443) == [(socket.AF_INET, ("127.0.0.1", 8443))]
    assert r.resolve("v3.fal.media", 443) == [(socket.AF_INET6, ("::1", 9443))]
    assert r.resolve("other.example", 443) == [(socket.AF_INET, ("127.0.0.2", 443))]
    assert r.is_mapped("v3b.fal.media")
    assert not r.is_mapped("x.fal.media")
    assert not r.is_mapped("evil.example")


def test_notfound_rule_makes_a_name_unresolvable() -> None:
    r = Resolver(parse_rules("MAP *.fal.media ~NOTFOUND"), allow_private_addresses=True)
    with pytest.raises(ResolveError):
        r.resolve("v3.fal.media", 443)


@pytest.mark.parametrize("text", ["MAP fal.media", "FOO a b", "MAP a 1.2.3.4:99999",
                                  "MAP a [::1", "MAP a 1.2.3.4:x"])
def test_malformed_rules_are_reported(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rules(text)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "169.254.1.1",
    "100.64.0.1", "100.127.255.254", "100.100.100.200", "0.0.0.0", "224.0.0.1", "240.0.0.1",
    "255.255.255.255", "192.0.0.8", "198.18.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
    "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a00:1", "2001:db8::1",
])
def test_address_policy_refuses_internal_ranges(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.1", "2606:4700::1111",
                                     "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_address_policy_allows_public_addresses(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_mapped_addresses_obey_the_address_policy() -> None:
    r = Resolver(parse_rules("MAP fal.media 169.254.169.254"), allow_private_addresses=False)
    with pytest.raises(HostNotAllowed, match="metadata"):
        r.resolve("fal.media", 443)


def test_localhost_resolves_only_to_loopback_and_is_private() -> None:
    strict = Resolver((), allow_private_addresses=False)
    with pytest.raises(HostNotAllowed):
        strict.resolve("localhost", 443)
    loose = Resolver((), allow_private_addresses=True)
    assert all(ipaddress.ip_address(a[1][0]).is_loopback for a in loose.resolve("localhost", 80))
    mapped_away = Resolver(parse_rules("MAP localhost 8.8.8.8"), allow_private_addresses=True)
    with pytest.raises(HostNotAllowed, match="not a loopback"):
        mapped_away.resolve("localhost", 80)


def test_unknown_names_fail_to_resolve() -> None:
    r = Resolver((), allow_private_addresses=False)
    with pytest.raises(ResolveError):
        r.resolve("does-not-exist.invalid", 443)
