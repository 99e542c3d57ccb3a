"""docs/PROTOCOL.md's worked examples are right, its limits list is the model's, and each
behaviour it states has its harness case."""

from __future__ import annotations

import binascii
import hashlib
import re

from protocol.control import Limits
from protocol.docs import DOC_PATH
from protocol.vocabulary import MediaType
from sidecar.tools.harness.cases import load
from sidecar.tools.harness.registry import all_cases
from sidecar.wire import signing
from sidecar.wire.codec import encode

DOC = DOC_PATH.read_text(encoding="utf-8")
TS = 1700000000000


def _after(label: str) -> str:
    m = re.search(rf"^{label}\s+([0-9a-f]{{64}})\s*$", DOC, re.MULTILINE)
    assert m, f"no {label} line in the worked example"
    return m.group(1)


def test_the_worked_hmac_example_is_right() -> None:
    secret = _after("secret")
    env = encode({"type": "request", "id": "r1", "method": "ping", "params": {}, "ts": TS})
    assert "".join(env.hex()[i:i + 80] for i in range(0, len(env.hex()), 80)) in \
        "".join(DOC.split())
    assert _after("signature") == signing.sign(secret.encode("utf-8"), env).hex()
    wrong = _after("wrong")
    assert wrong == signing.sign(binascii.unhexlify(secret), env).hex()
    assert not signing.verify(secret.encode(), bytes.fromhex(wrong), env)


def test_the_payload_example_is_right() -> None:
    secret = _after("secret")
    env = encode({"type": "request", "id": "r2", "method": "addMediaItem",
                  "params": {"projectId": "p1", "name": "a.txt", "type": MediaType.IMAGE},
                  "ts": TS})
    payloads = [b"hello ", b"world"]
    assert hashlib.sha256(b"".join(payloads)).hexdigest() in DOC
    assert signing.sign(secret.encode(), env, payloads).hex() in DOC


def test_every_limit_is_named_in_the_limits_section() -> None:
    section = DOC[DOC.index("## Limits and bad input"):DOC.index("## Items")]
    for field in Limits.model_fields.values():
        assert f"`{field.alias}`" in section, field.alias


STATEMENTS = {
    "envelope closed, type required": "contract.envelope_is_closed_and_type_is_required",
    "HMAC key is UTF-8 of the secret": "contract.hmac_key_is_the_utf8_bytes_of_the_secret",
    "one-frame message is invalid_request": "frames.too_few_frames",
    "hello announces every bound": "contract.hello_announces_every_bound",
    "per-server bound queues": "contract.server_bound_queues_never_busy",
    "metadata compact JSON": "contract.metadata_is_measured_as_compact_json",
    "reserved metadata keys": "contract.seed_flag_keys_in_metadata_are_replaced",
    "same content = bytes, ids global":
        "contract.same_content_means_the_same_bytes_and_ids_are_global",
    "counts ignore filters": "contract.counts_ignore_the_list_filters",
    "error data shapes": "contract.error_data_shapes",
    "download cap": "contract.download_over_the_cap_is_payload_too_large",
    "not_ready means hello again": "contract.after_an_oversize_frame_say_hello_again",
    "not_ready before hello": "session.not_ready_before_hello",
    "replay refused": "auth.replayed_message_refused",
    "readMediaRange: one signed reply payload frame, every edge": "playback.range_edges",
    "readMediaRange: length over maxRangeBytes, offset past the end": "playback.range_errors",
    "no local bytes: no_local_bytes with data.status": "playback.url_only_has_no_local_bytes",
    "another project's item is not_found": "playback.other_project_not_found",
    "mimeType from the bytes": "playback.mime_type_from_the_bytes",
}


def test_each_stated_behaviour_has_its_harness_case() -> None:
    load()
    names = {c.name for c in all_cases()}
    missing = {what: name for what, name in STATEMENTS.items() if name not in names}
    assert not missing, missing
