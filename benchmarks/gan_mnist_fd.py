"""Every image GAN preset on MNIST at one fixed CPU budget: Fréchet distance in genzoo's classifier features.

    python benchmarks/gan_mnist_fd.py                                   # all presets, 600 CPU-s each
    python benchmarks/gan_mnist_fd.py --presets dcgan,wgan-gp --cpu-seconds 60 --n-samples 2000   # a check

Protocol:
- data: MNIST training split (the full 60,000 from --data-root when the IDX files are there,
  else genzoo's offline fallback; the source is printed);
- precision: train.precision resolved as genzoo.train resolves it (auto: bf16 autocast for images on a
  CPU with native bf16, else fp32); --set train.precision=fp32 or bf16 to choose; printed per preset;
- budget: each preset trains with its own hyperparameters (its YAML preset) until the process
  has used --cpu-seconds of CPU time (time.process_time, all threads, so other load on the
  machine does not change the budget) or --max-steps steps; the steps done are reported;
- metric: FD = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^1/2) between --n-samples generated
  images and as many MNIST test images, in the 128-d penultimate features of genzoo's MNIST
  classifier (genzoo.metrics.features, its id and test accuracy printed); samples in eval mode
  (EMA weights when the preset has them); conditional models draw balanced labels;
- floor: FD between --n-samples training images and the same test images (real vs real);
- also the classifier score (IS analogue, 10 splits) and the number of digit classes covered;
- with several --seeds, a row holds the mean FD, its standard deviation (ddof 1) and each seed's.

Writes benchmarks/results/gan_mnist_fd.json (or --out; '' for none) after each preset, one row per
preset (or, with --row NAME, the one preset's row under NAME: a table of one preset in two settings),
keeping the rows already there; --resume skips the rows measured with the same budget, samples and
overrides.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch

from genzoo.presets import resolve
from genzoo.metrics.classifier import class_histogram, classifier_score
from genzoo.metrics.features import get_feature_extractor
from genzoo.metrics.fid import frechet_distance
from common import PrintMetrics, train_timed
from genzoo.machine import cpu_name
from result_files import write_result
from genzoo.training import TimeLimit

from common import cpus_of, fixed_subsets, with_earlier_rows
from measuring import generate

PRESETS = ("gan", "cgan", "dcgan", "lsgan", "wgan", "wgan-gp", "sngan")


def train_for_budget(preset: str, cpu_seconds: float, max_steps: int, seed: int, data_root: str | None,
                     log_every: int, sets: dict | None = None):
    """genzoo train's loop (data order, lr schedule, precision) until `cpu_seconds` or `max_steps`."""
    overrides = {"train.seed": seed, "train.device": "cpu", "train.steps": max_steps, "train.epochs": None,
                 "train.time_budget": None,
                 **({"train.log_every": log_every} if log_every else {}), **(sets or {})}
    if data_root:
        overrides["data.root"] = data_root
    cfg = resolve(preset, overrides=overrides)
    timed = train_timed(cfg, stop_rules=[TimeLimit(cpu_seconds, "cpu")], hooks=[PrintMetrics(f"  {preset}")]
                        if log_every else [], log=lambda *_: None)
    dtype = timed.trainer.autocast_dtype
    precision = f"{cfg.train.precision} -> {'bf16 autocast' if dtype == torch.bfloat16 else 'fp32'}"
    return timed.model, timed.trainer.dataset, timed.steps, timed.cpu_seconds, timed.wall_seconds, precision


def preset_row(runs: list[dict]) -> dict:
    """A table row from one preset's runs (one per seed): its steps, FD, classifier score and classes."""
    fds = [r["fd"] for r in runs]
    steps = [r["steps"] for r in runs]
    row = {"fd": round(statistics.mean(fds), 2), "score": round(statistics.mean(r["classifier_score"] for r in runs), 2),
           "classes": min(r["classes_covered"] for r in runs), "precision": runs[0]["precision"],
           "cpu_s": round(statistics.mean(r["cpu_seconds"] for r in runs)),
           "cpu": cpus_of(runs), "runs": runs}
    if len(runs) == 1:
        return {**row, "steps": steps[0]}
    return {**row, "steps": f"{min(steps):,}-{max(steps):,}", "sd": round(statistics.stdev(fds), 2),
            "seeds": ", ".join(f"{fd:.2f}" for fd in fds)}


def fd_result(rows: dict, floor: float, n: int, fx, args, sets: dict) -> dict:
    measured = {k: r for k, r in rows.items() if "precision" in r}   # rows kept from older files may lack it
    precision = "; ".join(sorted({f"{k}: {r['precision']}" for k, r in measured.items()})) if args.row else \
        ", ".join(sorted({r["precision"] for r in measured.values()}))
    seeds = ", ".join(map(str, args.seeds))
    return {"benchmark": "gan_mnist_fd",
            "protocol": (f"each preset trains with its own hyperparameters until its process has used "
                         f"{args.cpu_seconds:g} CPU-seconds on {args.threads} thread(s) (process time, so other load "
                         f"does not change it), precision {precision}, overrides {sets or 'none'}, seed(s) {seeds}; FD "
                         f"of {n:,} samples (eval mode, EMA weights where the preset keeps them) against {n:,} test "
                         f"images in the features of {fx.describe()}" + ("; mean ± sd over the seeds"
                                                                          if len(args.seeds) > 1 else "")),
            "settings": {"cpu_seconds": args.cpu_seconds, "n_samples": n, "overrides": sets, "seeds": args.seeds},
            "values": {"floor": round(floor, 2)}, "rows": rows}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default=",".join(PRESETS))
    p.add_argument("--cpu-seconds", type=float, default=600.0, help="CPU time per preset (process_time)")
    p.add_argument("--max-steps", type=int, default=10**9)
    p.add_argument("--n-samples", type=int, default=10000)
    p.add_argument("--seeds", "--seed", type=int, nargs="+", default=[0])
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids oversubscribing a shared CPU)")
    p.add_argument("--data-root", help="folder with the MNIST IDX files (default: $GENZOO_DATA/mnist, else ~/.cache/genzoo/data/mnist)")
    p.add_argument("--log-every", type=int, default=0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value of every preset (repeatable), e.g. --set model.optim.lr=1e-3")
    p.add_argument("--out", default="benchmarks/results/gan_mnist_fd.json", help="the result JSON ('' for none)")
    p.add_argument("--row", default=None, help="store the one preset's row under this name")
    p.add_argument("--resume", action="store_true", help="keep the rows already in --out and do only the others")
    p.add_argument("--grids", help="save a 10x10 grid of each preset's samples in this folder")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    presets = [s.strip() for s in args.presets.split(",") if s.strip()]
    if args.row and len(presets) != 1:
        p.error("--row names the row of one preset")
    from genzoo.presets import parse_override
    sets = dict(parse_override(s) for s in args.set)

    t0 = time.perf_counter()
    fx = get_feature_extractor("mnist", root=args.data_root, verbose=True)
    from genzoo.data import load_dataset
    test = load_dataset("mnist", "test", root=args.data_root)
    train = load_dataset("mnist", "train", root=args.data_root)
    n = min(args.n_samples, len(test), len(train))
    test_x, train_x = fixed_subsets(n, test.x, train.x)
    f_test = fx.features(test_x)
    floor = frechet_distance(fx.features(train_x), f_test)
    print(f"data: {train.source} (train) / {test.source} (test)")
    print(f"features: {fx.describe()}")
    print(f"protocol: FD between {n} generated and {n} MNIST test images in the 128-d classifier features; "
          f"budget {args.cpu_seconds:g} CPU-seconds per preset ({args.threads} torch thread(s)); seeds {args.seeds}")
    print(f"floor (real train vs real test, {n} each): FD {floor:.2f}")

    earlier = json.loads(open(args.out).read()) if args.out and os.path.exists(args.out) else {}
    same = args.resume and earlier.get("settings", {}) == {"cpu_seconds": args.cpu_seconds, "n_samples": n,
                                                             "overrides": sets, "seeds": args.seeds}
    rows = {}
    for preset in presets:
        key = args.row or preset
        if same and key in earlier.get("rows", {}):
            print(f"{key}: kept from {args.out}")
            continue
        rows[key] = preset_row([measure(preset, seed, n, fx, f_test, args, sets) for seed in args.seeds])
        if args.out:
            write_result(args.out, fd_result(with_earlier_rows(args.out, rows), floor, n, fx, args, sets),
                         keep_rows=True)
    print(f"\n{'row':>8} | {'steps':>11} | {'FD':>8} | {'CS':>5} | classes")
    for key, r in rows.items():
        print(f"{key:>8} | {r['steps']:>11} | {r['fd']:8.2f} | {r['score']:5.2f} | {r['classes']}")
    print(f"{'floor':>8} | {'':>11} | {floor:8.2f} |")
    print(f"total wall time {time.perf_counter() - t0:.0f} s")
    return rows


def measure(preset: str, seed: int, n: int, fx, f_test, args, sets: dict) -> dict:
    """Train one preset with one seed for the budget, and score n of its samples."""
    model, ds, steps, cpu, wall, precision = train_for_budget(preset, args.cpu_seconds, args.max_steps, seed,
                                                              args.data_root, args.log_every, sets)
    x = generate(model, n, seed + 1)
    if args.grids:
        from pathlib import Path

        from genzoo.images import save_grid
        Path(args.grids).mkdir(parents=True, exist_ok=True)
        save_grid(x[:100], Path(args.grids) / f"{preset}-seed{seed}.png", nrow=10, scale=2)
    feats, probs = fx.features_and_probs(x)
    fd = frechet_distance(feats, f_test)
    cs, _ = classifier_score(probs)
    r = {"seed": seed, "steps": steps, "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1), "fd": fd,
         "classifier_score": cs, "classes_covered": class_histogram(probs, fx.class_probs).get("classes_covered"),
         "precision": precision, "cpu": cpu_name()}
    print(f"{preset:>8} seed {seed}: FD {fd:8.2f}  classifier score {cs:5.2f}  classes {r['classes_covered']}  "
          f"({steps} steps, {cpu:.0f} CPU-s, {wall:.0f} s wall, precision {precision})", flush=True)
    return r


if __name__ == "__main__":
    main(sys.argv[1:])
