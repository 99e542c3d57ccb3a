"""The media type of an item, from its first bytes (pure: no I/O).

``sniff(head)`` names the container the bytes start with; ``decide(given, head)`` is the
``mimeType`` the store records. The rules:

* the bytes decide: a name's extension is never looked at, and a given type (the client's,
  or a server's Content-Type for downloads) that contradicts the sniffed container is
  replaced by the sniffed type (a player given ``video/mp4`` for a WebM stream may refuse
  it; the bytes are what it will decode);
* a given type that names the same container is kept as given (it may say more: ``audio/webm``
  for an audio-only WebM, ``audio/mp4`` for an m4a with a generic ``isom`` brand);
* bytes nothing here recognises keep the given type, else ``application/octet-stream``:
  every item that has bytes has a type;
* a given type that is not a media type (``text/html``, ``application/javascript``...) is
  ignored: the recorded type becomes the ``Content-Type`` the app's media scheme serves the
  bytes with, and a library of media must never serve a page or a script.

Recognised: MP4 / QuickTime / M4A / 3GP / AVIF / HEIC (ISO BMFF ``ftyp`` major brand, then
compatible brands), WebM vs Matroska (the EBML header's DocType), Ogg (Theora → video),
MP3 (ID3v2 tag, or an MPEG audio frame header), AAC (ADTS), FLAC, WAV / AVI / WebP (RIFF
form type), PNG, JPEG, GIF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEAD_BYTES = 4096  # how much of the start of the bytes ``sniff`` wants to see
OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True)
class Sniffed:
    """A recognised container: the type to record, and the types that name it too."""

    mime: str
    family: frozenset[str]


def _kind(mime: str, *aliases: str) -> Sniffed:
    return Sniffed(mime, frozenset((mime, *aliases)))


_MP4_ALIASES = ("video/mp4", "audio/mp4", "video/x-m4v", "audio/x-m4a", "audio/m4a",
                "audio/aac", "application/mp4")
MP4 = _kind("video/mp4", *_MP4_ALIASES)
M4A = _kind("audio/mp4", *_MP4_ALIASES)
QUICKTIME = _kind("video/quicktime", "video/mp4")
THREE_GP = _kind("video/3gpp", "audio/3gpp", "video/3gpp2", "audio/3gpp2", "video/mp4")
AVIF = _kind("image/avif")
HEIC = _kind("image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence")
WEBM = _kind("video/webm", "audio/webm")
MATROSKA = _kind("video/x-matroska", "audio/x-matroska", "video/matroska", "audio/matroska",
                 "application/x-matroska")
OGG_AUDIO = _kind("audio/ogg", "video/ogg", "application/ogg", "audio/opus",
                  "audio/vorbis", "audio/x-vorbis+ogg")
OGG_VIDEO = _kind("video/ogg", "audio/ogg", "application/ogg")
MP3 = _kind("audio/mpeg", "audio/mp3", "audio/x-mpeg", "audio/mpeg3", "audio/x-mp3")
AAC = _kind("audio/aac", "audio/x-aac", "audio/aacp")
FLAC = _kind("audio/flac", "audio/x-flac")
WAV = _kind("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave")
AVI = _kind("video/x-msvideo", "video/avi", "video/msvideo")
WEBP = _kind("image/webp")
PNG = _kind("image/png", "image/apng")
JPEG = _kind("image/jpeg", "image/jpg", "image/pjpeg")
GIF = _kind("image/gif")

# ISO BMFF brands (major, or compatible when the major is unknown).
_BRANDS: dict[bytes, Sniffed] = {
    b"qt  ": QUICKTIME,
    b"M4A ": M4A, b"M4B ": M4A, b"M4P ": M4A, b"F4A ": M4A, b"F4B ": M4A,
    b"avif": AVIF, b"avis": AVIF,
    b"heic": HEIC, b"heix": HEIC, b"mif1": HEIC, b"msf1": HEIC, b"hevc": HEIC,
    b"3gp4": THREE_GP, b"3gp5": THREE_GP, b"3gp6": THREE_GP, b"3gp7": THREE_GP,
    b"3g2a": THREE_GP, b"3gg6": THREE_GP,
    **{brand: MP4 for brand in (b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6",
                                b"iso8", b"iso9", b"mp41", b"mp42", b"mp71", b"avc1",
                                b"dash", b"M4V ", b"M4VH", b"M4VP", b"F4V ", b"F4P ",
                                b"MSNV", b"NDAS", b"cmfc", b"mmp4")},
}
# QuickTime files written without an ftyp box start with one of these atoms.
_QT_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE = 0x4282


def sniff(head: bytes | bytearray | memoryview) -> Sniffed | None:
    """The container ``head`` (the first bytes, ideally ``HEAD_BYTES`` of them) starts."""
    b = bytes(head[:HEAD_BYTES])
    if len(b) < 3:
        return None
    for check in _CHECKS:
        found = check(b)
        if found is not None:
            return found
    return None


_MEDIA_PREFIXES = ("video/", "audio/", "image/")
_MEDIA_APPLICATION = frozenset({"application/ogg", "application/mp4", "application/x-matroska",
                                OCTET_STREAM})
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def is_media_type(mime: str) -> bool:
    """A well-formed ``type/subtype`` that names media (or opaque bytes)."""
    kind = essence(mime)
    return bool(_TOKEN.match(kind)) and (kind.startswith(_MEDIA_PREFIXES)
                                         or kind in _MEDIA_APPLICATION)


def decide(given: str | None, head: bytes | bytearray | memoryview) -> str:
    """The mimeType to record for bytes starting with ``head`` (rules in the module doc)."""
    if given is not None and not is_media_type(given):
        given = None
    found = sniff(head)
    if found is None:
        return given or OCTET_STREAM
    if given is not None and essence(given) in found.family:
        return given
    return found.mime


def essence(mime: str) -> str:
    """``type/subtype`` in lower case, without parameters."""
    return mime.split(";", 1)[0].strip().lower()


# The checks, most specific first -------------------------------------------------------
def _png(b: bytes) -> Sniffed | None:
    return PNG if b.startswith(b"\x89PNG\r\n\x1a\n") else None


def _jpeg(b: bytes) -> Sniffed | None:
    return JPEG if b.startswith(b"\xff\xd8\xff") else None


def _gif(b: bytes) -> Sniffed | None:
    return GIF if b[:6] in (b"GIF87a", b"GIF89a") else None


def _riff(b: bytes) -> Sniffed | None:
    if len(b) < 12 or b[:4] not in (b"RIFF", b"RIFX", b"RF64"):
        return None
    return {b"WAVE": WAV, b"WEBP": WEBP, b"AVI ": AVI}.get(b[8:12])


def _iso_bmff(b: bytes) -> Sniffed | None:
    if len(b) < 12:
        return None
    if b[4:8] != b"ftyp":
        return QUICKTIME if b[4:8] in _QT_ATOMS and _box_size_ok(b) else None
    box = int.from_bytes(b[:4], "big")
    major = b[8:12]
    if major in _BRANDS:
        return _BRANDS[major]
    # An unknown major brand: the first known compatible brand decides (after the minor
    # version, 4-byte brands up to the end of the box).
    end = min(box if box >= 16 else len(b), len(b))
    for i in range(16, end - 3, 4):
        brand = _BRANDS.get(b[i:i + 4])
        if brand is not None:
            return brand
    return MP4


def _box_size_ok(b: bytes) -> bool:
    size = int.from_bytes(b[:4], "big")
    return size in (0, 1) or size >= 8


def _ebml(b: bytes) -> Sniffed | None:
    if not b.startswith(_EBML_MAGIC):
        return None
    header = _vint(b, 4)
    if header is None:
        return MATROSKA
    size, pos = header
    end = min(pos + size, len(b))
    while pos < end:
        elem_id = _vint(b, pos, keep_marker=True)
        if elem_id is None:
            break
        ident, pos = elem_id
        length = _vint(b, pos)
        if length is None:
            break
        n, pos = length
        if ident == _EBML_DOCTYPE:
            doctype = b[pos:pos + n].rstrip(b"\0")
            return WEBM if doctype == b"webm" else MATROSKA
        pos += n
    return MATROSKA  # an EBML stream without a readable DocType: Matroska by default


def _vint(b: bytes, pos: int, *, keep_marker: bool = False) -> tuple[int, int] | None:
    """An EBML variable-length integer at ``pos``: (value, position after it)."""
    if pos >= len(b) or b[pos] == 0:
        return None
    first = b[pos]
    width = 8 - first.bit_length() + 1
    if pos + width > len(b):
        return None
    value = first if keep_marker else first & ((1 << (8 - width)) - 1)
    for i in range(1, width):
        value = (value << 8) | b[pos + i]
    return value, pos + width


def _ogg(b: bytes) -> Sniffed | None:
    if not b.startswith(b"OggS"):
        return None
    return OGG_VIDEO if b"\x80theora" in b[:512] else OGG_AUDIO


def _flac(b: bytes) -> Sniffed | None:
    return FLAC if b.startswith(b"fLaC") else None


def _id3(b: bytes) -> Sniffed | None:
    if not b.startswith(b"ID3") or len(b) < 10:
        return None
    # After the tag (its size is syncsafe: 7 bits a byte), the first frame tells MP3 from AAC
    # when it is within the head; an ID3 tag is MP3's in every other case.
    size = (b[6] & 0x7F) << 21 | (b[7] & 0x7F) << 14 | (b[8] & 0x7F) << 7 | (b[9] & 0x7F)
    after = 10 + size + (10 if b[5] & 0x10 else 0)
    if after + 4 <= len(b) and _adts(b[after:after + 4]):
        return AAC
    return MP3


def _adts(b: bytes) -> bool:
    return len(b) >= 4 and b[0] == 0xFF and b[1] & 0xF6 == 0xF0 and (b[2] >> 2) & 0xF < 13


def _mpeg_audio(b: bytes) -> Sniffed | None:
    if len(b) < 4 or b[0] != 0xFF or b[1] & 0xE0 != 0xE0:
        return None
    if _adts(b):
        return AAC
    version, layer = (b[1] >> 3) & 3, (b[1] >> 1) & 3
    bitrate, rate = b[2] >> 4, (b[2] >> 2) & 3
    if version == 1 or layer == 0 or bitrate in (0, 15) or rate == 3:
        return None
    return MP3


_CHECKS = (_png, _jpeg, _gif, _riff, _iso_bmff, _ebml, _ogg, _flac, _id3, _mpeg_audio)
