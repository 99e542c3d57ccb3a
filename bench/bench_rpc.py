"""Round trips and pipelining: the sidecar's ``ping`` against raw pyzmq echoes and zerorpc.

Every server is its own process; the client is this process (sync pyzmq DEALER), with
request frames signed and built before the clock starts. The echo servers answer with
frames of the sizes of the sidecar's ping reply, so only the server's work differs.
"""

# ruff: noqa: RUF001, RUF003
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import zmq

from bench import zerorpc_env
from bench.procs import Child, start_echo, start_sidecar
from bench.stats import interleave, median, paired_ratio, percentile
from bench.table import Row
from bench.wire_client import WireClient, pipelined, round_trips
from sidecar.setting import env_name, env_values
from sidecar.settings import Settings

LOOP_ENV = env_name(Settings, "event_loop")

ZERORPC_SCRIPT = Path(__file__).resolve().parent / "zerorpc_echo.py"


def _dealer(endpoint: str) -> zmq.Socket[bytes]:
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.setsockopt(zmq.RCVTIMEO, 30_000)
    sock.connect(endpoint)
    return sock


def _zerorpc_block(py: Path, endpoint: str, count: int, size: int) -> list[float]:
    out = subprocess.run([str(py), str(ZERORPC_SCRIPT), "client", endpoint, str(count),
                          str(size)], capture_output=True, text=True, timeout=300, check=True)
    samples: list[float] = json.loads(out.stdout)
    return samples


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def run(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    reps, count = (5, 500) if quick else (21, 1000)
    pipe_n, depth = (5000, 32) if quick else (20000, 32)
    tmp = Path(tempfile.mkdtemp(prefix="bench-rpc-"))
    info: dict[str, Any] = {}
    children: list[Child] = []
    try:
        side = start_sidecar(tmp)
        children.append(side)
        info["server"] = side.kind
        # what serves by default: the event_loop setting as the environment leaves it
        info["loop"] = env_values(Settings, os.environ).get("event_loop", Settings.event_loop)
        client = WireClient(side.endpoint, side.secret)
        client.hello()
        # The same sidecar on the other loop: uvloop would be the default only if it won.
        other = "uvloop" if _has_uvloop() else "asyncio"
        info["otherLoop"] = other
        std = start_sidecar(tmp / "std", env={LOOP_ENV: other})
        children.append(std)
        std_client = WireClient(std.endpoint, std.secret)
        std_client.hello()
        sizes = client.raw_reply_sizes("ping")
        _, req = client.frames("ping")
        info["requestFrameSizes"] = [len(f) for f in req]
        info["replyFrameSizes"] = sizes
        sync = start_echo("sync", f"ipc://{tmp}/sync.sock", sizes)
        asy = start_echo("async", f"ipc://{tmp}/async.sock", sizes)
        children += [sync, asy]
        socks = {"sync": _dealer(sync.endpoint), "async": _dealer(asy.endpoint)}
        zpy, why = zerorpc_env.ensure()
        info["zerorpc"] = why
        zsrv: subprocess.Popen[str] | None = None
        zep = f"ipc://{tmp}/zerorpc.sock"
        if zpy is not None:
            zsrv = subprocess.Popen([str(zpy), str(ZERORPC_SCRIPT), "server", zep],
                                    stdout=subprocess.PIPE, text=True)
            assert zsrv.stdout is not None
            zsrv.stdout.readline()

        def batch(n: int) -> list[list[Any]]:
            return [client.frames("ping")[1] for _ in range(n)]

        def rtt_side() -> list[float]:
            return round_trips(client.sock, batch(count))

        def rtt_std() -> list[float]:
            return round_trips(std_client.sock, [std_client.frames("ping")[1]
                                                 for _ in range(count)])

        def rtt_echo(name: str) -> list[float]:
            frames = batch(count)  # the same sizes as the sidecar's requests
            return round_trips(socks[name], frames)

        for name in ("sync", "async"):  # warm-up
            round_trips(socks[name], batch(300))
        round_trips(client.sock, batch(300))
        rtt_std()
        variants = {"sidecar": rtt_side, "std": rtt_std, "sync": lambda: rtt_echo("sync"),
                    "async": lambda: rtt_echo("async")}
        if zpy is not None:
            variants["zerorpc"] = lambda: _zerorpc_block(zpy, zep, count, len(req[1]))
        rtts = interleave(reps, variants)
        p50s = {k: [percentile(b, 50) for b in v] for k, v in rtts.items()}
        p99s = {k: [percentile(b, 99) for b in v] for k, v in rtts.items()}
        p = {k: (median(p50s[k]) * 1e6, median(p99s[k]) * 1e6) for k in rtts}
        pr = {k: (paired_ratio(p50s["sidecar"], p50s[k]), paired_ratio(p99s["sidecar"], p99s[k]))
              for k in rtts}

        def pipe(sock: zmq.Socket[bytes]) -> float:
            return pipelined(sock, batch(pipe_n), depth)

        tput = interleave(reps, {"sidecar": lambda: pipe(client.sock),
                                 "std": lambda: pipelined(std_client.sock, [
                                     std_client.frames("ping")[1] for _ in range(pipe_n)],
                                     depth),
                                 "async": lambda: pipe(socks["async"]),
                                 "sync": lambda: pipe(socks["sync"])})
        t = {k: median(v) for k, v in tput.items()}
        tr = paired_ratio(tput["sidecar"], tput["async"])
        if zsrv is not None:
            zsrv.kill()
            zsrv.wait()
        client.close()
        std_client.close()
        for s in socks.values():
            s.close(0)
    finally:
        for c in children:
            c.stop()
    note = "" if info["server"] == "sidecar" else "session-only server (serve not runnable)"
    rows = [
        Row("ping p50 (ipc)", p["sidecar"][0], "µs", "raw sync echo", p["sync"][0],
            target=1.3, note=note, paired=pr["sync"][0]),
        Row("ping p99 (ipc)", p["sidecar"][1], "µs", "raw sync echo", p["sync"][1],
            target=1.3, note=note, paired=pr["sync"][1]),
        Row("ping p50 vs raw asyncio echo", p["sidecar"][0], "µs", "raw asyncio echo",
            p["async"][0], target=1.0, note="beat the idiomatic zmq.asyncio loop",
            paired=pr["async"][0]),
    ]
    if "zerorpc" in p:
        rows += [Row("ping p50 vs zerorpc echo", p["sidecar"][0], "µs", "zerorpc echo",
                     p["zerorpc"][0], note="zerorpc: heartbeat off, same payload size",
                     paired=pr["zerorpc"][0]),
                 Row("ping p99 vs zerorpc echo", p["sidecar"][1], "µs", "zerorpc echo",
                     p["zerorpc"][1], paired=pr["zerorpc"][1])]
    else:
        rows.append(Row("ping vs zerorpc echo", float("nan"), "µs", "zerorpc echo",
                        float("nan"), note=f"zerorpc unavailable: {info['zerorpc']}"))
    rows += [
        Row(f"pipelined ping, {depth} in flight", t["sidecar"], "req/s", "raw asyncio echo",
            t["async"], better="higher", target=1.0, paired=tr,
            note=f"raw sync echo: {t['sync']:,.0f} req/s"),
    ]
    loop, other = info["loop"], info["otherLoop"]
    # The default loop against the other one, same sidecar, same run: ≤ 1× means the
    # default is the right choice (sidecar/loop.py).
    rows += [
        Row(f"ping p50, {loop} (default) ÷ {other}", p["sidecar"][0], "µs",
            f"same sidecar on {other}", p["std"][0], target=1.0, paired=pr["std"][0],
            note=f"{other} ÷ raw sync echo: {pr['sync'][0] / pr['std'][0]:.2f}×"),
        Row(f"ping p99, {loop} (default) ÷ {other}", p["sidecar"][1], "µs",
            f"same sidecar on {other}", p["std"][1], target=1.0, paired=pr["std"][1],
            note=f"{other} ÷ raw sync echo: {pr['sync'][1] / pr['std'][1]:.2f}×"),
        Row(f"pipelined ping, {loop} (default) ÷ {other}", t["sidecar"], "req/s",
            f"same sidecar on {other}", t["std"], better="higher", target=1.0,
            paired=paired_ratio(tput["sidecar"], tput["std"])),
    ]
    info["percentilesUs"] = p
    info["throughput"] = t
    return rows, info
