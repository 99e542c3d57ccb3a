"""Replays protocol/vectors through the server's own decoding and validation path.

Request vectors go through ``sidecar.rpc.inbound.InboundParser`` (split, authenticate, envelope
model) and ``sidecar.rpc.dispatch.Handlers.params_for``, exactly as the server takes a message
in; they are signed with the vector secret and checked with the freshness window opened
(their ``ts`` is fixed). Replies, errors and events are validated with the envelope models
and the method's or event's model, and must dump back to the same value. Every
JSON-representable vector is also checked against the committed JSON Schemas, and every
vector must re-encode to its exact bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from protocol import EVENTS, METHODS
from protocol.base import Result
from protocol.envelope import ErrorReply, EventMessage, Reply
from protocol.schema import SCHEMA_DIR
from protocol.vectors.generate import REGENERATE, ROOT, TEST_SECRET, diff
from sidecar.errors import SidecarError
from sidecar.rpc.auth import Authenticator
from sidecar.rpc.dispatch import CallContext, Handlers
from sidecar.rpc.inbound import Inbound, InboundParser, Rejected, digest_of
from sidecar.wire import codec, signing

KEY = TEST_SECRET.encode()
OPEN_WINDOW_MS = 10**15  # vectors carry a fixed ts: switch freshness off, keep the rest
LIMIT = 1024 * 1024


def _load(folder: str) -> list[tuple[str, dict[str, Any]]]:
    return [(p.stem, json.loads(p.read_text(encoding="utf-8")))
            for p in sorted((ROOT / folder).glob("*.json"))]


VALID = _load("valid")
INVALID = _load("invalid")
SIGNED = _load("signed")


def _schema(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8")))


async def _never(ctx: CallContext, params: Any) -> Result:
    raise AssertionError("vectors are validated, never executed")


def _handlers() -> Handlers:
    handlers = Handlers(enable_test_hooks=True)
    for name in METHODS:
        handlers.add(name, _never)
    return handlers


def _parser() -> InboundParser:
    return InboundParser(Authenticator(KEY, OPEN_WINDOW_MS), LIMIT, 64)


def _take_in(envelope: bytes, payloads: tuple[bytes, ...] = (),
             signature: bytes | None = None, parser: InboundParser | None = None) -> Inbound:
    """The server's intake of one message, up to validated params (raises Rejected)."""
    sig = signing.sign(KEY, envelope, payloads) if signature is None else signature
    parser = parser or _parser()
    pending = parser.split([b"client-identity", sig, envelope, *payloads])
    return parser.finish(pending, digest_of(pending))


def _server_answer(raw: bytes) -> tuple[str, str | None, str | None] | None:
    """(code, field, reply id) the server answers for a request, or None when accepted."""
    try:
        inbound = _take_in(raw)
    except Rejected as rej:
        return str(rej.error.code), rej.error.field, rej.request_id
    try:
        _handlers().params_for(inbound.request.method, inbound.request.params)
    except SidecarError as exc:
        return str(exc.code), exc.field, inbound.request.id
    return None


def test_committed_vectors_match_the_generator() -> None:
    problems = diff()
    assert not problems, f"protocol/vectors drifted ({', '.join(problems)}): run `{REGENERATE}`"


def test_every_method_and_event_has_a_valid_vector() -> None:
    requests = {v["method"] for _, v in VALID if v["kind"] == "request"}
    events = {v["value"]["event"] for _, v in VALID if v["kind"] == "event"}
    assert requests == set(METHODS)
    assert events == set(EVENTS)


@pytest.mark.parametrize(("name", "vector"), VALID, ids=[n for n, _ in VALID])
def test_valid_vector_is_accepted_and_reencodes_to_the_same_bytes(
        name: str, vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["msgpack_hex"])
    decoded = codec.decode(raw, LIMIT)
    assert decoded == vector["value"]
    assert codec.encode(decoded) == raw
    kind = vector["kind"]
    _schema(f"envelope.{kind}.json").validate(decoded)
    if kind == "request":
        assert _server_answer(raw) is None
        _schema(f"{vector['method']}.params.json").validate(decoded.get("params", {}))
    elif kind == "reply":
        Reply.model_validate(decoded)
        model = METHODS[vector["method"]].result
        assert model.model_validate(decoded["result"]).wire() == decoded["result"]
        _schema(f"{vector['method']}.result.json").validate(decoded["result"])
    elif kind == "error":
        dumped = ErrorReply.model_validate(decoded).model_dump(mode="json", by_alias=True)
        assert dumped == decoded
    else:
        EventMessage.model_validate(decoded)
        data_model = EVENTS[decoded["event"]].data
        assert data_model.model_validate(decoded["data"]).wire() == decoded["data"]
        _schema(f"event.{decoded['event']}.json").validate(decoded["data"])


@pytest.mark.parametrize(("name", "vector"), INVALID, ids=[n for n, _ in INVALID])
def test_invalid_vector_is_refused_with_the_code_the_server_gives(
        name: str, vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["msgpack_hex"])
    if "value" in vector:
        assert codec.encode(vector["value"]) == raw
    expect = vector["expect"]
    answer = _server_answer(raw)
    assert answer == (expect["error"], expect.get("field"), expect["replyId"])


@pytest.mark.parametrize(("name", "vector"),
                         [(n, v) for n, v in INVALID if "value" in v
                          and v["expect"]["error"] in ("invalid_params", "invalid_request")],
                         ids=lambda x: x if isinstance(x, str) else "")
def test_invalid_vector_is_refused_by_the_json_schemas_too(
        name: str, vector: dict[str, Any]) -> None:
    value = vector["value"]
    envelope = _schema("envelope.request.json")
    if vector["expect"]["error"] == "invalid_request":
        assert not envelope.is_valid(value)
    else:
        envelope.validate(value)
        assert not _schema(f"{value['method']}.params.json").is_valid(value["params"])


def _frames(vector: dict[str, Any]) -> tuple[bytes, bytes, tuple[bytes, ...]]:
    f = vector["frames"]
    return (bytes.fromhex(f["signature_hex"]), bytes.fromhex(f["envelope_hex"]),
            tuple(bytes.fromhex(p) for p in f["payloads_hex"]))


@pytest.mark.parametrize(("name", "vector"), SIGNED, ids=[n for n, _ in SIGNED])
def test_signed_vector_is_verified_byte_for_byte(name: str, vector: dict[str, Any]) -> None:
    signature, envelope, payloads = _frames(vector)
    assert vector["key_hex"] == KEY.hex()
    assert codec.encode(vector["value"]) == envelope
    expected = signing.sign(KEY, envelope, payloads)
    assert expected.hex() == vector["expected_signature_hex"]
    ok = vector["expect"] == {"ok": True}
    assert signing.verify(KEY, signature, envelope, payloads) is ok
    if vector["kind"] != "request":
        return
    if ok:
        inbound = _take_in(envelope, payloads, signature)
        assert inbound.payload_sha256 == signing.payload_digest(payloads).hex()
    else:
        with pytest.raises(Rejected) as rej:
            _take_in(envelope, payloads, signature)
        assert rej.value.error.code == vector["expect"]["error"]


def test_a_signed_vector_sent_twice_is_refused_as_a_replay() -> None:
    signature, envelope, payloads = _frames(dict(SIGNED)["valid-request-two-payloads"])
    parser = _parser()
    _take_in(envelope, payloads, signature, parser)
    with pytest.raises(Rejected) as rej:
        _take_in(envelope, payloads, signature, parser)
    assert rej.value.error.code == "unauthorized"


def test_vector_files_are_plain_json_without_integer_valued_floats() -> None:
    def walk(value: object, where: str) -> None:
        if isinstance(value, float):
            assert not value.is_integer(), f"{where}: {value} would be packed as an int in JS"
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")

    for folder in ("valid", "invalid", "signed"):
        for path in (ROOT / folder).glob("*.json"):
            walk(json.loads(path.read_text(encoding="utf-8")), str(Path(folder) / path.name))
