"""The zerorpc baseline's own virtual environment (bench/results/zerorpc-venv, gitignored).

zerorpc depends on gevent; it is installed with ``python -m venv`` + ``pip install zerorpc``
in a venv of its own so it can never leak into the sidecar's. When the install fails (no
wheel for this platform and gevent does not build), the reason is returned and the bench
table says so instead of a figure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VENV = Path(__file__).resolve().parent / "results" / "zerorpc-venv"


def python() -> Path:
    return VENV / "bin" / "python"


def ensure() -> tuple[Path | None, str]:
    """The venv's python, or None and why not."""
    py = python()
    check = [str(py), "-c", "import zerorpc, gevent; print(gevent.__version__)"]
    if py.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return py, "ok"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True,
                       capture_output=True, timeout=120)
        res = subprocess.run([str(py), "-m", "pip", "install", "-q", "zerorpc"],
                             capture_output=True, text=True, timeout=900, check=False)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"venv/pip failed: {exc}"
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-3:]
        return None, "pip install zerorpc failed: " + " | ".join(tail)
    if subprocess.run(check, capture_output=True, check=False).returncode != 0:
        return None, "zerorpc installed but does not import"
    return py, "ok"
