"""Processes: whether a pid is alive, the stop signals, stopping a child, the event loop, ipc.

On Windows ``os.kill(pid, 0)`` does not probe: it *terminates* the process (any signal
number but CTRL_C_EVENT/CTRL_BREAK_EVENT goes to TerminateProcess). There the probe is
``OpenProcess`` + ``GetExitCodeProcess`` through ctypes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

# ipc:// needs Unix domain sockets; libzmq's Windows support for them is not relied on
IPC_AVAILABLE = sys.platform != "win32"

if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    _PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
    _STILL_ACTIVE = 259
    _ERROR_ACCESS_DENIED = 5
    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _kernel32.OpenProcess.restype = wintypes.HANDLE  # not the default int: 64-bit handles
    _kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    _kernel32.GetExitCodeProcess.restype = wintypes.BOOL
    _kernel32.GetExitCodeProcess.argtypes = (wintypes.HANDLE, ctypes.POINTER(wintypes.DWORD))
    _kernel32.CloseHandle.restype = wintypes.BOOL
    _kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)

    def pid_alive(pid: int | None) -> bool:
        """Whether a process with this pid exists (one we may not open counts as alive)."""
        if pid is None or pid <= 0:
            return False
        handle = _kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return ctypes.get_last_error() == _ERROR_ACCESS_DENIED
        try:
            code = wintypes.DWORD()
            if not _kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == _STILL_ACTIVE
        finally:
            _kernel32.CloseHandle(handle)

    def is_superuser() -> bool:
        return False

else:
    def pid_alive(pid: int | None) -> bool:
        """Whether a process with this pid exists (one we may not signal counts as alive)."""
        if pid is None or pid <= 0:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def is_superuser() -> bool:
        return os.geteuid() == 0


def on_stop_signals(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """Call ``callback`` on the loop at SIGTERM or SIGINT (Windows: Ctrl+C, Ctrl+Break)."""
    if sys.platform == "win32":
        def handler(signum: int, frame: object) -> None:
            loop.call_soon_threadsafe(callback)

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGBREAK, handler)
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, callback)


def prepare_event_loop() -> None:
    """The transport watches the socket's fd with ``add_reader``: Windows' default proactor
    loop has none, its selector loop does."""
    if sys.platform == "win32":
        asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy())


def stop_child(proc: subprocess.Popen[Any], grace: float = 15.0) -> int:
    """Stop a child we started, by its own handle: the polite stop first (SIGTERM, which the
    sidecar drains on; ``terminate`` on Windows), then a kill after ``grace`` seconds.
    Returns its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode
