"""``pip install media-sidecar`` without extras, as a new user gets it: a wheel built from a
copy of the sources, installed into a fresh venv (its dependencies from pip's cache or the
registry), run from outside the checkout. Every sub-command works or names, in one line, the
extra it needs: ``--help``, ``harness --list``, ``serve`` + ``ping``, and ``demo``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sidecar import __version__
from sidecar.tools.harness.registry import all_cases
from tests.support import ROOT

pytestmark = pytest.mark.slow

# the distributions `pip install media-sidecar` may bring: ours and the runtime closure
NOT_WANTED = ("trustme", "cryptography", "pytest", "hypothesis", "psutil", "mypy", "ruff",
              "pyinstaller")


@dataclass(frozen=True)
class Installed:
    venv: Path
    home: Path

    def exe(self) -> Path:
        return self.venv / "bin" / "media-sidecar"

    def env(self) -> dict[str, str]:
        return {"HOME": str(self.home), "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
                "LANG": "C.UTF-8"}

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.exe()), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=self.home, env=self.env(), check=False)


def pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    root = tmp_path_factory.mktemp("pip-install")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for pkg in ("protocol", "sidecar"):
        shutil.copytree(ROOT / pkg, src / pkg,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    pip("wheel", "--no-deps", "-q", "-w", str(root / "wheels"), str(src))
    wheels = list((root / "wheels").glob("media_sidecar-*.whl"))
    assert len(wheels) == 1, wheels
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=60)
    pip("--python", str(venv / "bin" / "python"), "install", "-q", "--prefer-binary",
        str(wheels[0]))
    home = root / "home"
    home.mkdir()
    yield Installed(venv, home)


def test_only_the_runtime_dependencies_are_installed(installed: Installed) -> None:
    script = ("import importlib.metadata as m\n"
              "for d in m.distributions(): print(d.metadata['Name'].lower())")
    done = subprocess.run([str(installed.venv / "bin" / "python"), "-c", script],
                          capture_output=True, text=True, timeout=60, check=True,
                          cwd=installed.home)
    names = set(done.stdout.split())
    assert "media-sidecar" in names
    assert {"pyzmq", "msgpack", "httpx", "pydantic", "jsonschema"} <= names
    assert names.isdisjoint(NOT_WANTED), sorted(names & set(NOT_WANTED))


def test_help_and_version(installed: Installed) -> None:
    done = installed.run("--help")
    assert done.returncode == 0, done.stderr
    for command in ("serve", "harness", "ping", "demo", "csp"):
        assert command in done.stdout
    assert installed.run("--version").stdout.startswith(f"media-sidecar {__version__} ")


def test_harness_lists_its_cases(installed: Installed) -> None:
    done = installed.run("harness", "--list")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == [
        c.name for c in all_cases()]


def test_serve_and_ping(installed: Installed) -> None:
    run_dir = installed.home / "run"
    proc = subprocess.Popen(
        [str(installed.exe()), "serve", "--data-dir", str(installed.home / "data"),
         "--runtime-dir", str(run_dir), "--no-parent-watch"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=installed.home,
        env=installed.env())
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline() or "null")
        assert ready and ready["event"] == "ready"
        done = installed.run("ping", "--connection-file", ready["connectionFile"], "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["pong"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        if proc.stdout is not None:
            proc.stdout.close()


def test_demo_names_its_extra_in_one_line(installed: Installed) -> None:
    done = installed.run("demo")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "media-sidecar demo: the demo's throw-away CA needs the Python package 'trustme', "
        "which is not installed; install it with: pip install 'media-sidecar[demo]'")
    assert done.stdout == ""
    assert not os.path.exists(installed.home / ".demo")
