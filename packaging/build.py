"""Build the self-contained sidecar: ``make dist`` → ``dist/media-sidecar/media-sidecar``.

PyInstaller ``--onedir`` from the current interpreter's environment (the venv with the
``dist`` extra). One build per OS/arch: PyInstaller does not cross-compile, and on Linux the
build machine's glibc is the oldest glibc the build runs on (see docs/SHIPPING.md).

What goes in: every ``sidecar`` and ``protocol`` module (the CLI imports its command modules
by name, which PyInstaller cannot see), the protocol's data (``*.json``, ``schema/``,
``vectors/``), and the third-party packages those import (pyzmq with its bundled libzmq,
msgpack, httpx, pydantic, platformdirs, rich, jsonschema). What stays out: the test and dev
tools, and ``trustme`` (the demo's throw-away CA, with ``cryptography``): an app's sidecar
has no use for them; ``media-sidecar demo`` in the build says so in one line.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "media-sidecar"
EXCLUDED = (
    "trustme", "cryptography", "pytest", "_pytest", "hypothesis", "mypy", "ruff", "psutil",
    "tkinter", "PyInstaller", "setuptools", "pip",
)


def pyinstaller_args(dist: Path, work: Path) -> list[str]:
    args = [
        str(ROOT / "packaging" / "entry.py"),
        "--name", NAME,
        "--onedir",
        "--noconfirm",
        "--clean",
        "--log-level", "WARN",
        "--distpath", str(dist),
        "--workpath", str(work),
        "--specpath", str(work),
        "--paths", str(ROOT),
        "--collect-submodules", "sidecar",
        "--collect-submodules", "protocol",
        "--collect-data", "protocol",
    ]
    for mod in EXCLUDED:
        args += ["--exclude-module", mod]
    return args


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output directory")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller",
                        help="PyInstaller's work directory")
    args = parser.parse_args()
    try:
        import PyInstaller.__main__ as pyinstaller
    except ModuleNotFoundError:
        print("packaging/build.py: PyInstaller is missing; install the build extra: "
              "pip install -e '.[dist]'", file=sys.stderr)
        return 2
    target = args.dist / NAME
    if target.exists():
        shutil.rmtree(target)
    started = time.monotonic()
    pyinstaller.run(pyinstaller_args(args.dist, args.work))
    binary = target / (NAME + (".exe" if sys.platform == "win32" else ""))
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"built {binary} in {time.monotonic() - started:.1f} s "
          f"({size / 2**20:.1f} MiB on disk)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
