"""The machine facts printed beside every bench table."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "absent"


def facts() -> dict[str, str | int]:
    import msgpack
    import pydantic
    import zmq

    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count() or 0,
        "cpu": _cpu_model(),
        "memMiB": mem,
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "pyzmq": zmq.pyzmq_version(),
        "libzmq": zmq.zmq_version(),
        "msgpack": ".".join(str(x) for x in msgpack.version),
        "pydantic": pydantic.VERSION,
        "curl": _version(["curl", "--version"]).split(" (")[0],
        "nginx": _version(["nginx", "-v"]).replace("nginx version: ", ""),
    }
