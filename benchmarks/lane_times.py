"""How long a contributor waits: the fast test lane and the full suite, timed.

Protocol: `python -m pytest -m "not slow" -n 2 -q -p no:cacheprovider` (the fast lane, two pytest-xdist
workers of one torch thread each), then `python -m pytest -q -p no:cacheprovider` (the full suite), each
in a fresh process from the repository's root, one after the other, with Python's bytecode cache on (its
default) and filled by one collection beforehand, as on a contributor's second run; wall time of each,
its outcome line, and the number of tests it ran.

    python benchmarks/lane_times.py          # writes benchmarks/results/test_lanes.json
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from result_files import command_line, write_result

ROOT = Path(__file__).resolve().parents[1]
LANES = {"fast": ["-m", "not slow", "-n", "2"], "full": []}


def lane_outcome(stdout: str, returncode: int) -> dict:
    """What a lane's quiet pytest output says: the tests it ran (the progress lines' marks), the failing
    and erroring tests by name (the short summary's FAILED/ERROR lines, message cut off), and one line."""
    ran = sum(len(m.group(1)) for m in re.finditer(r"^([.sSxXFE]+) *\[ *\d+%\]$", stdout, re.M))
    failed = [m.group(2) for m in re.finditer(r"^(FAILED|ERROR) (\S+)", stdout, re.M)]
    if returncode == 0:
        outcome = f"{ran} tests, every test passed"
    elif failed:
        outcome = f"{len(failed)} of {ran} tests failed: " + ", ".join(name.removeprefix("tests/") for name in failed)
    else:
        outcome = f"exit status {returncode} after {ran} tests"
    return {"outcome": outcome, "passed": returncode == 0, "tests": ran, "failed": failed}


def timed_lane(extra: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}   # Python's default
    subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=ROOT,
                   capture_output=True, env=env)   # fills the bytecode cache, as any earlier run has
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", *extra, "-q", "-p", "no:cacheprovider"], cwd=ROOT,
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds), "minutes": round(seconds / 60, 1), **lane_outcome(done.stdout, done.returncode)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="benchmarks/results/test_lanes.json", help="'' for none")
    ap.add_argument("--lanes", nargs="+", choices=tuple(LANES), default=list(LANES),
                    help="time these lanes only; the file keeps the other lanes' rows")
    args = ap.parse_args()
    rows = {}
    for lane in args.lanes:
        rows[lane] = {**timed_lane(LANES[lane]), "command": command_line(sys.argv)}
        print(f"{lane}: {rows[lane]['minutes']} min, {rows[lane]['outcome']}", flush=True)
    if args.out:
        protocol = " ".join(__doc__.split("\n\n")[1].split()).removeprefix("Protocol: ")
        write_result(args.out, {"benchmark": "test_lanes", "protocol": protocol, "rows": rows}, keep_rows=True)
    return 0 if all(r["passed"] for r in rows.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
