"""Real media files, made once per test session with ffmpeg (tiny: a fraction of a second,
64x64), for the type-sniffing and playback tests. ``require`` fails under CI=true when
ffmpeg (or one of its encoders) is missing, and skips otherwise."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support import require

_VIDEO = ["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10", "-t", "0.3"]
_AUDIO = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "0.3"]
_STILL = ["-f", "lavfi", "-i", "testsrc2=size=64x64:rate=1", "-frames:v", "1"]
_H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@dataclass(frozen=True)
class MediaKind:
    name: str  # file name made (its extension is what ffmpeg picks a muxer by: irrelevant)
    args: tuple[str, ...]  # ffmpeg input and output options
    mime: str  # what the bytes must be recorded as


KINDS: tuple[MediaKind, ...] = (
    MediaKind("moov-at-end.mp4", (*_VIDEO, *_H264, "-f", "mp4"), "video/mp4"),
    MediaKind("faststart.mp4", (*_VIDEO, *_H264, "-movflags", "+faststart", "-f", "mp4"),
              "video/mp4"),
    MediaKind("clip.mov", (*_VIDEO, *_H264, "-f", "mov"), "video/quicktime"),
    MediaKind("song.m4a", (*_AUDIO, "-c:a", "aac", "-f", "ipod"), "audio/mp4"),
    MediaKind("clip.webm", (*_VIDEO, "-c:v", "libvpx", "-f", "webm"), "video/webm"),
    MediaKind("clip.mkv", (*_VIDEO, *_H264, "-f", "matroska"), "video/x-matroska"),
    MediaKind("vorbis.ogg", (*_AUDIO, "-c:a", "libvorbis", "-f", "ogg"), "audio/ogg"),
    MediaKind("opus.ogg", (*_AUDIO, "-ar", "48000", "-c:a", "libopus", "-f", "ogg"),
              "audio/ogg"),
    MediaKind("theora.ogv", (*_VIDEO, "-c:v", "libtheora", "-f", "ogg"), "video/ogg"),
    MediaKind("tagged.mp3", (*_AUDIO, "-c:a", "libmp3lame", "-f", "mp3"), "audio/mpeg"),
    MediaKind("bare.mp3", (*_AUDIO, "-c:a", "libmp3lame", "-id3v2_version", "0",
                           "-write_xing", "0", "-f", "mp3"), "audio/mpeg"),
    MediaKind("adts.aac", (*_AUDIO, "-c:a", "aac", "-f", "adts"), "audio/aac"),
    MediaKind("sound.flac", (*_AUDIO, "-c:a", "flac", "-f", "flac"), "audio/flac"),
    MediaKind("sound.wav", (*_AUDIO, "-c:a", "pcm_s16le", "-f", "wav"), "audio/wav"),
    MediaKind("clip.avi", (*_VIDEO, "-c:v", "mpeg4", "-f", "avi"), "video/x-msvideo"),
    MediaKind("still.png", (*_STILL, "-c:v", "png", "-f", "image2"), "image/png"),
    MediaKind("still.jpg", (*_STILL, "-c:v", "mjpeg", "-f", "image2"), "image/jpeg"),
    MediaKind("still.webp", (*_STILL, "-c:v", "libwebp", "-f", "webp"), "image/webp"),
    MediaKind("anim.gif", (*_VIDEO, "-f", "gif"), "image/gif"),
)


def make_all(directory: Path) -> dict[str, bytes]:
    """Every kind's bytes, by name (made with ffmpeg into ``directory``)."""
    ffmpeg = shutil.which("ffmpeg")
    require(ffmpeg is not None, "ffmpeg (real media files for the sniffing tests)")
    assert ffmpeg is not None
    made: dict[str, bytes] = {}
    for kind in KINDS:
        out = directory / kind.name
        done = subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                               *kind.args, str(out)], capture_output=True, text=True,
                              timeout=60, check=False)
        require(done.returncode == 0, f"ffmpeg making {kind.name}: {done.stderr.strip()}")
        made[kind.name] = out.read_bytes()
    return made
