"""``make bench``: every row of the media-sidecar bench table, each against its limit.

    .venv/bin/python bench/run.py [--quick] [--only rpc,spawn,frozen,media] [--no-results-md]

Each row is measured against its baseline in the same run, with interleaved repetitions and
medians (bench/stats.py). The table is printed once, with the machine facts, and written as
JSON to bench/results/latest.json and as Markdown to bench/RESULTS.md (``--quick`` runs,
being smaller, write only bench/results/quick.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_frozen, bench_media, bench_playback, bench_rpc, bench_spawn
from bench.machine import facts
from bench.table import Row, render

HERE = Path(__file__).resolve().parent
SUITES: dict[str, Callable[[bool], tuple[list[Row], dict[str, Any]]]] = {
    "rpc": bench_rpc.run,
    "spawn": bench_spawn.run,
    "frozen": bench_frozen.run,
    "media": bench_media.run,
    "playback": bench_playback.run,
}


def _machine_line(m: dict[str, Any]) -> str:
    return (f"{m['cores']} cores, {m['cpu']}, {m['memMiB'] // 1024} GiB, kernel {m['kernel']}, "
            f"Python {m['python']}, pyzmq {m['pyzmq']} (libzmq {m['libzmq']}), "
            f"msgpack {m['msgpack']}, pydantic {m['pydantic']}, {m['curl']}, "
            f"nginx {m['nginx']}")


def _markdown(rows: list[Row], machine: dict[str, Any], info: dict[str, Any],
              quick: bool, seconds: float) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "# Bench results",
        "",
        "Written by `make bench` (`.venv/bin/python bench/run.py`"
        f"{' --quick' if quick else ''}); do not edit by hand.",
        "Every ratio is sidecar / baseline from the same run (interleaved repetitions, "
        "medians); `met` compares it with the target.",
        "",
        f"Run: {when}, {seconds:.0f} s. Machine: {_machine_line(machine)}.",
        f"Load average at the start: {info.get('loadavg', '?')} (other work on the machine "
        "widens the spread of every figure).",
        "",
        render(rows),
        "",
    ]
    notes = HERE / "analysis.md"
    if notes.exists():
        lines += [notes.read_text(), ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a fast smoke run (smaller sizes, "
                    "fewer repetitions); does not rewrite RESULTS.md")
    ap.add_argument("--only", default=",".join(SUITES), help="comma-separated suites")
    ap.add_argument("--no-results-md", action="store_true")
    args = ap.parse_args()
    import os

    t0 = time.perf_counter()
    machine = facts()
    info: dict[str, Any] = {"loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    rows: list[Row] = []
    failed: list[str] = []
    for name in args.only.split(","):
        print(f"… {name}", file=sys.stderr, flush=True)
        try:
            suite_rows, suite_info = SUITES[name](args.quick)
        except Exception as exc:  # one broken suite must not hide the others' rows
            traceback.print_exc()
            failed.append(name)
            rows.append(Row(f"{name}: FAILED", float("nan"), "", note=repr(exc)[:200]))
            continue
        rows += suite_rows
        info[name] = suite_info
    seconds = time.perf_counter() - t0
    print(f"\nmachine: {_machine_line(machine)}")
    print(f"load average at start: {info['loadavg']}\n")
    print(render(rows))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    doc = {"quick": args.quick, "at": int(time.time()), "seconds": round(seconds, 1),
           "machine": machine, "rows": [r.to_json() for r in rows], "info": info}
    (out / ("quick.json" if args.quick else "latest.json")).write_text(
        json.dumps(doc, indent=1, default=str))
    if not args.quick and not args.no_results_md and args.only == ",".join(SUITES):
        (HERE / "RESULTS.md").write_text(_markdown(rows, machine, info, args.quick, seconds))
    missed = [r.name for r in rows if r.met is False]
    print(f"\n{len(rows)} rows, {len(missed)} targets missed, {seconds:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
