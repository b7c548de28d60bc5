"""The same weights under any load, and after a crash: `genzoo train dcgan --steps 1500 --seed 1` three times.

Protocol: the dcgan preset on the data `mnist` resolves to here (offline: the bundled 5,000
digits), checkpoints every 250 steps, three runs of the same command:
- `idle`: alone;
- `busy`: beside --hogs busy processes (Python loops that never sleep), started before it, and
  beside the third run;
- `busy, killed`: at the same time beside the same hogs, killed with SIGKILL as soon as its
  step-`--kill-after` checkpoint exists, then continued with `genzoo train --resume`.
Each run must train exactly --steps steps, and every tensor of its final checkpoint (weights,
optimizer moments, random state) must be torch.equal to the idle run's.

    python benchmarks/resume_bitwise.py [--steps 1500] [--kill-after 750] [--hogs 4]

Writes benchmarks/results/resume_bitwise.json (or --out; '' for none) and exits 1 if a tensor differs.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from result_files import write_result
from genzoo.runs.checkpoint import list_checkpoints, read_checkpoint

from common import busy_processes

def train_command(steps: int, out: Path) -> list[str]:
    return [sys.executable, "-m", "genzoo", "train", "dcgan", "--steps", str(steps), "--seed", "1", "--quiet",
            "--set", "train.checkpoint_every=250", "--out", str(out)]


def run_killed(steps: int, kill_after: int, out: Path) -> int:
    """The command, killed with SIGKILL once its step-`kill_after` checkpoint exists, then resumed."""
    proc = subprocess.Popen(train_command(steps, out))
    while not any(s >= kill_after for s, _ in list_checkpoints(out / "checkpoints")):
        if proc.poll() is not None:
            raise SystemExit("the run finished before it could be killed; use a larger --steps")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = list_checkpoints(out / "checkpoints")[-1][0]
    print(f"killed with SIGKILL; last checkpoint at step {killed_at}", flush=True)
    subprocess.run([sys.executable, "-m", "genzoo", "train", "--resume", str(out), "--quiet"], check=True)
    return killed_at


def final_tensors(run: Path) -> tuple[int, dict]:
    step, path = list_checkpoints(run / "checkpoints")[-1]
    return step, read_checkpoint(path)[0]


def compare(reference: dict, other: dict) -> int:
    """How many of the reference's tensors the other run holds bitwise equal."""
    return sum(k in other and torch.equal(reference[k], other[k]) for k in reference)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--kill-after", type=int, default=750)
    ap.add_argument("--hogs", type=int, default=4)
    ap.add_argument("--out", default="benchmarks/results/resume_bitwise.json", help="the result JSON ('' for none)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="genzoo-resume-"))
    t0 = time.time()
    subprocess.run(train_command(args.steps, work / "idle"), check=True)
    runs = {"idle": {"seconds": round(time.time() - t0), "load_average_1min": round(os.getloadavg()[0], 2)}}
    with busy_processes(args.hogs):   # the two busy runs side by side: each is also load for the other
        t0 = time.time()
        busy = subprocess.Popen(train_command(args.steps, work / "busy"))
        killed_at = run_killed(args.steps, args.kill_after, work / "busy-killed")
        runs["busy, killed"] = {"seconds": round(time.time() - t0), "killed_at": killed_at,
                                "load_average_1min": round(os.getloadavg()[0], 2)}
        if busy.wait() != 0:
            raise SystemExit("the busy run failed")
        runs["busy"] = {"seconds": round(time.time() - t0), "load_average_1min": round(os.getloadavg()[0], 2)}
    _, reference = final_tensors(work / "idle")
    for name, folder in (("idle", "idle"), ("busy", "busy"), ("busy, killed", "busy-killed")):
        step, tensors = final_tensors(work / folder)
        runs[name].update(steps=step, tensors=len(tensors), identical_to_idle=compare(reference, tensors))
        print(f"{name}: {step} steps, {runs[name]['identical_to_idle']} of {len(reference)} tensors equal to idle")
    same = all(r["steps"] == args.steps and r["identical_to_idle"] == len(reference) == r["tensors"]
               for r in runs.values())
    print("bitwise identical" if same else "DIFFERENT")
    if args.out:
        protocol = " ".join(__doc__.split("\n\n")[1].split()).removeprefix("Protocol: ")
        result = {"benchmark": "resume_bitwise", "protocol": protocol,
                  "steps": args.steps, "hogs": args.hogs, "rows": runs, "identical": same}
        print(f"wrote {write_result(args.out, result)}")
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
