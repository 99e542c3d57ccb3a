"""PinnedStream hands httpcore response heads only, so body bytes stay for the direct reader."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from sidecar.fetch.transport import PinnedStream


@pytest.fixture
def pair() -> Iterator[tuple[PinnedStream, socket.socket]]:
    ours, theirs = socket.socketpair()
    stream = PinnedStream(ours)
    yield stream, theirs
    ours.close()
    theirs.close()


def read_all(stream: PinnedStream, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])
        assert k
        got += k
    return bytes(buf)


def test_read_stops_at_the_end_of_the_head(pair: tuple[PinnedStream, socket.socket]) -> None:
    stream, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    assert stream.read(65536) == b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert stream.at_head_boundary
    assert read_all(stream, 5) == b"hello"


def test_a_terminator_split_across_reads_is_found(
        pair: tuple[PinnedStream, socket.socket]) -> None:
    stream, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\nA: b\r\n\r")
    assert stream.read(65536) == b"HTTP/1.1 200 OK\r\nA: b\r\n\r"
    assert not stream.at_head_boundary
    peer.sendall(b"\nbody")
    assert stream.read(65536) == b"\n"
    assert stream.at_head_boundary
    assert read_all(stream, 4) == b"body"


def test_bare_lf_heads_end_where_h11_ends_them(
        pair: tuple[PinnedStream, socket.socket]) -> None:
    stream, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\nA: b\n\nxyz")
    assert stream.read(65536) == b"HTTP/1.1 200 OK\nA: b\n\n"
    assert read_all(stream, 3) == b"xyz"


def test_interim_and_final_heads_are_handed_out_one_by_one(
        pair: tuple[PinnedStream, socket.socket]) -> None:
    stream, peer = pair
    peer.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nBODY")
    assert stream.read(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert stream.read(65536) == b"HTTP/1.1 200 OK\r\n\r\n"
    assert read_all(stream, 4) == b"BODY"


def test_after_head_mode_ends_reads_pass_bytes_through(
        pair: tuple[PinnedStream, socket.socket]) -> None:
    stream, peer = pair
    peer.sendall(b"HTTP/1.1 200 OK\r\n\r\na\n\nb\r\n\r\nc")
    stream.read(65536)
    stream.end_head_mode()
    assert stream.read(65536) == b"a\n\nb\r\n\r\nc"


def test_writing_a_new_request_starts_a_new_head(
        pair: tuple[PinnedStream, socket.socket]) -> None:
    stream, peer = pair
    stream.end_head_mode()
    stream.write(b"GET / HTTP/1.1\r\n\r\n")
    assert peer.recv(100) == b"GET / HTTP/1.1\r\n\r\n"
    peer.sendall(b"HTTP/1.1 204 No Content\r\n\r\nnext")
    assert stream.read(65536) == b"HTTP/1.1 204 No Content\r\n\r\n"


def test_the_client_dials_only_the_target_validated_for_this_thread() -> None:
    from sidecar.errors import HostNotAllowed
    from sidecar.fetch.config import FetchConfig
    from sidecar.fetch.dial import Dial, dialing
    from sidecar.fetch.resolve import Resolver, parse_rules
    from sidecar.fetch.transport import build_client
    from sidecar.fetch.urls import AllowedUrl

    resolver = Resolver(parse_rules("MAP *.example 127.0.0.1:9"), allow_private_addresses=True)
    with build_client(FetchConfig(), resolver) as client:
        with pytest.raises(HostNotAllowed, match="unvalidated"):
            client.get("https://a.example/")  # no Dial at all
        with dialing(Dial(AllowedUrl("https", "b.example", 443, "/"))), \
                pytest.raises(HostNotAllowed, match="unvalidated"):
            client.get("https://a.example/")  # a Dial for another host
