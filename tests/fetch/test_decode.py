"""Content-Encoding handling: which encodings are accepted, and that decoding is bounded per
step whatever the input expands to (a bomb never materialises in memory at once)."""

from __future__ import annotations

import gzip
import zlib

import pytest

from sidecar.fetch.decode import STEP, DecodeError, EncodingRefused, decoder_for
from sidecar.fetch.retry import parse_retry_after


@pytest.mark.parametrize("header", ["gzip, gzip", "gzip,deflate", "br", "zstd", "compress",
                                    "x-unknown", "deflate, identity, gzip"])
def test_stacked_and_unsupported_encodings_are_refused(header: str) -> None:
    with pytest.raises(EncodingRefused):
        decoder_for(header)


@pytest.mark.parametrize("header", [None, "", "identity", " Identity ", "identity, identity"])
def test_identity_needs_no_decoder(header: str | None) -> None:
    assert decoder_for(header) is None


def test_a_bomb_is_decoded_one_bounded_step_at_a_time() -> None:
    bomb = gzip.compress(bytes(256 * STEP), 9)  # 16 MiB of zeros in ~16 KiB
    dec = decoder_for("gzip")
    assert dec is not None
    pieces = list(dec.feed(bomb))  # one wire chunk holding the whole bomb
    assert max(len(p) for p in pieces) <= STEP
    assert sum(len(p) for p in pieces) == 256 * STEP
    assert dec.complete


@pytest.mark.parametrize("raw", [False, True])
def test_deflate_with_or_without_the_zlib_header(raw: bool) -> None:
    data = b"frame " * 10_000
    co = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    packed = co.compress(data) + co.flush()
    dec = decoder_for("deflate")
    assert dec is not None
    out = b"".join(p for i in range(0, len(packed), 100) for p in dec.feed(packed[i:i + 100]))
    assert out == data and dec.complete


def test_a_corrupt_body_is_a_decode_error_and_a_cut_one_is_incomplete() -> None:
    dec = decoder_for("gzip")
    assert dec is not None
    with pytest.raises(DecodeError):
        list(dec.feed(b"\x1f\x8b\x08\x00" + b"\xff" * 64))
    cut = decoder_for("gzip")
    assert cut is not None
    list(cut.feed(gzip.compress(b"x" * 100_000)[:50]))
    assert not cut.complete


@pytest.mark.parametrize(("value", "expected"), [
    ("5", 5.0), (" 120 ", 120.0), ("\u00b2", None), ("\u0663", None), ("\uff11\uff10", None),
    ("9" * 5000, None), ("-1", None), ("1.5", None), ("nan", None), ("", None), (None, None),
    ("Wed, 21 Oct 99999 07:28:00 GMT", None), ("Mon, 31 Feb 2015 25:61:61 GMT", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0), ("\x00", None), ("\xff\xfe", None),
])
def test_retry_after_is_parsed_safely(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected
