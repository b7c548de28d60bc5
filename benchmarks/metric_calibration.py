"""Calibration table of genzoo's image metrics: real-vs-real, noise, blur and uniform noise.

    python benchmarks/metric_calibration.py --root DIR      # full MNIST from DIR (default: $GENZOO_DATA/mnist,
                                                            # else genzoo's lookup, offline: mnist5k)
    python benchmarks/metric_calibration.py --dataset fashion-mnist --n 10000

What it shows: in genzoo's classifier feature space, FD and KID rank
real-vs-real below both corruptions and both corruptions below uniform noise, and the
real-vs-real FD is at least 10x smaller than that of the noised real images. It prints the
protocol (sample count, seed, extractor id and its test accuracy) with the table, checks the
rankings, and exits 1 if one fails. The extractor is trained (and cached) on first use. Writes
benchmarks/results/metric_calibration.json (or --out; '' for none).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from result_files import write_result
from genzoo.metrics import format_floor_table, get_feature_extractor, real_floor
from genzoo.metrics.evaluate import DEFAULT_BLUR_SIGMA, DEFAULT_NOISE_STD
from genzoo.metrics.features import load_splits


def default_root() -> str | None:
    """$GENZOO_DATA/mnist when it holds the MNIST files; None -> genzoo's own lookup (and its notice)."""
    env = os.environ.get("GENZOO_DATA")
    if env and (Path(env) / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        return str(Path(env) / "mnist")
    return None


def checks(table: dict) -> list[tuple[str, bool, bool]]:
    """(description, passed, required) for each acceptance check."""
    rows = table["rows"]
    out = []
    for m in ("fd", "kid"):
        v = {k: rows[k][m]["value"] for k in rows}
        out.append((f"{m}: real < noise", v["real"] < v["noise"], True))
        out.append((f"{m}: real < blur", v["real"] < v["blur"], True))
        out.append((f"{m}: noise < uniform", v["noise"] < v["uniform"], True))
        out.append((f"{m}: blur < uniform", v["blur"] < v["uniform"], True))
    fd = {k: rows[k]["fd"]["value"] for k in rows}
    n_real = table["protocol"]["n_real"]
    note = "" if n_real >= 5000 else (f" [not required at n_real = {n_real}: the real-vs-real FD is then "
                                      "dominated by its small-sample bias]")
    out.append((f"fd: 10 x real ({10 * fd['real']:.4f}) < noise ({fd['noise']:.4f}){note}",
                10 * fd["real"] < fd["noise"], n_real >= 5000))
    return out


def calibration_result(table: dict, fx, args) -> dict:
    """The result file's content: one row per comparison, with the columns of the results page."""
    p = table["protocol"]
    rows = {name: {"fd": r["fd"]["value"], "kid": r["kid"]["value"], "kid_std": r["kid"]["std"],
                   **{k: r["prdc"][k] for k in ("precision", "recall", "density", "coverage")}}
            for name, r in table["rows"].items()}
    return {"benchmark": "metric_calibration",
            "protocol": (f"{args.n:,} generated-side images against {p['n_real']:,} {args.dataset} {p['real_split']} "
                         f"images, seed {args.seed}: 'real' is training images, 'noise' the same with Gaussian noise "
                         f"(std {args.noise_std}, clamped), 'blur' blurred with sigma {args.blur_sigma} px, 'uniform' "
                         f"uniform noise; KID over 100 subsets of 1,000 (cubic kernel); PRDC with k = 5; features "
                         f"of genzoo's {args.dataset} classifier {fx.id} ({100 * fx.test_accuracy:.2f}% test accuracy)"),
            "rows": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--root", default=None, help="folder with the MNIST IDX files (default: $GENZOO_DATA/mnist)")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise-std", type=float, default=DEFAULT_NOISE_STD)
    ap.add_argument("--blur-sigma", type=float, default=DEFAULT_BLUR_SIGMA)
    ap.add_argument("--epochs", type=int, default=None, help="extractor epochs (default: genzoo's default)")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads while training the extractor")
    ap.add_argument("--json", default=None, help="also write the full table here")
    ap.add_argument("--out", default="benchmarks/results/metric_calibration.json", help="the result JSON ('' for none)")
    args = ap.parse_args(argv)
    root = args.root
    if root is None and args.dataset == "mnist":
        root = default_root()
    t0 = time.perf_counter()
    splits = load_splits(args.dataset, root=root)
    kw = {} if args.epochs is None else {"epochs": args.epochs}
    if args.threads:
        kw["threads"] = args.threads
    fx = get_feature_extractor(args.dataset, root=root, cache_dir=args.cache_dir, splits=splits, verbose=True, **kw)
    t1 = time.perf_counter()
    table = real_floor(args.dataset, args.n, seed=args.seed, noise_std=args.noise_std, blur_sigma=args.blur_sigma,
                       extractor=fx, splits=splits)
    t2 = time.perf_counter()
    print(f"# metric calibration: {args.dataset} (data: {splits.source})")
    print(f"# extractor: {fx.describe()}")
    print(f"# extractor id {fx.id}, test accuracy {100 * fx.test_accuracy:.2f}%, trained in "
          f"{fx.meta.get('train_seconds')} s (when it was trained); cache: {args.cache_dir or 'default'}")
    print(f"# protocol: n = {args.n} per side (real: {table['protocol']['n_real']} {table['protocol']['real_split']}),"
          f" seed {args.seed}, KID 100 subsets of 1000 (cubic kernel), PRDC k=5, CS 10 splits")
    print(f"# corruptions: noise std {args.noise_std} (clamped), blur sigma {args.blur_sigma} px; "
          f"'real' = {args.n} train images vs the test images")
    print(format_floor_table(table))
    print(f"# time: extractor (load or train) {t1 - t0:.1f} s, table {t2 - t1:.1f} s, "
          f"torch threads {torch.get_num_threads()}")
    ok = True
    for name, passed, required in checks(table):
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
        ok &= passed or not required
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2))
    if args.out:
        print(f"wrote {write_result(args.out, calibration_result(table, fx, args))}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
