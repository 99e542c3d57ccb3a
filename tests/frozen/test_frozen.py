"""The frozen sidecar (``make dist``) as an app ships it: copied to a fresh directory and run
under ``env -i`` with a HOME of its own and a PATH that holds no Python at all.

``make dist-test`` builds it and passes its directory in MEDIA_SIDECAR_DIST; without one these
tests skip, and under CI=true they fail. What they prove: ``--version``; ``csp`` (the policy
from the bundled data); ``serve`` is the binary itself (``/proc/<pid>/exe``), ``ping``
answers, and the conformance harness — the build's own ``harness`` sub-command — passes every
case against it; the shim's Supervisor spawns it through add → list → unsaved → retry → stop
(electron-shim/test/frozen.dist.ts); the demo, left out of the build, says so in one line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from protocol.version import PROTOCOL_VERSION
from sidecar import __version__
from sidecar.tools.harness.registry import all_cases
from tests.contract.test_harness import ALLOWED_HOSTS, DOWNLOADS_FROM_LOOPBACK, parse
from tests.support import ROOT, require

SHIM = ROOT / "electron-shim"


@dataclass(frozen=True)
class Frozen:
    binary: Path
    home: Path
    path: Path  # the PATH: an empty directory

    def env(self, **extra: str) -> dict[str, str]:
        return {"HOME": str(self.home), "PATH": str(self.path), **extra}

    def argv(self, *args: str, **extra: str) -> list[str]:
        """``env -i HOME=… PATH=… [extra] <binary> args`` (no secrets: they would be argv)."""
        assigns = [f"{k}={v}" for k, v in self.env(**extra).items()]
        return ["/usr/bin/env", "-i", *assigns, str(self.binary), *args]


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Frozen]:
    built = os.environ.get("MEDIA_SIDECAR_DIST")
    require(bool(built) and Path(str(built), "media-sidecar").is_file(),
            "the frozen sidecar (run `make dist-test`, which builds it)")
    root = tmp_path_factory.mktemp("frozen")
    shutil.copytree(str(built), root / "app" / "media-sidecar", symlinks=True)
    (root / "home").mkdir()
    (root / "bin").mkdir()
    yield Frozen(root / "app" / "media-sidecar" / "media-sidecar", root / "home", root / "bin")


def test_no_python_is_reachable(frozen: Frozen) -> None:
    for name in ("python", "python3", "python3.11"):
        assert shutil.which(name, path=str(frozen.path)) is None
    # and the build does not point back at the build machine's venv or checkout
    done = subprocess.run(frozen.argv("--help"), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "harness" in done.stdout and "serve" in done.stdout


def test_version_names_the_package_and_the_protocol(frozen: Frozen) -> None:
    done = subprocess.run(frozen.argv("--version"), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"media-sidecar {__version__} (protocol {PROTOCOL_VERSION})"


def test_csp_renders_the_policy_from_the_bundled_data(frozen: Frozen) -> None:
    from protocol.csp import build_csp

    done = subprocess.run(frozen.argv("csp"), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == build_csp()


def test_the_harness_passes_every_case_against_the_frozen_server(frozen: Frozen,
                                                                 tmp_path: Path) -> None:
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        frozen.argv("serve", "--data-dir", str(tmp_path / "data"), "--runtime-dir",
                    str(tmp_path / "run"), "--enable-test-hooks", *ALLOWED_HOSTS,
                    **DOWNLOADS_FROM_LOOPBACK),
        stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline() or "null")
        assert ready and ready["event"] == "ready", (tmp_path / "serve.log").read_text()
        assert ready["pid"] == proc.pid  # env exec'd it; onedir runs in that one process
        assert Path(f"/proc/{proc.pid}/exe").resolve() == frozen.binary.resolve()
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        assert f"PATH={frozen.path}".encode() in environ
        assert not any(e.startswith((b"PYTHON", b"VIRTUAL_ENV")) for e in environ)

        ping = subprocess.run(frozen.argv("ping", "--connection-file", ready["connectionFile"],
                                          "--json"),
                              capture_output=True, text=True, timeout=60, check=False)
        assert ping.returncode == 0, ping.stderr
        assert json.loads(ping.stdout)["pong"] is True

        done = subprocess.run(
            frozen.argv("harness", "--connection-file", ready["connectionFile"],
                        "--require-test-hooks"),
            capture_output=True, text=True, timeout=240, check=False)
        out = done.stdout + done.stderr
        outcomes = parse(done.stdout)
        names = [c.name for c in all_cases()]
        assert {n: s for n, (s, _) in outcomes.items() if s != "PASS"} == {}, out
        assert list(outcomes) == names, out
        assert f"{len(names)} passed, 0 failed, 0 skipped" in out
        assert done.returncode == 0, out
        assert proc.wait(15) == 0  # the harness's last case shut the server down
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()
        log.close()


def test_the_supervisor_spawns_the_frozen_binary(frozen: Frozen) -> None:
    node = shutil.which("node")
    require(node is not None, "node")
    compiled = SHIM / "build" / "test" / "frozen.dist.js"
    require(compiled.is_file(), "the compiled shim tests (cd electron-shim && npm run build:test)")
    done = subprocess.run(
        ["/usr/bin/env", "-i", *(f"{k}={v}" for k, v in frozen.env(
            MEDIA_SIDECAR_FROZEN=str(frozen.binary)).items()),
         str(Path(str(node)).resolve()), "--test", "--test-reporter=tap", str(compiled)],
        capture_output=True, text=True, timeout=120, cwd=SHIM, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "# pass 1" in out and "# fail 0" in out, out


def test_the_demo_left_out_of_the_build_says_so_in_one_line(frozen: Frozen) -> None:
    done = subprocess.run(frozen.argv("demo"), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "trustme" in lines[0] and "media-sidecar[demo]" in lines[0]
    assert "Traceback" not in done.stderr
