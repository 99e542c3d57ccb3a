"""Small, real video files for the demo's fake FAL server.

With ffmpeg on the PATH each clip is encoded fresh (H.264 in MP4, a test pattern with the
clip's title burnt in, about 2 s). Without it, a tiny H.264 MP4 kept below (64x64, 1 s,
made once with ffmpeg) is used, and each clip gets a trailing MP4 ``free`` box carrying its
title, so every clip is still a valid, playable file with its own sha256.
"""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

# ffmpeg -f lavfi -i testsrc2=size=64x64:rate=8 -t 1 -c:v libx264 -crf 40 -pix_fmt yuv420p
#        -movflags +faststart -fflags +bitexact tiny.mp4
_TINY_MP4 = (
    "AAAAIGZ0eXBpc29tAAACAGlzb21pc28yYXZjMW1wNDEAAANobW9vdgAAAGxtdmhkAAAAAAAAAAAAAAAAAAAD6AAAA+gAAQAA"
    "AQAAAAAAAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAgAAArd0cmFrAAAAXHRraGQAAAADAAAAAAAAAAAAAAABAAAAAAAAA+gAAAAAAAAAAAAAAAAAAAAAAAEAAAAAAAAAAAAA"
    "AAAAAAABAAAAAAAAAAAAAAAAAABAAAAAAEAAAABAAAAAAAAkZWR0cwAAABxlbHN0AAAAAAAAAAEAAAPoAAAQAAABAAAAAAIv"
    "bWRpYQAAACBtZGhkAAAAAAAAAAAAAAAAAABAAAAAQABVxAAAAAAALWhkbHIAAAAAAAAAAHZpZGUAAAAAAAAAAAAAAABWaWRl"
    "b0hhbmRsZXIAAAAB2m1pbmYAAAAUdm1oZAAAAAEAAAAAAAAAAAAAACRkaW5mAAAAHGRyZWYAAAAAAAAAAQAAAAx1cmwgAAAA"
    "AQAAAZpzdGJsAAAAwnN0c2QAAAAAAAAAAQAAALJhdmMxAAAAAAAAAAEAAAAAAAAAAAAAAAAAAAAAAEAAQABIAAAASAAAAAAA"
    "AAABDExhdmMgbGlieDI2NAAAAAAAAAAAAAAAAAAAAAAAAAAAGP//AAAAOGF2Y0MBZAAK/+EAGmdkAAqscgREJsBEAAADAAQA"
    "AAMAQDxIlhGAAQAHaOhDg5LIsP34+AAAAAAQcGFzcAAAAAEAAAABAAAAFGJ0cnQAAAAAAAA3gAAAN4AAAAAYc3R0cwAAAAAA"
    "AAABAAAACAAACAAAAAAUc3RzcwAAAAAAAAABAAAAAQAAAEBjdHRzAAAAAAAAAAYAAAABAAAQAAAAAAEAADgAAAAAAQAAGAAA"
    "AAACAAAAAAAAAAIAAAgAAAAAAQAAEAAAAAAcc3RzYwAAAAAAAAABAAAAAQAAAAgAAAABAAAANHN0c3oAAAAAAAAAAAAAAAgA"
    "AASXAAAAxAAAAFYAAAAqAAAAMQAAADwAAAA7AAAAbQAAABRzdGNvAAAAAAAAAAEAAAOYAAAAPXVkdGEAAAA1bWV0YQAAAAAA"
    "AAAhaGRscgAAAAAAAAAAbWRpcmFwcGwAAAAAAAAAAAAAAAAIaWxzdAAAAAhmcmVlAAAG+G1kYXQAAAKvBgX//6vcRem95tlI"
    "t5Ys2CDZI+7veDI2NCAtIGNvcmUgMTY0IHIzMDk1IGJhZWU0MDAgLSBILjI2NC9NUEVHLTQgQVZDIGNvZGVjIC0gQ29weWxl"
    "ZnQgMjAwMy0yMDIyIC0gaHR0cDovL3d3dy52aWRlb2xhbi5vcmcveDI2NC5odG1sIC0gb3B0aW9uczogY2FiYWM9MSByZWY9"
    "MTYgZGVibG9jaz0xOjA6MCBhbmFseXNlPTB4MzoweDEzMyBtZT11bWggc3VibWU9MTAgcHN5PTEgcHN5X3JkPTEuMDA6MC4w"
    "MCBtaXhlZF9yZWY9MSBtZV9yYW5nZT0yNCBjaHJvbWFfbWU9MSB0cmVsbGlzPTIgOHg4ZGN0PTEgY3FtPTAgZGVhZHpvbmU9"
    "MjEsMTEgZmFzdF9wc2tpcD0xIGNocm9tYV9xcF9vZmZzZXQ9LTIgdGhyZWFkcz0yIGxvb2thaGVhZF90aHJlYWRzPTEgc2xp"
    "Y2VkX3RocmVhZHM9MCBucj0wIGRlY2ltYXRlPTEgaW50ZXJsYWNlZD0wIGJsdXJheV9jb21wYXQ9MCBjb25zdHJhaW5lZF9p"
    "bnRyYT0wIGJmcmFtZXM9OCBiX3B5cmFtaWQ9MiBiX2FkYXB0PTIgYl9iaWFzPTAgZGlyZWN0PTMgd2VpZ2h0Yj0xIG9wZW5f"
    "Z29wPTAgd2VpZ2h0cD0yIGtleWludD0yNTAga2V5aW50X21pbj04IHNjZW5lY3V0PTQwIGludHJhX3JlZnJlc2g9MCByY19s"
    "b29rYWhlYWQ9NjAgcmM9Y3JmIG1idHJlZT0xIGNyZj00MC4wIHFjb21wPTAuNjAgcXBtaW49MCBxcG1heD02OSBxcHN0ZXA9"
    "NCBpcF9yYXRpbz0xLjQwIGFxPTE6MS4wMACAAAAB4GWIgQAvDzYTOS36fXfy8YML6cp/JdtlRuDA+ZT/39U2r74CM97lwFd+"
    "q0+8xjGCJbvdYPXXA//z//ekYj2UzSYOj+z0Z3X7/VwOx/QDVRlPddiRIpOPXtVYZaelOHTPFbn7ZLs9iNutf+aulc0k3+gB"
    "P96+/wa9OEJIRFHudwcO2fCwyWWYAZ+JFlTz8Z8x+wKZgP/N11GIp/7KLdcpI5gETmHxYgfHzHgKZLAh/OkZbyIF/NigY8TX"
    "urKe1/Z55ZarGfkaWjM9n5+H89sEvl0hLFj/nexqNhp3yb6vGxO7KsTUA+52szxqRvu5RB8qM//+rRQUeac+xQ2Iab6c0TKQ"
    "++seWopDQvwSLHw/My6h7tCzdExiX4Wq30Z0emDyWi8ErLBwpQb732XVo8cafqe2KzO434Fuwz/OZldYoMZ/gzw4HhoIedi3"
    "xZ6kp/8ztLJrJNRtFjfOOkHKhDau5vRSddAtjaHP9IKQ4Zz+8wHgrngAneFs6noyxxb5ItewkbVhSfILxiukyfNTSvJS5LrM"
    "BNfzmmE/A7plOBLgpfKaJLIGNCan+r5a3f2wMAndNb7cr+vppHZefLwqj7cz74RTJjrrGRupFS806cDC5FhLDx0n8igem079"
    "WdL0+jC/wQAAAMBBmgjNiK/sj/rduWu4jdf3csIRi14IoKEf63/J9BwFYHmRcl8dwYGcejwR5LY/huxR/9SNPiAro1YvpEOa"
    "8BG90vbXLwagYDZfU5vWgm/XSaNNk1Se85jpPkySlmCsbI1cXWQcBMQQIpZPg9NdvAHN5JomrCho0Kyi7/dAY0p0YfIflv8k"
    "BWiVw5TE0W/RFGs56bAMLFu463ilLBZtQj+MkN8XjOMeWfhspFsIOy0gbYnWwrgtr0CK3cj8bDa9SUIAAABSQZ4QZxEf9rIr"
    "aguxf2j8q5ymTSrZdxFTnTPv92bftfIq75iuCiKCVdijVxQSn1LSOFj8rWEGVqlx1XLrHL6PTHm0QTqWlZXihe/nBlPuLBY4"
    "oQAAACYBnhgmiO/39VAWLeIVMmjkNfYSMw2eBaUlUVVnX/ziLJvYHAJZ0AAAAC0BnhhGiO/5H3SZp6ObrOFl/Tz1M+haVVab"
    "UYY2N6NJYInWWYADHs9U69POLt0AAAA4AZ4YjUjvxm+B+MFi+9SxFqFrfkWaPin6ntCc+b7TYnzFVaC+pwDbNZ3PG4gRxGJ1"
    "znadmfUXwr8AAAA3AZ4YrUjv3XrbU2VTjTS7OAFOOMMMC9Mu2mA8yrwdhuOYWcuzmzl4pycjtcitxETuVOCU6VB1KwAAAGlB"
    "mhjpNQIC0TKYEd+32kpOleCz3eHSJB9RtTtMbR/BsLcWKHlQeBrRLcBpf/r8IQBLLhKYDyXOz9IT5v1oualESXUZovwIAmae"
    "lCUDKSWb78BsUDi2EB8CCfDS6eTH/SPv+AQMN6CTv+E="
)


def tiny_mp4(label: str) -> bytes:
    """The embedded clip plus a ``free`` box naming ``label`` (valid MP4, unique bytes)."""
    payload = label.encode("utf-8")
    return base64.b64decode("".join(_TINY_MP4)) + struct.pack(">I", 8 + len(payload)) + \
        b"free" + payload


def have_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is not None


def ffmpeg_mp4(label: str, *, seconds: float = 2.0, size: str = "320x180") -> bytes:
    """A fresh H.264 MP4 test pattern with ``label`` in its metadata title."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise FileNotFoundError("ffmpeg")
    with tempfile.TemporaryDirectory(prefix="media-sidecar-demo-video-") as tmp:
        out = Path(tmp) / "clip.mp4"
        subprocess.run(
            [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
             "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=24", "-t", f"{seconds:g}",
             "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
             "-metadata", f"title={label}", "-movflags", "+faststart", str(out)],
            check=True, timeout=30, capture_output=True)
        return out.read_bytes()


def make_clip(label: str) -> tuple[bytes, str]:
    """(bytes, how they were made) for one generated clip."""
    if have_ffmpeg():
        try:
            return ffmpeg_mp4(label), "ffmpeg (H.264, 320x180, 2 s)"
        except (OSError, subprocess.SubprocessError):
            pass
    return tiny_mp4(label), "built-in tiny MP4 (H.264, 64x64, 1 s; ffmpeg not found)"
