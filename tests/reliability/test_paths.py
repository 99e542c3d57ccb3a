"""Hostile names, ids and paths from the wire write nothing outside the sidecar's own dirs.

Everything lives in one sandbox: the data dir, the spill dir, the runtime dir, an import
root, and an ``outside`` dir of canaries next to them. Every add below carries traversal
strings in every free-text field (with bytes, so blobs get written), or a ``sourcePath``
that tries to read outside the import root. Afterwards no file outside the sidecar's dirs
was created or changed, and no file named after the attack exists in /tmp, home, or the sandbox.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from protocol.vocabulary import MediaType
from tests.reliability.conftest import Figures
from tests.reliability.helpers import RawDealer, stop
from tests.support import spawn_sidecar


def _snapshot(root: Path, allowed: list[Path]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        dirnames[:] = [n for n in dirnames if not any((d / n).is_relative_to(a)
                                                      for a in allowed)]
        for name in [*filenames, *dirnames]:
            p = d / name
            if any(p.is_relative_to(a) for a in allowed):
                continue
            st = p.lstat()
            out[str(p)] = (st.st_size, st.st_mtime_ns)
    return out


def _hostile(token: str) -> list[str]:
    return [f"../../outside/{token}", f"../../../../../../tmp/{token}", f"/tmp/{token}",
            f"..\\..\\outside\\{token}", f"%2e%2e%2f%2e%2e%2foutside%2f{token}",
            f"outside/../../{token}", f"./{token}/../../..", f"~/{token}",
            f"{token}/" + "../" * 40 + "tmp", f"C:\\{token}", f"\\\\server\\{token}"]


async def test_hostile_names_and_paths_write_nothing_outside_the_data_dir(
        tmp_path: Path, figures: Figures) -> None:
    token = f"pwned-{secrets.token_hex(4)}"
    imports = tmp_path / "imports"
    outside = tmp_path / "outside"
    imports.mkdir()
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(b"secret" * 100)
    (imports / "ok.mp4").write_bytes(os.urandom(5000))
    (imports / "link.mp4").symlink_to(outside / "secret.mp4")
    (imports / "dirlink").symlink_to(outside)
    spill = tmp_path / "spill"
    sc = spawn_sidecar(tmp_path, "--import-root", str(imports),
                       env={"MEDIA_SIDECAR_SPILL_DIR": str(spill)})
    allowed = [sc.data_dir, spill, Path(str(sc.connection_file)).parent, sc.stderr_path]
    before = _snapshot(tmp_path, allowed)
    dealer = RawDealer(sc.endpoint, sc.secret.encode())
    adds = refused_paths = path_attempts = 0
    try:
        await dealer.hello()
        for i, s in enumerate(_hostile(token)):
            for field in ("id", "projectId", "name", "folderIds", "metadata", "mimeType"):
                params: dict[str, object] = {"id": f"h{i}-{field}", "projectId": "paths",
                                             "name": "n", "type": MediaType.VIDEO}
                if field == "folderIds":
                    params["folderIds"] = [s]
                elif field == "metadata":
                    params["metadata"] = {s: s, "path": s}
                else:
                    params[field] = s
                msg = await dealer.call("addMediaItem", params,
                                        payloads=[os.urandom(1000) + s.encode()])
                adds += 1
                if msg["type"] == "reply":
                    item = msg["result"]["item"]
                    lp = item.get("localPath")
                    assert lp is None or Path(lp).resolve().is_relative_to(sc.data_dir)
        for s in [str(imports / ".." / "outside" / "secret.mp4"), str(imports / "link.mp4"),
                  str(imports / "dirlink" / "secret.mp4"), "outside/secret.mp4",
                  str(outside / "secret.mp4"), "/etc/passwd", "/proc/self/environ",
                  "/dev/zero", str(imports), f"{imports}/ok.mp4\x00.txt",
                  str(imports / token)]:
            msg = await dealer.call("addMediaItem", {"projectId": "paths", "name": "p",
                                                     "type": MediaType.VIDEO, "sourcePath": s})
            path_attempts += 1
            refused_paths += msg["type"] == "error" and msg["error"]["code"] in (
                "path_not_allowed", "invalid_params")
        ok = await dealer.call("addMediaItem", {"projectId": "paths", "name": "ok",
                                                "type": MediaType.VIDEO,
                                                "sourcePath": str(imports / "ok.mp4")})
        assert ok["type"] == "reply" and ok["result"]["durable"]
    finally:
        dealer.close()
        stop(sc)
    after = _snapshot(tmp_path, allowed)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    planted = [str(p) for d in {Path("/tmp"), tmp_path.parent, tmp_path.parent.parent,
                                Path.home()} for p in d.glob(f"*{token}*")]
    planted += [str(p) for p in tmp_path.rglob(f"*{token}*")
                if not any(p.is_relative_to(a) for a in allowed)]
    figures["hostile adds"] = adds
    figures["sourcePath escapes refused"] = f"{refused_paths}/{path_attempts}"
    figures["writes outside the sidecar's dirs"] = len(changed) + len(planted)
    assert changed == [] and planted == []
    assert refused_paths == path_attempts
