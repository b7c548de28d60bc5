"""Time genzoo's image evaluation: feature extraction + FD + KID + PRDC, 10,000 fake vs 10,000 real.

    python benchmarks/eval_speed.py            # full MNIST from $GENZOO_DATA/mnist if there, else offline
    python benchmarks/eval_speed.py --n 10000 --threads 2

It times the whole evaluation for n = 10,000 (the extractor must already be cached, or is
trained first and not counted). The "fake" images are MNIST-like: real training digits
with Gaussian noise (std 0.1), so the numbers are realistic, not a degenerate case. Where a
split has fewer than n images (offline mnist5k: 4,500 train, 500 test) its images are drawn with
replacement to reach n, and the real side gets noise std 0.02 so that no two rows are equal:
the timing is what this measures, and it says so. Writes benchmarks/results/eval_speed.json (or
--out; '' for none).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from genzoo.bench import write_result
from genzoo.metrics import frechet_distance, gaussian_noise, get_feature_extractor, kid, prdc
from genzoo.metrics.features import load_splits

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from metric_calibration import default_root  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--root", default=None)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--out", default="benchmarks/results/eval_speed.json", help="the result JSON ('' for none)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    root = args.root if args.root is not None else (default_root() if args.dataset == "mnist" else None)
    splits = load_splits(args.dataset, root=root)
    fx = get_feature_extractor(args.dataset, root=root, cache_dir=args.cache_dir, splits=splits, verbose=True)

    g = torch.Generator().manual_seed(0)

    def draw(x):
        if len(x) >= args.n:
            return x[torch.randperm(len(x), generator=g)[: args.n]], False
        return x[torch.randint(len(x), (args.n,), generator=g)], True

    tr, tr_rep = draw(splits.train_x)
    fake = gaussian_noise(tr, 0.1, seed=0)
    real, te_rep = draw(splits.test_x)
    if te_rep:
        real = gaussian_noise(real, 0.02, seed=1)
    times, cpu = {}, {}

    def timed(name, fn):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times[name], cpu[name] = time.perf_counter() - t, time.process_time() - c
        return out

    ff, fr = timed("features (fake + real)", lambda: (fx.features(fake), fx.features(real)))
    fd = timed("FD", lambda: frechet_distance(ff, fr))
    kmean, kstd = timed("KID (100 x 1000)", lambda: kid(ff, fr, subsets=100, subset_size=1000, seed=0))
    r = timed("PRDC (k=5)", lambda: prdc(fr, ff, k=5))
    total, total_cpu = sum(times.values()), sum(cpu.values())

    print(f"# eval speed: {splits.name} ({splits.source})")
    rep = " (drawn with replacement: split too small)"
    print(f"# n_fake {len(fake)} (train digits + noise std 0.1){rep if tr_rep else ''}, n_real {len(real)} "
          f"({splits.test_split}{rep + ' + noise std 0.02' if te_rep else ''}); "
          f"torch threads {torch.get_num_threads()}; torch {torch.__version__}")
    print(f"# extractor: {fx.describe()}")
    print(f"{'stage':26s} {'wall s':>8s} {'cpu s':>8s}   (cpu = process CPU time, all threads)")
    for k, v in times.items():
        print(f"{k:26s} {v:8.2f} {cpu[k]:8.2f}")
    print(f"{'total':26s} {total:8.2f} {total_cpu:8.2f}")
    print(f"# load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())} "
          f"(a shared machine inflates wall time)")
    print(f"# values: FD {fd:.4f}, KID {kmean:.5f} +- {kstd:.5f}, precision {r.precision:.3f}, recall {r.recall:.3f},"
          f" density {r.density:.3f}, coverage {r.coverage:.3f}")
    if args.out:
        drawn = " (drawn with replacement: a split too small)" if tr_rep or te_rep else ""
        result = {"benchmark": "eval_speed",
                  "protocol": (f"FD + KID (100 subsets of 1,000) + PRDC (k = 5), feature extraction by {fx.describe()} "
                               f"included, {len(fake):,} training digits with Gaussian noise (std 0.1) against "
                               f"{len(real):,} test digits of {splits.name}{drawn}; "
                               f"{torch.get_num_threads()} torch thread(s); wall and process CPU seconds"),
                  "values": {"wall_s": round(total), "cpu_s": round(total_cpu),
                             "stages": {k: {"wall_s": round(v, 2), "cpu_s": round(cpu[k], 2)} for k, v in times.items()}}}
        print(f"wrote {write_result(args.out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
