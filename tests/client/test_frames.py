"""The client half of the wire, without sockets: what a request's frames are, and which
server messages are opened (and how) or refused."""

from __future__ import annotations

import pytest

from protocol.envelope import Request
from sidecar.client.frames import (
    BadMessage,
    Framer,
    ReceivedError,
    ReceivedEvent,
    ReceivedReply,
    RemoteError,
    RequestIds,
    open_message,
    result_of,
    seal,
)
from sidecar.wire import signing
from sidecar.wire.codec import decode, encode

KEY = b"k" * 32


def _server(envelope: dict[str, object], payloads: list[bytes] | None = None) -> list[bytes]:
    """A server message as the server signs it."""
    packed = encode(envelope)
    return [signing.sign(KEY, packed, payloads or []), packed, *(payloads or [])]


def test_a_request_is_a_valid_envelope_signed_over_its_payload_frames() -> None:
    framer = Framer(KEY, ids=RequestIds("t"))
    out = framer.request("addMediaItem", {"projectId": "p"}, [b"ab", b"cd"])
    signature, packed, *payloads = out.frames
    envelope = decode(packed, 1 << 20)
    assert Request.model_validate(envelope).id == out.id == "t-1"
    assert envelope["method"] == "addMediaItem" and envelope["params"] == {"projectId": "p"}
    assert payloads == [b"ab", b"cd"]
    assert signing.verify(KEY, signature, packed, payloads)
    assert not signing.verify(KEY, signature, packed, [b"abcd"])  # the frame lengths count
    assert framer.request("ping").id == "t-2"


def test_request_ids_of_two_peers_differ() -> None:
    assert Framer(KEY).new_id() != Framer(KEY).new_id()


def test_a_reply_opens_with_its_payload_frames() -> None:
    got = open_message(KEY, _server({"type": "reply", "id": "a", "result": {"length": 3},
                                     "ts": 1}, [b"xyz"]))
    assert isinstance(got, ReceivedReply)
    assert (got.id, got.result, got.payloads) == ("a", {"length": 3}, (b"xyz",))
    assert result_of(got) == {"length": 3}


def test_a_reply_whose_payload_frame_was_changed_is_refused() -> None:
    frames = _server({"type": "reply", "id": "a", "result": {}, "ts": 1}, [b"xyz"])
    with pytest.raises(BadMessage, match="wrong signature"):
        open_message(KEY, [*frames[:2], b"xyZ"])
    with pytest.raises(BadMessage, match="wrong signature"):
        open_message(b"other key", frames)


def test_an_error_reply_becomes_a_remote_error_with_its_body() -> None:
    body = {"code": "not_found", "message": "no item", "field": None, "data": {"id": "x"}}
    got = open_message(KEY, _server({"type": "error", "id": None, "error": body, "ts": 1}))
    assert isinstance(got, ReceivedError) and got.id is None
    with pytest.raises(RemoteError) as caught:
        result_of(got, "getMediaItem")
    assert (caught.value.code, caught.value.data, caught.value.body) == ("not_found",
                                                                         {"id": "x"}, body)
    assert str(caught.value) == "getMediaItem: not_found: no item"


def test_an_event_opens_with_its_seq() -> None:
    got = open_message(KEY, _server({"type": "event", "event": "itemAdded", "seq": 4,
                                     "data": {"a": 1}, "ts": 1}))
    assert isinstance(got, ReceivedEvent) and (got.event, got.seq) == ("itemAdded", 4)


@pytest.mark.parametrize(("frames", "why"), [
    ([b"only one"], "1 frame"),
    ([b"x" * 32, b"\xc1"], "wrong signature"),
])
def test_frames_that_are_not_a_message_are_refused(frames: list[bytes], why: str) -> None:
    with pytest.raises(BadMessage, match=why):
        open_message(KEY, frames)


@pytest.mark.parametrize("envelope", [
    {"type": "reply", "id": "a", "result": [], "ts": 1},
    {"type": "reply", "id": 7, "result": {}, "ts": 1},
    {"type": "error", "id": "a", "error": {"code": 1, "message": "m"}, "ts": 1},
    {"type": "event", "event": "e", "seq": 0, "data": {}, "ts": 1},
    {"type": "reply", "id": "a", "result": {}, "ts": True},
    {"type": "request", "id": "a", "method": "ping", "params": {}, "ts": 1},
])
def test_a_signed_envelope_of_the_wrong_shape_is_refused(envelope: dict[str, object]) -> None:
    with pytest.raises(BadMessage):
        open_message(KEY, _server(envelope))


def test_an_undecodable_signed_envelope_is_refused() -> None:
    with pytest.raises(BadMessage, match="undecodable"):
        open_message(KEY, seal(KEY, b"\xc1"))
