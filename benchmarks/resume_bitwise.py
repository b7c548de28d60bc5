"""Bitwise resume: `genzoo train dcgan --steps 300 --seed 1`, killed with SIGKILL midway and
continued with --resume, ends with weights bitwise identical (CPU) to an uninterrupted run.

Protocol: both runs use the dcgan preset on the data `mnist` resolves to here (offline: the
bundled 5,000 digits), checkpoints every 50 steps; the interrupted run is killed with SIGKILL as
soon as its step-150 checkpoint exists, then resumed from it. Every tensor of the final
checkpoints (weights, optimizer moments, random state) is compared with torch.equal.

    python benchmarks/resume_bitwise.py [--steps 300] [--kill-after 150]

Writes benchmarks/results/resume_bitwise.json (or --out; '' for none) and exits 1 if a tensor differs.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from genzoo.bench import write_result
from genzoo.training.checkpoint import list_checkpoints, read_checkpoint


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--kill-after", type=int, default=150)
    ap.add_argument("--out", default="benchmarks/results/resume_bitwise.json", help="the result JSON ('' for none)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="genzoo-resume-"))
    base = [sys.executable, "-m", "genzoo", "train", "dcgan", "--steps", str(args.steps), "--seed", "1", "--quiet",
            "--set", "train.checkpoint_every=50", "--set", "train.time_budget=null"]
    t0 = time.time()
    subprocess.run(base + ["--out", str(work / "whole")], check=True)
    print(f"uninterrupted run: {time.time() - t0:.0f} s")
    proc = subprocess.Popen(base + ["--out", str(work / "cut")])
    while not any(s >= args.kill_after for s, _ in list_checkpoints(work / "cut" / "checkpoints")):
        if proc.poll() is not None:
            raise SystemExit("the run finished before it could be killed; use a larger --steps")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = list_checkpoints(work / "cut" / "checkpoints")[-1][0]
    print(f"killed with SIGKILL; last checkpoint at step {killed_at}")
    subprocess.run([sys.executable, "-m", "genzoo", "train", "--resume", str(work / "cut"), "--quiet"], check=True)
    a, _ = read_checkpoint(list_checkpoints(work / "whole" / "checkpoints")[-1][1])
    b, _ = read_checkpoint(list_checkpoints(work / "cut" / "checkpoints")[-1][1])
    identical = sum(k in b and torch.equal(a[k], b[k]) for k in a)
    same = a.keys() == b.keys() and identical == len(a)
    print(f"{len(a)} tensors compared (weights, optimizer states, RNG): "
          f"{'bitwise identical' if same else 'DIFFERENT'}")
    if args.out:
        result = {"benchmark": "resume_bitwise",
                  "protocol": (f"`genzoo train dcgan --steps {args.steps} --seed 1` (checkpoints every 50 steps), killed "
                               f"with SIGKILL once its step-{args.kill_after} checkpoint existed (last checkpoint: "
                               f"step {killed_at}) and continued with --resume; every tensor of the final checkpoint "
                               "(weights, optimizer states, random state) compared by torch.equal with an "
                               "uninterrupted run's"),
                  "values": {"tensors": len(a), "identical": identical, "killed_at": killed_at}}
        print(f"wrote {write_result(args.out, result)}")
    raise SystemExit(0 if same else 1)


if __name__ == "__main__":
    main()
