"""Every GAN preset on the 2-D toys, trained exactly as `genzoo train PRESET --data ring8` trains it.

    python benchmarks/toy_presets.py                                  # the table of record, 5 seeds
    python benchmarks/toy_presets.py --presets gan --seeds 1 --set train.steps=200   # a check

Each run is genzoo.train(resolve(PRESET, {data.name: DATASET, train.seed: s})): the preset with its
`per_dataset` values for the toy (MLP nets, budget, optimizer; the preset's loss and regularizer
stay), then `genzoo eval`'s toy metric (genzoo.evaluation.evaluate_run, metric "toy", eval seed 0).

Protocol (Lin et al. 2018, PacGAN, sec. 5.1; genzoo.metrics.toy): 2,500 samples of G; a sample is
high quality when it lies within 3 std of its nearest mode; a mode is captured when it has at least
one high-quality sample; reverse KL of the histogram of high-quality samples over the modes to
uniform (nats); mean and standard error over seeds 0..N-1. CPU-s: the process time of a run
(training and evaluation), each run in its own process with --threads threads.
Writes benchmarks/results/toy_presets.json (or --out): one row per preset with the columns of the
results page, its per-seed numbers, its resolved settings for the dataset, its hardware and command;
a run of some presets keeps the rows of the others already in the file (same dataset and overrides).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import hardware_line  # noqa: E402
from result_files import command_line, write_result  # noqa: E402

PRESETS = ("gan", "lsgan", "wgan", "wgan-gp", "sngan")
RESULTS = Path(__file__).resolve().parent / "results" / "toy_presets.json"
QUIET = {"train.sample_every": 0, "train.checkpoint_every": 0, "train.log_every": 1000}


def run_one(job: dict) -> dict:
    """Train one preset with one seed on the toy and score it with the PacGAN protocol."""
    torch.set_num_threads(job["threads"])
    from genzoo.presets import resolve
    from genzoo.evaluation import evaluate_run
    from genzoo.training.trainer import train

    start = time.process_time()
    cfg = resolve(job["preset"], overrides={"data.name": job["dataset"], "train.seed": job["seed"], **QUIET,
                                            **job["extra"]})
    with tempfile.TemporaryDirectory() as out:
        run = train(cfg, out=Path(out) / "run", progress=False, log=lambda *_: None)
        toy = evaluate_run(run.dir, protocol="paper", n=2500, metrics=["toy"], seed=0, log=lambda *_: None)["toy"]
    keep = ("modes_captured", "num_modes", "high_quality_percent", "reverse_kl", "mode_counts")
    return {"preset": job["preset"], "seed": job["seed"], **{k: toy[k] for k in keep},
            "cpu_s": round(time.process_time() - start, 1)}


def settings(preset: str, dataset: str, extra: dict) -> dict:
    """The resolved settings a user gets for the toy: nets, budget, loss, regularizer, optimizer."""
    from dataclasses import asdict

    from genzoo.presets import resolve
    cfg = resolve(preset, overrides={"data.name": dataset, **extra})
    m = asdict(cfg.model)
    return {"steps": cfg.train.steps, "batch_size": cfg.train.batch_size, "precision": cfg.train.precision,
            "lr_decay": cfg.train.lr_decay, "lr_final": cfg.train.lr_final,
            **{k: m[k] for k in ("loss", "latent_dim", "d_steps", "clip", "penalty", "ema", "optim", "d_optim")},
            "nets": {k: m["nets"][k] for k in ("generator", "discriminator", "hidden", "d_hidden", "generator_norm",
                                               "spectral_norm")}}


def table_row(runs: list[dict]) -> dict:
    """A preset's row of the results table from its runs (one per seed): modes captured, % high quality and
    reverse KL (over the seeds with a high-quality sample, where it is defined) as mean and standard error,
    CPU-s per run, and % high quality seed by seed."""
    from genzoo.metrics.toy import aggregate_over_seeds
    agg = aggregate_over_seeds(runs, keys=("modes_captured", "high_quality_percent"))
    with_kl = [r for r in runs if r["reverse_kl"] is not None and math.isfinite(r["reverse_kl"])]
    agg.update(aggregate_over_seeds(with_kl, keys=("reverse_kl",)) if with_kl else {})  # none without a good sample
    mean_se = {"modes": "modes_captured", "hq": "high_quality_percent", "kl": "reverse_kl"}
    row = {k: round(agg[m][stat], 4) for name, m in mean_se.items() if m in agg
           for k, stat in ((name, "mean"), (f"{name}_se", "stderr"))}
    return {**row, "cpu_s": round(sum(r["cpu_s"] for r in runs) / len(runs)),
            "seeds": ", ".join(f"{r['high_quality_percent']:.1f}" for r in sorted(runs, key=lambda r: r["seed"])),
            "all_modes_every_seed": all(r["modes_captured"] == r["num_modes"] for r in runs)}


def protocol(n_seeds: int) -> str:
    return ("PacGAN (Lin et al. 2018): 2,500 samples of G; high quality = within 3 std of the nearest mode; a mode "
            "is captured with >= 1 high-quality sample; reverse KL (nats) of the high-quality mode histogram to "
            f"uniform; mean and standard error over seeds 0..{n_seeds - 1} (train.seed); each run is genzoo.train "
            "of the preset with data.name set (its per_dataset values apply), scored by genzoo eval's toy metric "
            "with eval seed 0; CPU-s is a run's process time (training and evaluation)")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", default=",".join(PRESETS))
    p.add_argument("--dataset", default="ring8")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--workers", type=int, default=2, help="runs in parallel, one process each")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value in every run (repeatable); the table of record uses none")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)

    from genzoo.presets import parse_override
    extra = dict(parse_override(s) for s in args.set)
    presets = [x.strip() for x in args.presets.split(",") if x.strip()]
    jobs = [{"preset": pr, "dataset": args.dataset, "seed": s, "threads": args.threads, "extra": extra}
            for pr in presets for s in range(args.seeds)]
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    t0 = time.time()
    with ProcessPoolExecutor(args.workers) as pool:
        runs = list(pool.map(run_one, jobs))
    rows = {}
    for pr in presets:
        mine = [r for r in runs if r["preset"] == pr]
        rows[pr] = {**table_row(mine), "settings": settings(pr, args.dataset, extra), "runs": mine}
        r = rows[pr]
        kl = f"{r['kl']:.3f} +- {r['kl_se']:.3f}" if "kl" in r else "none (no seed has a high-quality sample)"
        print(f"{pr:8s} modes {r['modes']:.1f} +- {r['modes_se']:.1f}, high quality {r['hq']:.1f} +- {r['hq_se']:.1f} %, "
              f"reverse KL {kl}, {r['cpu_s']} CPU-s", flush=True)
    out = Path(args.out)
    earlier = json.loads(out.read_text()) if out.exists() else {}
    if earlier.get("dataset") == args.dataset and earlier.get("overrides") == extra:  # rows of other presets stay
        rows = {**{k: v for k, v in earlier["rows"].items() if k not in rows}, **rows}
    machine = (hardware_line(torch.device("cpu")) + f" per run, {args.workers} runs in parallel; load average "
               f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after (the machine's other work)")
    for pr in presets:  # how each row was made
        rows[pr].update(hardware=machine, wall_s=round(time.time() - t0), torch=torch.__version__,
                        command=command_line(["benchmarks/toy_presets.py", *(sys.argv[1:] if argv is None else argv)]))
    result = {"benchmark": "toy_presets", "protocol": protocol(args.seeds), "dataset": args.dataset,
              "overrides": extra, "rows": rows}
    print(f"wrote {write_result(out, result)}")
    return result


if __name__ == "__main__":
    main()
