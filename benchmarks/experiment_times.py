"""How long each `genzoo experiment NAME --quick` takes, from a fresh process with an empty run cache.

    python benchmarks/experiment_times.py                   # every experiment's quick budget
    python benchmarks/experiment_times.py --full            # the full budgets too (many minutes)
    python benchmarks/experiment_times.py mode-collapse     # these rows again; the file keeps the others

Each experiment runs as a user starts it (`python -m genzoo experiment NAME --quick --quiet`, imports
and data loading included), with GENZOO_CACHE pointing at a new empty folder, so that no model
trained by an earlier run is reused. The wall-clock seconds and the CPU seconds of the child process
are written to benchmarks/results/experiment_times.json with the verdict of the run and the
machine's load average.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from result_files import write_result
from genzoo.experiments import names


def child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_one(name: str, quick: bool) -> dict:
    """Wall and CPU seconds of one experiment in a fresh process with an empty run cache."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GENZOO_CACHE": os.path.join(tmp, "cache")}
        command = [sys.executable, "-m", "genzoo", "experiment", name, "--quiet", "--out", os.path.join(tmp, "out")]
        cpu0, wall0 = child_cpu_seconds(), time.perf_counter()
        done = subprocess.run(command + (["--quick"] if quick else []), env=env, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - wall0, child_cpu_seconds() - cpu0
        if done.returncode != 0:
            raise SystemExit(f"{name} failed: {done.stdout[-500:]}{done.stderr[-500:]}")
        holds = json.loads(Path(tmp, "out", f"{name}.json").read_text())["holds"]
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "verdict": "holds" if holds else "does not hold"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="also time the full budgets")
    ap.add_argument("--out", default="benchmarks/results/experiment_times.json")
    ap.add_argument("names", nargs="*", metavar="NAME", help="time only these experiments (default: every one)")
    args = ap.parse_args()
    unknown = sorted(set(args.names) - set(names()))
    if unknown:
        raise SystemExit(f"unknown experiment(s) {', '.join(unknown)}; `genzoo experiment --list` names them")
    load_before = [round(x, 2) for x in os.getloadavg()]
    rows = {}
    for name in args.names or names():
        rows[name] = {"quick": time_one(name, quick=True)}
        if args.full:
            rows[name]["full"] = time_one(name, quick=False)
        print(name, rows[name], flush=True)
    held = Path(args.out)
    kept = json.loads(held.read_text())["rows"] if args.names and held.exists() else {}
    quick = [r["quick"]["wall_s"] for r in {**kept, **rows}.values()]
    result = {"benchmark": "experiment_times",
              "protocol": ("each experiment started as `python -m genzoo experiment NAME --quick --quiet` (and "
                           "without --quick with --full) in a fresh process with an empty GENZOO_CACHE, so every "
                           "model it needs is trained; wall-clock seconds from start to exit, CPU seconds of the "
                           "child process (user + system)"),
              "values": {"quick_max_wall_s": max(quick), "quick_total_wall_s": round(sum(quick), 1),
                         "load_average_before": load_before, "measured_now": list(rows)},
              "rows": rows}
    print(f"wrote {write_result(args.out, result, keep_rows=bool(args.names))}")


if __name__ == "__main__":
    main()
