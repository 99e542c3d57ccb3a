"""Pointing downloads at a local HTTPS server, the supported ways, through a real sidecar.

A real trustme CA and a real HTTPS server on 127.0.0.1: ``--map-host fal.media=127.0.0.1:P``
with ``--ca-file`` (the FAL names kept for Host, SNI and the certificate check), and
``--allow-host localhost:P``. Every way to get it wrong is refused at start in one line,
exit status 2, no traceback and no ready line.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from protocol.vocabulary import ItemStatus, MediaType
from sidecar.client import RemoteError, SyncClient
from tests.fetch.server import MediaServer, serve
from tests.support import ROOT, spawn_sidecar

BODY = os.urandom(300_000)
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def local_fal(ca: trustme.CA) -> Iterator[MediaServer]:
    with MediaServer(ca, ("fal.media", "*.fal.media", "localhost")) as server:
        server.route("/files/clip.mp4", serve(BODY))
        yield server


def _download(sc_file: Path, url: str) -> dict[str, object]:
    with SyncClient(sc_file, timeout=30) as c:
        res = c.call("addMediaItem", {"projectId": "p", "name": "clip.mp4", "type": MediaType.VIDEO,
                                      "sourceUrl": url, "download": True})
    item = res["item"]
    assert isinstance(item, dict)
    return item


def test_map_host_and_ca_file_download_from_a_local_https_server(
        tmp_path: Path, local_fal: MediaServer, ca_file: Path) -> None:
    sc = spawn_sidecar(tmp_path, "--map-host", f"fal.media=127.0.0.1:{local_fal.port}",
                       "--map-host", f"*.fal.media=127.0.0.1:{local_fal.port}",
                       "--ca-file", str(ca_file), "--allow-private-addresses",
                       "--no-parent-watch")
    try:
        item = _download(sc.connection_file, "https://v3.fal.media/files/clip.mp4")
        assert (item["status"], item["sha256"]) == (ItemStatus.SAVED, SHA)
        seen = local_fal.log.requests[-1]
        assert seen.sni == "v3.fal.media"  # TLS kept the real name...
        assert seen.headers["host"] == "v3.fal.media"  # ...and so did HTTP
    finally:
        sc.stop()


def test_the_same_through_the_environment(tmp_path: Path, local_fal: MediaServer,
                                          ca_file: Path) -> None:
    sc = spawn_sidecar(tmp_path, "--no-parent-watch", env={
        "MEDIA_SIDECAR_MAP_HOSTS": f"fal.media=127.0.0.1:{local_fal.port}",
        "MEDIA_SIDECAR_CA_FILE": str(ca_file), "MEDIA_SIDECAR_ALLOW_PRIVATE_ADDRESSES": "1"})
    try:
        item = _download(sc.connection_file, "https://fal.media/files/clip.mp4")
        assert (item["status"], item["sha256"]) == (ItemStatus.SAVED, SHA)
    finally:
        sc.stop()


def test_allow_host_with_a_port_downloads_from_localhost(
        tmp_path: Path, local_fal: MediaServer, ca_file: Path) -> None:
    sc = spawn_sidecar(tmp_path, "--allow-host", f"localhost:{local_fal.port}",
                       "--ca-file", str(ca_file), "--allow-private-addresses",
                       "--no-parent-watch")
    try:
        item = _download(sc.connection_file, f"https://localhost:{local_fal.port}/files/clip.mp4")
        assert (item["status"], item["sha256"]) == (ItemStatus.SAVED, SHA)
        # the entry allows that port only
        with SyncClient(sc.connection_file, timeout=30) as c, pytest.raises(RemoteError) as e:
            c.call("addMediaItem", {"projectId": "p", "name": "x", "type": MediaType.VIDEO,
                                    "sourceUrl": f"https://localhost:{local_fal.port + 1}/x",
                                    "download": True})
        assert e.value.code == "host_not_allowed"
    finally:
        sc.stop()


def test_without_the_ca_file_the_private_certificate_is_refused(
        tmp_path: Path, local_fal: MediaServer) -> None:
    sc = spawn_sidecar(tmp_path, "--map-host", f"fal.media=127.0.0.1:{local_fal.port}",
                       "--allow-private-addresses", "--no-parent-watch",
                       env={"MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS": "1"})
    try:
        with SyncClient(sc.connection_file, timeout=30) as c, pytest.raises(RemoteError) as e:
            c.call("addMediaItem", {"projectId": "p", "name": "x", "type": MediaType.VIDEO,
                                    "sourceUrl": "https://fal.media/files/clip.mp4",
                                    "download": True})
        assert e.value.code == "download_failed"
        assert "certificate" in e.value.message.lower()
    finally:
        sc.stop()


def _refused(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, "MEDIA_SIDECAR_SECRET": "k" * 64, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--data-dir", str(tmp_path / "data"),
         "--runtime-dir", str(tmp_path / "run"), "--no-parent-watch", *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=full_env, cwd=ROOT,
        timeout=60, check=False)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stdout == ""  # no ready line
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("media-sidecar: invalid setting: "), lines
    return lines[0]


@pytest.mark.parametrize(("args", "env", "says"), [
    (("--allow-host", "localhost:8443"), {}, "--allow-private-addresses"),
    (("--allow-host", "localhost:99999"), {}, "invalid port"),
    (("--allow-host", "bad host!"), {}, "not a valid host"),
    (("--map-host", "fal.media"), {}, "HOST=ADDRESS"),
    (("--map-host", "fal.media=127.0.0.1:8443"), {}, "--allow-private-addresses"),
    (("--map-host", "fal.media=127.0.0.1:0", "--allow-private-addresses"), {}, "port"),
    (("--ca-file", "/nonexistent/ca.pem"), {}, "no such file"),
    (("--ca-file", "/etc/hostname"), {}, "not usable PEM"),
    (("--drain-timeout", "soon"), {}, "expected a number"),
    ((), {"MEDIA_SIDECAR_HOST_RESOLVER_RULES": "MAP"}, "bad host resolver rule"),
    ((), {"MEDIA_SIDECAR_READ_TIMEOUT": "abc"}, "MEDIA_SIDECAR_READ_TIMEOUT"),
    ((), {"MEDIA_SIDECAR_ROLLBACK_ON_FAILURE": "maybe"}, "MEDIA_SIDECAR_ROLLBACK_ON_FAILURE"),
    ((), {"MEDIA_SIDECAR_DOWNLOAD_MAX_ATTEMPTS": "0"}, "at least 1"),
    ((), {"MEDIA_SIDECAR_SPILL_BUDGET": "lots"}, "whole number"),
    ((), {"MEDIA_SIDECAR_LOG_LEVEL": "loud"}, "expected one of"),
])
def test_a_bad_setting_is_refused_in_one_line_with_status_2(
        tmp_path: Path, args: tuple[str, ...], env: dict[str, str], says: str) -> None:
    assert says in _refused(tmp_path, *args, env=env)
