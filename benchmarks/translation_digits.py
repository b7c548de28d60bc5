"""pix2pix and CycleGAN on the offline digit translation tasks, with pix2pix's loss ablation.

    python benchmarks/translation_digits.py                       # every row, seeds 0 and 1
    python benchmarks/translation_digits.py --rows pix2pix --seeds 0 --pix2pix-steps 200 --n 1000   # a quick check

Run directories already under --out are continued (`genzoo train --resume`), not restarted.

Protocol (printed with the numbers):
- pix2pix rows: the `pix2pix` preset on mnist-edges (edge maps -> digits, 32x32, batch 16, U-Net
  with 5 levels, 16x16 PatchGAN), trained by `genzoo.train` for --pix2pix-steps steps. Rows as
  in Isola et al. 2017, Table 1: "L1 + cGAN" (the preset, lambda 100), "L1 alone"
  (model.gan_weight=0) and "cGAN alone" (model.l1_weight=0). The lowres rows: the same on
  mnist-lowres (7x7 -> 28x28 digits, 4x super-resolution, whose answer is ambiguous).
- cyclegan row: the `cyclegan` preset on mnist-bold (digits <-> bold digits, never the same digit
  in both domains), for --cyclegan-steps steps.
- scores (`genzoo eval`'s l1 and digits metrics, seeded with the run's seed) on the first --n
  test pairs, translating
  A -> B: L1 per pixel to the ground-truth target (beside the L1 of the untranslated source), the
  fraction of translations genzoo's MNIST classifier reads as the source's digit (beside the
  same for the real targets), and the Frechet distance between the classifier features of the
  translations and of the real targets.

Writes benchmarks/results/translation_digits.json (or --out; '' for none), keeping the rows of other
tasks already there; --run-dir keeps the runs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch

ROWS = {  # name: (preset, overrides)
    "pix2pix": ("pix2pix", {}),
    "pix2pix-l1-alone": ("pix2pix", {"model.gan_weight": 0.0}),
    "pix2pix-cgan-alone": ("pix2pix", {"model.l1_weight": 0.0}),
    "lowres": ("pix2pix", {"data.name": "mnist-lowres"}),
    "lowres-l1-alone": ("pix2pix", {"data.name": "mnist-lowres", "model.gan_weight": 0.0}),
    "cyclegan": ("cyclegan", {}),
}


def mean_sd(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def train_and_score(name: str, seed: int, args, common: dict, out: str) -> dict:
    """Train (or continue) one row's run for one seed, then score it with genzoo eval's l1 and digits."""
    import genzoo
    from genzoo.evaluation import evaluate_run
    from genzoo.runs import read_run_config

    preset, sets = ROWS[name]
    steps = args.pix2pix_steps if preset == "pix2pix" else args.cyclegan_steps
    run_dir = os.path.join(out, f"{name}-seed{seed}")
    t = time.time()
    if os.path.isdir(os.path.join(run_dir, "checkpoints")):
        run = genzoo.train(resume=run_dir, progress=False)
    else:
        run = genzoo.train(preset, steps=steps, seed=seed, overrides={**common, **sets}, out=run_dir, progress=False)
    minutes = (time.time() - t) / 60
    r = evaluate_run(run.dir, protocol="paper", n=args.n, metrics=["l1", "digits"], seed=seed)
    saved = read_run_config(run.dir)
    batch = saved["config"]["train"]["batch_size"]
    print(f"{name}, seed {seed}: {run.step} steps x batch {batch} ({minutes:.1f} min this call, "
          f"{saved['precision']}): L1 {r['l1']['l1']:.4f} (source {r['l1']['l1_of_the_source']:.4f}), "
          f"digit read as the source's {100 * r['digits']['label_accuracy']:.1f}% (real targets "
          f"{100 * r['digits']['label_accuracy_of_real_targets']:.1f}%), FD to targets "
          f"{r['digits']['fd_to_targets']:.2f}", flush=True)
    return {"seed": seed, "l1": r["l1"], "digits": r["digits"], "steps": run.step, "minutes": minutes,
            "batch_size": batch, "precision": saved["precision"], "data": saved["dataset"]["source"],
            "overrides": sets, "run": str(run.dir)}


def table_row(runs: list[dict]) -> dict:
    """One row of the results table from its runs (one per seed): means and standard deviations over the seeds."""
    from common import precision_name

    def mean_and_sd(values, digits):
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return round(statistics.mean(values), digits), round(sd, digits)

    row = {}
    row["l1"], row["l1_sd"] = mean_and_sd([r["l1"]["l1"] for r in runs], 4)
    row["digit"], row["digit_sd"] = mean_and_sd([100 * r["digits"]["label_accuracy"] for r in runs], 1)
    row["fd"], row["fd_sd"] = mean_and_sd([r["digits"]["fd_to_targets"] for r in runs], 2)
    first = runs[0]
    return {**row, "l1_src": round(first["l1"]["l1_of_the_source"], 4),
            "real": round(100 * first["digits"]["label_accuracy_of_real_targets"], 1),
            "steps": first["steps"], "batch_size": first["batch_size"], "precision": precision_name(first["precision"]),
            "seeds": [r["seed"] for r in runs]}


def translation_result(results: dict[str, list[dict]], args) -> dict:
    from common import with_earlier_rows

    def budget(name):
        r = results[name][0]
        return f"{r['steps']:,} steps of batch {r['batch_size']}"

    pix = next((n for n in results if ROWS[n][0] == "pix2pix"), None)
    told = [f"pix2pix {budget(pix)}" if pix else "", f"CycleGAN {budget('cyclegan')}" if "cyclegan" in results else ""]
    extractor = next(iter(results.values()))[0]["digits"]["extractor"]
    return {"benchmark": "translation_digits",
            "protocol": (f"pix2pix on mnist-edges and mnist-lowres, CycleGAN on mnist-bold ({', '.join(t for t in told if t)}"
                         f"); seeds {', '.join(map(str, args.seeds))} (mean ± sd); scored on the first {args.n:,} test "
                         "pairs A -> B: L1 per pixel to the target (images in [0, 1]), the share of translations "
                         f"genzoo's MNIST classifier ({extractor}) reads as the source's digit, and the FD of the "
                         "classifier features of the translations to those of the real targets"),
            "rows": with_earlier_rows(args.out, {name: table_row(runs) for name, runs in results.items()})}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--pix2pix-steps", type=int, default=None, help="default: the preset's")
    p.add_argument("--cyclegan-steps", type=int, default=None, help="default: the preset's")
    p.add_argument("--n", type=int, default=10000, help="test pairs scored")
    p.add_argument("--data-root", help="folder with the MNIST IDX files (default: $GENZOO_DATA/mnist, else ~/.cache/genzoo/data/mnist)")
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="more overrides, every row")
    p.add_argument("--run-dir", default=None, help="where the runs go (default: a temporary folder)")
    p.add_argument("--out", default="benchmarks/results/translation_digits.json", help="the result JSON ('' for none)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    from genzoo.presets import parse_override

    out = args.run_dir or tempfile.mkdtemp(prefix="translation-digits-")
    common = {"data.root": args.data_root, "train.sample_every": 0, "train.checkpoint_every": 500,
              **dict(parse_override(s) for s in args.set)}
    results = {}
    for name in args.rows:
        for seed in args.seeds:
            results.setdefault(name, []).append(train_and_score(name, seed, args, common, out))

    print(f"\nscored on the first {args.n} test pairs, A -> B; mean (and, with several seeds, sd) over seeds "
          f"{args.seeds}; features: {results[args.rows[0]][0]['digits']['extractor']}")
    print(f"{'row':20s} {'steps':>6s} {'L1':>15s} {'L1 src':>7s} {'digit %':>13s} {'real %':>7s} {'FD':>13s}")
    for name, runs in results.items():
        cols = [mean_sd([r["l1"]["l1"] for r in runs], 4),
                mean_sd([100 * r["digits"]["label_accuracy"] for r in runs], 1),
                mean_sd([r["digits"]["fd_to_targets"] for r in runs], 2)]
        print(f"{name:20s} {runs[0]['steps']:6d} {cols[0]:>15s} {runs[0]['l1']['l1_of_the_source']:7.4f} "
              f"{cols[1]:>13s} {100 * runs[0]['digits']['label_accuracy_of_real_targets']:7.1f} {cols[2]:>13s}")
    if args.out:
        from result_files import write_result
        print(f"wrote {write_result(args.out, translation_result(results, args), keep_rows=True)}")
    return results


if __name__ == "__main__":
    main()
