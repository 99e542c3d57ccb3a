"""HMAC-SHA256 signing of a multipart message ``[signature, envelope, *payloads]``.

    signature = HMAC-SHA256(key,
        DOMAIN || u32be(len(envelope)) || envelope
               || u32be(n) || u64be(len(p1)) .. u64be(len(pn))
               || SHA256(p1 || ... || pn))

The payload digest is the content hash the store needs anyway, so large inline payloads
are hashed exactly once. Comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Sequence

from protocol.envelope import SIGNATURE_DOMAIN, SIGNATURE_SIZE

Buffer = bytes | bytearray | memoryview


def payload_digest(payloads: Sequence[Buffer]) -> bytes:
    h = hashlib.sha256()
    for p in payloads:
        h.update(p)
    return h.digest()


def sign(key: bytes, envelope: Buffer, payloads: Sequence[Buffer] = (),
         digest: bytes | None = None) -> bytes:
    """The signature of a message; pass ``digest`` when the payload hash is already known."""
    if digest is None:
        digest = payload_digest(payloads)
    mac = hmac.new(key, digestmod=hashlib.sha256)
    mac.update(SIGNATURE_DOMAIN)
    mac.update(struct.pack(">I", len(envelope)))
    mac.update(envelope)
    mac.update(struct.pack(">I", len(payloads)))
    for p in payloads:
        mac.update(struct.pack(">Q", memoryview(p).nbytes))
    mac.update(digest)
    return mac.digest()


def verify(key: bytes, signature: Buffer, envelope: Buffer, payloads: Sequence[Buffer] = (),
           digest: bytes | None = None) -> bool:
    if memoryview(signature).nbytes != SIGNATURE_SIZE:
        return False
    expected = sign(key, envelope, payloads, digest)
    return hmac.compare_digest(expected, bytes(signature))
