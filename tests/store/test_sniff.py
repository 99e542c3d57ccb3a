"""The recorded media type comes from the bytes: real files made with ffmpeg for each
container, minimal byte fixtures for the edges, and the rule against a given type."""

from __future__ import annotations

import os
import random

import pytest

from sidecar.store.sniff import HEAD_BYTES, OCTET_STREAM, decide, sniff
from tests.media_files import KINDS, MediaKind


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_each_real_container_is_recognised_from_its_first_bytes(
        kind: MediaKind, media_files: dict[str, bytes]) -> None:
    head = media_files[kind.name][:HEAD_BYTES]
    found = sniff(head)
    assert found is not None and found.mime == kind.mime
    assert decide(None, head) == kind.mime


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\0\0\0\0" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\0\0\0\x08free"


def _ebml(doctype: bytes) -> bytes:
    # EBMLVersion 1, then DocType (id 0x4282, size as a 1-byte vint)
    children = b"\x42\x86\x81\x01" + b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(children)]) + children


ID3_HEADER = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\0" * 10  # a 10-byte tag, then audio
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\0" * 60
ADTS_FRAME = b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\0" * 60

BYTE_CASES: list[tuple[str, bytes, str | None]] = [
    ("ftyp-mp42", _ftyp(b"mp42", b"isom"), "video/mp4"),
    ("ftyp-qt", _ftyp(b"qt  "), "video/quicktime"),
    ("ftyp-M4A", _ftyp(b"M4A ", b"mp42"), "audio/mp4"),
    ("ftyp-unknown-major-compatible-M4A", _ftyp(b"zzzz", b"M4A ", b"isom"), "audio/mp4"),
    ("ftyp-unknown-brands-is-mp4", _ftyp(b"zzzz"), "video/mp4"),
    ("ftyp-avif", _ftyp(b"avif", b"mif1"), "image/avif"),
    ("quicktime-without-ftyp", b"\0\0\0\x10moov" + b"\0" * 16, "video/quicktime"),
    ("ebml-webm", _ebml(b"webm"), "video/webm"),
    ("ebml-matroska", _ebml(b"matroska"), "video/x-matroska"),
    ("ebml-truncated-header", b"\x1a\x45\xdf\xa3\x9f\x42", "video/x-matroska"),
    ("ogg-theora", b"OggS\0\x02" + b"\0" * 22 + b"\x80theora", "video/ogg"),
    ("ogg-opus", b"OggS\0\x02" + b"\0" * 22 + b"OpusHead", "audio/ogg"),
    ("id3-then-mp3", ID3_HEADER + MP3_FRAME, "audio/mpeg"),
    ("id3-then-adts", ID3_HEADER + ADTS_FRAME, "audio/aac"),
    ("id3-tag-longer-than-head", b"ID3\x04\x00\x00\x00\x7f\x7f\x7f", "audio/mpeg"),
    ("mp3-frame-sync", MP3_FRAME, "audio/mpeg"),
    ("adts", ADTS_FRAME, "audio/aac"),
    ("mpeg-2.5-sync-with-reserved-layer", b"\xff\xe1\x90\x64", None),
    ("adts-mpeg2", b"\xff\xf9\x50\x80", "audio/aac"),
    ("sync-with-bad-bitrate", b"\xff\xfb\xf0\x64", None),
    ("riff-wave", b"RIFF\x24\0\0\0WAVEfmt ", "audio/wav"),
    ("riff-webp", b"RIFF\x24\0\0\0WEBPVP8 ", "image/webp"),
    ("riff-unknown-form", b"RIFF\x24\0\0\0CDDAfmt ", None),
    ("png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
    ("jpeg", b"\xff\xd8\xff\xdb\0\x43", "image/jpeg"),
    ("gif87a", b"GIF87a\x01\0\x01\0", "image/gif"),
    ("flac", b"fLaC\0\0\0\x22", "audio/flac"),
    ("text-html", b"<!doctype html><html>", None),
    ("json", b'{"error": "not found"}', None),
    ("two-bytes", b"\xff\xd8", None),
    ("empty", b"", None),
]


@pytest.mark.parametrize(("head", "mime"), [(h, m) for _, h, m in BYTE_CASES],
                         ids=[n for n, _, _ in BYTE_CASES])
def test_minimal_byte_fixtures(head: bytes, mime: str | None) -> None:
    found = sniff(head)
    assert (found.mime if found else None) == mime


def test_random_bytes_are_not_a_media_type() -> None:
    recognised = sum(sniff(os.urandom(64)) is not None for _ in range(2000))
    # Random heads match a 2-to-4-byte signature now and then (MPEG sync is 11 bits);
    # what must not happen is recognising them routinely.
    assert recognised < 20


DECISIONS: list[tuple[str, str | None, bytes, str]] = [
    ("nothing given: the sniffed type", None, _ebml(b"webm"), "video/webm"),
    ("a contradicting given type loses to the bytes", "video/mp4", _ebml(b"webm"),
     "video/webm"),
    ("an image type given for an mp3 loses", "image/png", MP3_FRAME, "audio/mpeg"),
    ("a given type of the same container is kept (more precise)", "audio/webm",
     _ebml(b"webm"), "audio/webm"),
    ("an m4a called audio/mp4 keeps it over the generic isom brand", "audio/mp4",
     _ftyp(b"isom"), "audio/mp4"),
    ("a given type with parameters, same container, is kept as given",
     'video/webm; codecs="vp8"', _ebml(b"webm"), 'video/webm; codecs="vp8"'),
    ("case does not matter for the family", "Video/MP4", _ftyp(b"mp42"), "Video/MP4"),
    ("unknown bytes keep the given type", "video/x-flv", b"FLV\x01\x05", "video/x-flv"),
    ("unknown bytes and nothing given", None, b"FLV\x01\x05", OCTET_STREAM),
    ("no bytes at all", None, b"", OCTET_STREAM),
    ("a page type is never recorded", "text/html", b"<html><script>", OCTET_STREAM),
    ("nor a script type, even for media bytes", "application/javascript", _ebml(b"webm"),
     "video/webm"),
    ("a malformed type is ignored", "video/mp4\r\nX-Evil: 1", b"FLV\x01", OCTET_STREAM),
    ("opaque bytes may say so", "application/octet-stream", b"FLV\x01", OCTET_STREAM),
    ("ogg as application/ogg is a media type", "application/ogg", b"OggS\0\x02" + b"\0" * 30,
     "application/ogg"),
]


@pytest.mark.parametrize(("given", "head", "recorded"), [d[1:] for d in DECISIONS],
                         ids=[d[0] for d in DECISIONS])
def test_decide(given: str | None, head: bytes, recorded: str) -> None:
    assert decide(given, head) == recorded


def test_only_the_head_is_looked_at() -> None:
    """A WebM DocType beyond the sniffed head is not searched for (bounded work)."""
    far = b"\x1a\x45\xdf\xa3" + b"\x01\x00\x00\x00\x00\x00\x10\x00" + b"\0" * (HEAD_BYTES * 2)
    found = sniff(far + b"\x42\x82\x84webm")
    assert found is not None and found.mime == "video/x-matroska"


def test_any_prefix_or_corruption_of_a_real_head_is_answered(
        media_files: dict[str, bytes]) -> None:
    """Truncated and bit-flipped heads never raise: sniffing is total over its input."""
    rng = random.Random(11)
    for data in media_files.values():
        head = data[:HEAD_BYTES]
        for n in range(0, 80):
            decide(None, head[:n])
        for _ in range(100):
            bad = bytearray(head)
            for _ in range(8):
                bad[rng.randrange(min(len(bad), 64))] = rng.randrange(256)
            assert isinstance(decide(None, bytes(bad)), str)
