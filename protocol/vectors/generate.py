"""Writes the vector files deterministically from ``catalog`` (and the signed ones here).

Encoding and signing are written here from the spec in docs/PROTOCOL.md, independently of
``sidecar.wire``: the replay test then checks that the server's codec and signer agree with
this second implementation byte for byte.

    python -m protocol.vectors.generate --write
    python -m protocol.vectors.generate --check
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgpack

from protocol.generated import files_cli
from protocol.vectors.catalog import INVALID, VALID, Vector
from protocol.vectors.samples import ITEM_ID, PROJECT, SHA, TS, Json, reply, request
from protocol.vocabulary import MediaType

ROOT = Path(__file__).parent
FOLDERS = ("valid", "invalid", "signed")
REGENERATE = "python -m protocol.vectors.generate --write"
DOMAIN = b"media-sidecar/1\x00"

# The fixed secret of the signed vectors. The key is its UTF-8 bytes, as the connection
# file's "secret" string is used by every client.
TEST_SECRET = "vector-secret-6b1f0c2a9d7e4f3b8a5c1e0d2f4a6b8c"  # noqa: S105 (public)
OTHER_SECRET = "some-other-secret-000000000000000000000000000000"  # noqa: S105


def pack(value: Any) -> bytes:
    """msgpack as the spec says: str for strings, bin for bytes, floats as float64."""
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def signed_input(envelope: bytes, payloads: Sequence[bytes]) -> bytes:
    """The exact bytes the HMAC is computed over."""
    parts = [DOMAIN, struct.pack(">I", len(envelope)), envelope, struct.pack(">I", len(payloads))]
    parts += [struct.pack(">Q", len(p)) for p in payloads]
    parts.append(hashlib.sha256(b"".join(payloads)).digest())
    return b"".join(parts)


def signature(secret: str, envelope: bytes, payloads: Sequence[bytes]) -> bytes:
    return hmac.new(secret.encode(), signed_input(envelope, payloads), hashlib.sha256).digest()


def vector_file(vector: Vector) -> Json:
    out: Json = {"description": vector.description, "kind": vector.kind}
    if vector.method is not None:
        out["method"] = vector.method
    raw = vector.raw if vector.raw is not None else pack(vector.value)
    if vector.raw is None:
        out["value"] = vector.value
    out["msgpack_hex"] = raw.hex()
    out["expect"] = vector.expect
    out.update(vector.extra)
    return out


def _signed(description: str, value: Json, payloads: Sequence[bytes], expect: Json, *,
            sign_secret: str = TEST_SECRET, sign_envelope: bytes | None = None,
            sign_payloads: Sequence[bytes] | None = None,
            mangle: bool = False, signature_hex: str | None = None) -> Json:
    envelope = pack(value)
    sig = signature(sign_secret, sign_envelope if sign_envelope is not None else envelope,
                    sign_payloads if sign_payloads is not None else payloads)
    if mangle:
        sig = sig[:-1] + bytes([sig[-1] ^ 0x01])
    return {
        "description": description,
        "kind": value["type"],
        "secret": TEST_SECRET,
        "key_hex": TEST_SECRET.encode().hex(),
        "value": value,
        "frames": {
            "signature_hex": signature_hex if signature_hex is not None else sig.hex(),
            "envelope_hex": envelope.hex(),
            "payloads_hex": [p.hex() for p in payloads],
        },
        # What a verifier computes from these frames; the HMAC of it is the right signature.
        "signed_bytes_hex": signed_input(envelope, payloads).hex(),
        "expected_signature_hex": signature(TEST_SECRET, envelope, payloads).hex(),
        "expect": expect,
    }


def signed_vectors() -> dict[str, Json]:
    ping = request("s1", "ping", {})
    add = request("s2", "addMediaItem", {"id": ITEM_ID, "projectId": PROJECT,
                                         "name": "hello.txt", "type": MediaType.IMAGE})
    two = [b"hello ", b"world"]
    unauthorized: Json = {"error": "unauthorized"}
    ok: Json = {"ok": True}
    return {
        "valid-request-no-payloads": _signed(
            "a signed ping: no payload frames, so the digest is SHA256 of nothing", ping, [], ok),
        "valid-request-two-payloads": _signed(
            "a signed add with two payload frames (bytes 'hello world' in two parts)",
            add, two, ok),
        "valid-reply": _signed(
            "a reply signed by the server, checked by the client the same way",
            reply("s1", {"pong": True, "time": TS + 5, "uptimeMs": 42}), [], ok),
        "valid-reply-with-payload": _signed(
            "a readMediaRange reply with its one payload frame (bytes 'hello'): reply payloads "
            "are signed exactly like request payloads",
            reply("s3", {"offset": 0, "length": 5, "size": 11, "sha256": SHA}), [b"hello"], ok),
        "reply-payload-tampered": _signed(
            "a reply signed over the payload 'hello', sent with 'jello'",
            reply("s3", {"offset": 0, "length": 5, "size": 11, "sha256": SHA}), [b"jello"],
            unauthorized, sign_payloads=[b"hello"]),
        "wrong-signature": _signed(
            "the last bit of the signature flipped", ping, [], unauthorized, mangle=True),
        "wrong-secret": _signed(
            "signed with another secret", ping, [], unauthorized, sign_secret=OTHER_SECRET),
        "wrong-payload-lengths": _signed(
            "signed over frames 'hello '+'world', sent as 'hello'+' world': the same bytes "
            "and SHA256, but the lengths are signed too", add, [b"hello", b" world"],
            unauthorized, sign_payloads=two),
        "payload-frame-dropped": _signed(
            "signed with two payload frames, sent with one", add, [b"hello "], unauthorized,
            sign_payloads=two),
        "payload-frame-added": _signed(
            "signed with no payload frames, sent with one", ping, [b"x"], unauthorized,
            sign_payloads=[]),
        "envelope-tampered": _signed(
            "the signature of another envelope (id s0)", ping, [], unauthorized,
            sign_envelope=pack(request("s0", "ping", {}))),
        "empty-signature": _signed(
            "an empty signature frame", ping, [], unauthorized, signature_hex=""),
        "short-signature": _signed(
            "a 31-byte signature", ping, [], unauthorized,
            signature_hex=signature(TEST_SECRET, pack(ping), [])[:31].hex()),
    }


def render(body: Json) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def build() -> dict[str, str]:
    """Relative path → file text, for every vector."""
    files: dict[str, str] = {}
    for folder, vectors in (("valid", VALID), ("invalid", INVALID)):
        for vector in vectors:
            files[f"{folder}/{vector.name}.json"] = render(vector_file(vector))
    for name, body in signed_vectors().items():
        files[f"signed/{name}.json"] = render(body)
    if len(files) != len(VALID) + len(INVALID) + len(signed_vectors()):
        raise ValueError("two vectors share a name")
    return dict(sorted(files.items()))


def _existing(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for folder in FOLDERS for p in (root / folder).glob("*.json")}


def diff(root: Path = ROOT) -> list[str]:
    want = build()
    problems = []
    for rel, text in want.items():
        path = root / rel
        if not path.exists():
            problems.append(f"missing: {rel}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"stale: {rel}")
    problems += [f"unexpected: {rel}" for rel in sorted(_existing(root) - set(want))]
    return problems


def write(root: Path = ROOT) -> list[str]:
    want = build()
    for rel in _existing(root) - set(want):
        (root / rel).unlink()
    written = []
    for rel, text in want.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(rel)
    return written


def main(argv: list[str] | None = None) -> int:
    return files_cli(argv, prog="python -m protocol.vectors.generate", description=__doc__,
                     what="protocol/vectors",
                     write=write, diff=diff, regenerate=REGENERATE)


if __name__ == "__main__":
    raise SystemExit(main())
