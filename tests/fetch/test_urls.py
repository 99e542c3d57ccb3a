"""The URL policy, without any network: what may be fetched and in which canonical form."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.errors import HostNotAllowed
from sidecar.fetch.urls import HostPattern, UrlPolicy


def policy(*hosts: str, http_loopback: bool = False, mapped: tuple[str, ...] = ()) -> UrlPolicy:
    return UrlPolicy(hosts or ("fal.media", "*.fal.media"), allow_http_loopback=http_loopback,
                     is_mapped=lambda h: h in mapped)


@pytest.mark.parametrize("url", [
    "https://fal.media/files/a.mp4",
    "https://v3.fal.media/files/a.mp4",
    "https://v3b.fal.media/files/a.mp4",
    "https://a.b.fal.media/x.png",
])
def test_allows_fal_media_and_its_subdomains(url: str) -> None:
    assert policy().check(url).url == url


def test_wildcard_does_not_cover_the_bare_domain() -> None:
    only_sub = policy("*.fal.media")
    only_sub.check("https://v3.fal.media/a")
    with pytest.raises(HostNotAllowed):
        only_sub.check("https://fal.media/a")


def test_exact_entry_does_not_cover_subdomains() -> None:
    with pytest.raises(HostNotAllowed):
        policy("fal.media").check("https://v3.fal.media/a")


@pytest.mark.parametrize("url", [
    "https://fal.media.evil.example/a.mp4",
    "https://evilfal.media/a.mp4",
    "https://fal-media.example/a.mp4",
    "https://v3.fal.media.evil.example/a.mp4",
    "https://fal.mediaa/a.mp4",
])
def test_refuses_lookalike_hosts(url: str) -> None:
    with pytest.raises(HostNotAllowed):
        policy().check(url)


@pytest.mark.parametrize("url", [
    "https://fal.media@evil.example/",
    "https://user:pw@fal.media/",
    "https://user@fal.media/",
    "https://fal.media:443@evil.example/",
    "https://@fal.media/",
])
def test_refuses_userinfo(url: str) -> None:
    with pytest.raises(HostNotAllowed, match="userinfo"):
        policy().check(url)


@pytest.mark.parametrize("url", [
    "https://evil.example#@fal.media/",
    "https://evil.example?@fal.media/",
    "https://evil.example\\@fal.media/",
    "https://fal.media\\@evil.example/",
    "https:\\\\fal.media/",
    "https:/fal.media/",
    "https:fal.media/",
    "//fal.media/a",
    "https://fal.me\tdia/",
    "https://fal.media\n.evil.example/",
    " https://fal.media/",
    "https://fal.media/a b",
    "https://fal%2emedia/",
    "https://fal.media%2f@evil.example/",
    "https://fal.media%00.evil.example/",
    "https://[fal.media]/",
    "https://fal.media:443:443/",
    "https://fal.media:99999/",
    "https://fal.media:-1/",
    "https://fal..media/",
    "https://-fal.media/",
    "https://xn--a.fal.media/",
    "javascript:alert(1)//fal.media",
    "data:video/mp4;base64,AAAA",
    "",
])
def test_refuses_parser_confusion(url: str) -> None:
    with pytest.raises(HostNotAllowed):
        policy().check(url)


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/a",
    "https://[::1]/a",
    "https://[::ffff:127.0.0.1]/a",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fd00:ec2::254]/a",
    "https://10.0.0.1/a",
    "https://2130706433/a",
    "https://0x7f.1/a",
    "https://127.1/a",
    "https://017700000001/a",
    "https://1.1.1.1/a",
])
def test_refuses_ip_literals_not_listed(url: str) -> None:
    with pytest.raises(HostNotAllowed):
        policy().check(url)


def test_listed_ip_literal_is_allowed_exactly() -> None:
    p = policy("203.0.113.7")
    assert p.check("https://203.0.113.7/a").host == "203.0.113.7"
    with pytest.raises(HostNotAllowed):
        p.check("https://203.0.113.8/a")


def test_wildcard_cannot_name_an_ip() -> None:
    with pytest.raises(ValueError):
        HostPattern("*.127.0.0.1")


def test_refuses_plain_http_except_loopback_in_dev_mode() -> None:
    with pytest.raises(HostNotAllowed, match="plain http"):
        policy().check("http://fal.media/a")
    dev = policy("fal.media", "localhost", "127.0.0.1", http_loopback=True)
    with pytest.raises(HostNotAllowed, match="plain http"):
        dev.check("http://fal.media/a")
    assert dev.check("http://localhost:8080/a").url == "http://localhost:8080/a"
    assert dev.check("http://127.0.0.1:8080/a").port == 8080
    with pytest.raises(HostNotAllowed):
        policy("localhost").check("http://localhost:8080/a")


def test_refuses_a_non_default_port_unless_the_host_is_mapped() -> None:
    with pytest.raises(HostNotAllowed, match="port"):
        policy().check("https://fal.media:8443/a")
    assert policy(mapped=("fal.media",)).check("https://fal.media:8443/a").port == 8443
    assert policy().check("https://fal.media:443/a").url == "https://fal.media/a"


def test_normalizes_case_trailing_dot_and_international_names() -> None:
    assert policy().check("HTTPS://V3.FAL.MEDIA./files/A.mp4").url == \
        "https://v3.fal.media/files/A.mp4"
    # UTS 46 maps the ideographic full stop to a dot, as browsers do.
    assert policy().check("https://v3\u3002fal.media/a").host == "v3.fal.media"
    p = policy("*.xn--bcher-kva.example")
    assert p.check("https://a.b\u00fccher.example/x").host == "a.xn--bcher-kva.example"


def test_drops_the_fragment_and_keeps_the_query() -> None:
    t = policy().check("https://fal.media/a%20b.mp4?sig=1&x=%2F#frag")
    assert t.url == "https://fal.media/a%20b.mp4?sig=1&x=%2F"


def test_percent_encodes_non_ascii_paths() -> None:
    assert policy().check("https://fal.media/vid\u00e9o.mp4").path == "/vid%C3%A9o.mp4"


HOSTISH = st.text(alphabet="fal.mediaevxmp:@#?/\\%[]0123456789-_ \t\u3002\u00e9", max_size=40)


@given(prefix=HOSTISH, suffix=HOSTISH)
def test_accepted_urls_reach_only_allowed_hosts_by_httpx_parsing_too(
        prefix: str, suffix: str) -> None:
    """Whatever we accept, httpx reads the same host out of the canonical URL."""
    p = policy()
    for raw in (f"https://{prefix}fal.media{suffix}", f"https://{prefix}{suffix}"):
        try:
            target = p.check(raw)
        except HostNotAllowed:
            continue
        assert target.host == "fal.media" or target.host.endswith(".fal.media")
        parsed = httpx.URL(target.url)
        assert (parsed.scheme, parsed.host, parsed.port or 443) == \
            ("https", target.host, target.port)
        assert not parsed.userinfo
