"""Writes ``sidecar/wire/facts.py``: the protocol facts the sidecar needs before the
pydantic models load (``sidecar.rpc.early``, ``sidecar.wire.signing``), read from
``protocol``.

    python -m sidecar.wire.facts_gen --write    (after changing protocol/)
    python -m sidecar.wire.facts_gen --check    (exit 1 when it drifted; a test runs it)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PATH = Path(__file__).resolve().parent / "facts.py"
REGENERATE = "python -m sidecar.wire.facts_gen --write"


def _str(text: str) -> str:
    return json.dumps(text)


def _bytes(data: bytes) -> str:
    return f'b"{repr(data)[2:-1]}"'


def render() -> str:
    from protocol import EVENTS, METHODS, PROTOCOL_VERSION, ErrorCode
    from protocol.envelope import SIGNATURE_DOMAIN, SIGNATURE_SIZE

    methods = "".join(f"    ({_str(name)}, {spec.test_only!r}),\n"
                      for name, spec in METHODS.items())
    events = "".join(f"    {_str(name)},\n" for name in EVENTS)
    return f'''"""Protocol facts needed before the pydantic models load: the version, the signing
constants, the method and event names, the error code a failed load answers with.

GENERATED from ``protocol/`` by ``{REGENERATE}``: do not edit
(a test fails when this file drifts from the protocol).
"""

from __future__ import annotations

PROTOCOL_VERSION = {_str(PROTOCOL_VERSION)}
SIGNATURE_SIZE = {SIGNATURE_SIZE!r}
SIGNATURE_DOMAIN = {_bytes(SIGNATURE_DOMAIN)}

# (method, test-only), in the order of protocol.METHODS
METHODS: tuple[tuple[str, bool], ...] = (
{methods})

EVENTS: tuple[str, ...] = (
{events})

INTERNAL = {_str(ErrorCode.INTERNAL.value)}
'''


def main(argv: list[str] | None = None) -> int:
    from protocol.generated import block_cli

    return block_cli(argv, prog="python -m sidecar.wire.facts_gen",
                     description=__doc__, path=PATH, splice=lambda _current: render(),
                     regenerate=REGENERATE)


if __name__ == "__main__":
    sys.exit(main())
