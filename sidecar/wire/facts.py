"""Protocol facts needed before the pydantic models load: the version, the signing
constants, the method and event names, the error code a failed load answers with.

GENERATED from ``protocol/`` by ``python -m sidecar.wire.facts_gen --write``: do not edit
(a test fails when this file drifts from the protocol).
"""

from __future__ import annotations

PROTOCOL_VERSION = "1.0.0"
SIGNATURE_SIZE = 32
SIGNATURE_DOMAIN = b"media-sidecar/1\x00"

# (method, test-only), in the order of protocol.METHODS
METHODS: tuple[tuple[str, bool], ...] = (
    ("hello", False),
    ("ping", False),
    ("shutdown", False),
    ("subscribe", False),
    ("unsubscribe", False),
    ("addMediaItem", False),
    ("getMediaItem", False),
    ("removeMediaItem", False),
    ("listMediaItems", False),
    ("retrySaveItem", False),
    ("retryAllUnsaved", False),
    ("getMediaSource", False),
    ("readMediaRange", False),
    ("storageStatus", False),
    ("downloadUrlOnlyItem", False),
    ("downloadAllUrlOnly", False),
    ("cancelDownload", False),
    ("listDownloads", False),
    ("testFault", True),
)

EVENTS: tuple[str, ...] = (
    "itemAdded",
    "itemSaved",
    "itemUnsaved",
    "itemUrlOnly",
    "itemExpired",
    "itemLost",
    "itemRemoved",
    "downloadProgress",
    "storageStatusChanged",
)

INTERNAL = "internal"
