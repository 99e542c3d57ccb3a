"""HMAC-SHA256 signing of a multipart message ``[signature, envelope, *payloads]``.

    signature = HMAC-SHA256(key,
        DOMAIN || u32be(len(envelope)) || envelope
               || u32be(n) || u64be(len(p1)) .. u64be(len(pn))
               || SHA256(p1 || ... || pn))

The payload digest is the content hash the store needs anyway, so large inline payloads
are hashed exactly once. Comparison is constant-time (``hmac.compare_digest``).

The signed text of a message is small (the envelope plus a few fixed fields), so it is
joined into one buffer and signed with the one-shot ``hmac.digest`` (OpenSSL's HMAC in C):
about half the cost of building an ``hmac.HMAC`` object and feeding it part by part, and
signing runs twice per round trip.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Sequence

from sidecar.wire.facts import SIGNATURE_DOMAIN, SIGNATURE_SIZE

Buffer = bytes | bytearray | memoryview

EMPTY_DIGEST = hashlib.sha256().digest()
_U32 = struct.Struct(">I").pack
_U64 = struct.Struct(">Q").pack
_NO_PAYLOADS = _U32(0)


def payload_digest(payloads: Sequence[Buffer]) -> bytes:
    if not payloads:
        return EMPTY_DIGEST
    h = hashlib.sha256()
    for p in payloads:
        h.update(p)
    return h.digest()


def sign(key: bytes, envelope: Buffer, payloads: Sequence[Buffer] = (),
         digest: bytes | None = None) -> bytes:
    """The signature of a message; pass ``digest`` when the payload hash is already known."""
    if digest is None:
        digest = payload_digest(payloads)
    if payloads:
        sizes = b"".join([_U32(len(payloads)),
                          *(_U64(memoryview(p).nbytes) for p in payloads)])
    else:
        sizes = _NO_PAYLOADS
    text = b"".join((SIGNATURE_DOMAIN, _U32(memoryview(envelope).nbytes), envelope, sizes,
                     digest))
    return hmac.digest(key, text, "sha256")


def verify(key: bytes, signature: Buffer, envelope: Buffer, payloads: Sequence[Buffer] = (),
           digest: bytes | None = None) -> bool:
    if memoryview(signature).nbytes != SIGNATURE_SIZE:
        return False
    expected = sign(key, envelope, payloads, digest)
    return hmac.compare_digest(expected, bytes(signature))
