"""Time from `genzoo train MODEL` starting to its first sample grid on disk (what a new user waits for).

Starts the command as a user would (a fresh Python process: imports, data loading, network set-up
included), polls the run directory for samples/*.png, then stops the run with Ctrl-C (SIGINT).
Writes the time, the path the command printed and the machine's load average to a JSON file.

    python benchmarks/first_grid.py --model dcgan --out benchmarks/results/first_grid.json
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(model: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        load_before = os.getloadavg()
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "genzoo", "train", model, "--out", str(run), "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal has it
        first = None
        while time.perf_counter() - t0 < timeout and proc.poll() is None:
            grids = sorted((run / "samples").glob("*.png")) if (run / "samples").is_dir() else []
            if grids:
                first = (time.perf_counter() - t0, grids[0].name)
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=300)
    printed = [line for line in output.splitlines() if "first samples" in line]
    return {"model": model, "seconds_to_first_grid": round(first[0], 1) if first else None,
            "first_grid": first[1] if first else None, "printed": printed[0] if printed else None,
            "exit_code_after_ctrl_c": proc.returncode, "timeout_s": timeout,
            "load_average_1_5_15_before": [round(v, 2) for v in load_before],
            "load_average_1_5_15_after": [round(v, 2) for v in os.getloadavg()]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="dcgan")
    ap.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds")
    ap.add_argument("--out", default="benchmarks/results/first_grid.json")
    args = ap.parse_args()
    result = measure(args.model, args.timeout)
    # imported after the measurement: loading torch first would warm the disk cache for the measured process
    from genzoo.machine import hardware
    result["hardware"] = hardware()
    result["command"] = f"genzoo train {args.model} --out RUN --quiet (fresh process), then Ctrl-C"
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
