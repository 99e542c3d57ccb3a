"""``make bench``: every row of the media-sidecar bench table, each against its limit.

    .venv/bin/python bench/run.py [--quick] [--no-results-md] [--render]
        [--only rpc,spawn,frozen,media,playback,library,concurrent]

Each row is measured against its baseline in the same run, with interleaved repetitions and
medians (bench/stats.py). The table is printed once, with the machine facts, and written as
JSON to bench/results/latest.json and as Markdown to bench/RESULTS.md (``--quick`` runs,
being smaller, write only bench/results/quick.json). Every suite's last full run is kept in
bench/results/suite-<name>.json, so ``--only`` re-measures some suites and RESULTS.md is
rendered from the latest run of each (with the time and load average of each).
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

from bench import (
    bench_concurrent,
    bench_frozen,
    bench_library,
    bench_media,
    bench_playback,
    bench_rpc,
    bench_spawn,
)
from bench.machine import facts
from bench.table import Row, render

HERE = Path(__file__).resolve().parent
# One line per suite, in table order.
SUITES: dict[str, Callable[[bool], tuple[list[Row], dict[str, Any]]]] = {
    "rpc": bench_rpc.run,
    "spawn": bench_spawn.run,
    "frozen": bench_frozen.run,
    "media": bench_media.run,
    "playback": bench_playback.run,
    "library": bench_library.run,
    "concurrent": bench_concurrent.run,
}


def _machine_line(m: dict[str, Any]) -> str:
    return (f"{m['cores']} cores, {m['cpu']}, {m['memMiB'] // 1024} GiB, kernel {m['kernel']}, "
            f"Python {m['python']}, pyzmq {m['pyzmq']} (libzmq {m['libzmq']}), "
            f"msgpack {m['msgpack']}, pydantic {m['pydantic']}, {m['curl']}, "
            f"nginx {m['nginx']}")


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def _markdown(rows: list[Row], machine: dict[str, Any], info: dict[str, Any],
              quick: bool, seconds: float, runs: dict[str, dict[str, Any]]) -> str:
    when = _when(time.time())
    per_suite = [f"`{name}` {_when(r['at'])}, {r['seconds']:.0f} s, load average "
                 f"{r['loadavg']}" for name, r in runs.items()]
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
        "Suites (the latest run of each): " + "; ".join(per_suite) + ".",
        "",
        render(rows),
        "",
    ]
    notes = HERE / "analysis.md"
    if notes.exists():
        lines += [notes.read_text(), ""]
    return "\n".join(lines)


def _latest_runs(out: Path) -> tuple[dict[str, dict[str, Any]], list[Row]]:
    """Every suite's latest full run (bench/results/suite-*.json), in table order."""
    runs: dict[str, dict[str, Any]] = {}
    rows: list[Row] = []
    for name in SUITES:
        path = out / f"suite-{name}.json"
        if not path.exists():
            continue
        run = json.loads(path.read_text())
        runs[name] = run
        for r in run["rows"]:
            r.pop("ratio", None)
            r.pop("met", None)
            rows.append(Row(**{k: (float("nan") if v is None and k in ("value", "baseline")
                                   else v) for k, v in r.items()}))
    return runs, rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a fast smoke run (smaller sizes, "
                    "fewer repetitions); does not rewrite RESULTS.md")
    ap.add_argument("--only", default=",".join(SUITES), help="comma-separated suites")
    ap.add_argument("--no-results-md", action="store_true")
    ap.add_argument("--render", action="store_true", help="measure nothing: rewrite "
                    "RESULTS.md from each suite's latest run (after editing analysis.md)")
    args = ap.parse_args()
    import os

    if args.render:
        runs, all_rows = _latest_runs(HERE / "results")
        last = max(runs.values(), key=lambda r: r["at"]) if runs else {"loadavg": "?"}
        (HERE / "RESULTS.md").write_text(_markdown(
            all_rows, facts(), {"loadavg": last["loadavg"]}, False,
            sum(r["seconds"] for r in runs.values()), runs))
        return 0

    t0 = time.perf_counter()
    machine = facts()
    info: dict[str, Any] = {"loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    rows: list[Row] = []
    failed: list[str] = []
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    for name in args.only.split(","):
        print(f"… {name}", file=sys.stderr, flush=True)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        s0 = time.perf_counter()
        try:
            suite_rows, suite_info = SUITES[name](args.quick)
        except Exception as exc:  # one broken suite must not hide the others' rows
            traceback.print_exc()
            failed.append(name)
            rows.append(Row(f"{name}: FAILED", float("nan"), "", note=repr(exc)[:200]))
            continue
        rows += suite_rows
        info[name] = suite_info
        if not args.quick:
            (out / f"suite-{name}.json").write_text(json.dumps({
                "at": time.time(), "seconds": round(time.perf_counter() - s0, 1),
                "loadavg": load, "rows": [r.to_json() for r in suite_rows],
                "info": suite_info}, indent=1, default=str))
    seconds = time.perf_counter() - t0
    print(f"\nmachine: {_machine_line(machine)}")
    print(f"load average at start: {info['loadavg']}\n")
    print(render(rows))
    doc = {"quick": args.quick, "at": int(time.time()), "seconds": round(seconds, 1),
           "machine": machine, "rows": [r.to_json() for r in rows], "info": info}
    (out / ("quick.json" if args.quick else "latest.json")).write_text(
        json.dumps(doc, indent=1, default=str))
    if not args.quick and not args.no_results_md:
        runs, all_rows = _latest_runs(out)
        (HERE / "RESULTS.md").write_text(
            _markdown(all_rows, machine, info, args.quick, seconds, runs))
    missed = [r.name for r in rows if r.met is False]
    print(f"\n{len(rows)} rows, {len(missed)} targets missed, {seconds:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
