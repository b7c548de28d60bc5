"""Mode collapse on the 2-D toys (ring of 8, grid of 25) under the PacGAN protocol, beside PacGAN's Table 1.

    python benchmarks/toy_modes.py             # the table of record: gan, pacgan2, wgan-gp, sngan, gan-toy; 5 seeds
    python benchmarks/toy_modes.py --variants gan,pacgan2 --datasets ring8 --seeds 2 --steps 500   # a check

Protocol (Lin et al. 2018, PacGAN, sec. 5.1 and their code; genzoo.metrics.toy):
- data: ring8 (8 Gaussians, radius 1, std 0.01) and grid25 (5x5 at {-4..4}^2, std 0.05),
  100,000 training points;
- after training, 2,500 samples of G (eval mode; the EMA weights, every row keeps them);
  a sample is high quality when it lies within 3 std of its nearest mode; a mode is captured
  when it has at least one high-quality sample; reverse KL = KL(p || uniform) of the histogram
  of high-quality samples over the modes (nats);
- mean and standard error over --seeds seeds (seed s trains with train.seed = s), fp32, CPU;
- engine: a row's seeds train together as one batched model in one process
  (genzoo.training.multiseed, --engine vectorized, the default): each seed has the initial
  weights, minibatch order, learning-rate schedule, EMA and sample noise of the seed-by-seed
  trainer, and its own training noise z; --seed-groups N splits a row into N such processes for
  --workers cores; --engine per-seed runs genzoo train's Trainer (common.train_timed), one process per seed.
  CPU-s per run = a group's CPU time / its seeds.
Architecture as in PacGAN's code: G = MLP z (2-d N(0, I)) -> 4 x 400 (batch norm, ReLU) -> 2;
D = MLP 2m -> 3 x 200 -> 1 (PacGAN: maxout with 5 pieces; genzoo: LeakyReLU 0.2); 100 (packed)
examples per D minibatch (PacGAN-m: 100 m samples).
Training, every row: --steps generator steps (default 2,000) of Algorithm 1 (alternating: the
preset's k D steps, each on a fresh minibatch, then one G step); learning rates constant for the
first half of the run, then linear to 0 at the last step (train.lr_decay 0.5, train.lr_final 0,
applied here as genzoo's trainer applies it); samples from an EMA of G (decay 0.99; G's batch-norm
statistics are copied into it). Rows:
- gan, pacgan2, pacgan4: non-saturating loss, Adam(1e-3, betas (0.5, 0.999)), PacGAN's 10x;
- lsgan, wgan-gp, sngan: those presets' losses, penalties, critic steps and optimizers (wgan-gp:
  Adam 1e-4 betas (0, 0.9), 5 critic steps, lambda 10; sngan: spectral norm on every D layer,
  hinge loss, Adam 2e-4 betas (0.5, 0.999)) on the same toy nets;
- gan-toy: the preset src/genzoo/presets/gan-toy.yaml exactly as it stands, with its values for
  the dataset (its own 30,000 steps, 60,000 on grid25; the R1 penalty with gamma 0.1 on ring8
  and 1.0 on grid25; Adam 2e-3 with betas (0, 0.99); the same nets except that G has no batch
  norm; same schedule and EMA): genzoo's best configuration found on a CPU budget.
Differences from PacGAN's code, stated: they train 400 epochs of 100,000 points (400,000 steps)
with Adam(1e-4, beta1 0.8), a constant learning rate, no EMA, and update D and G simultaneously on
one minibatch; we alternate, train 2,000-60,000 steps with larger learning rates decayed to 0 and
sample from the EMA, because a CPU budget (minutes per run on one thread) is the point.
See VARIANTS.
--rejection P,...: each run's G and D also draw --n-samples samples by discriminator rejection
sampling (Azadi et al. 2019; genzoo.sampling.discriminator_rejection_sample, 10,000 burn-in
proposals, gamma at percentile P of F per batch of 1,000, or 'none': gamma = 0, exact rejection)
with the trained D as it stands (the paper's optional further training of D is not done), scored
the same way, as extra rows "+ DRS P".

Result files (--out, one per dataset: benchmarks/results/toy_modes_<dataset>.json; '' for none): a row
per variant, keeping the rows of variants not run this time; with --row NAME the one variant's row is
stored as NAME (a table of one change at a time); with --rejection the rows are the plain samples
("plain") and each percentile ("exact" for 'none', "p<P>"). --runs keeps every run's numbers (and
lets --resume skip the runs done).
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

import torch

from result_files import write_result

PACGAN = {  # Lin et al. 2018, Table 1: modes captured / % high-quality samples / reverse KL (nats)
    "ring8": {"GAN": (6.3, 98.2, 0.45), "PacGAN2": (7.9, 95.6, 0.07)},
    "grid25": {"GAN": (17.3, 94.8, 0.70), "PacGAN4": (24.8, 93.6, 0.04)},
}

TOY_NETS = {"model.nets.generator": "mlp", "model.nets.discriminator": "mlp", "model.nets.hidden": [400] * 4,
            "model.nets.generator_norm": "batch", "model.nets.d_hidden": [200] * 3, "model.nets.d_dropout": 0.0,
            "model.latent_dim": 2, "model.conditional": False, "model.ema": 0.99}
#: PacGAN's optimizer is Adam(1e-4, beta1 0.8) for 400,000 steps; in a few thousand steps it leaves the
#: samples tens of std away from the modes, so the GAN and PacGAN rows here use 10x its learning rate.
FAST_ADAM = {"model.optim.name": "adam", "model.optim.lr": 1e-3, "model.optim.betas": [0.5, 0.999],
             "model.optim.momentum": 0.0}

#: every row's learning-rate schedule: constant for the first half of the run, then linear to 0 at the
#: last step (genzoo's train.lr_decay / train.lr_final; run_one applies it as the trainer does)
SCHEDULE = {"train.lr_decay": 0.5, "train.lr_final": 0.0}

#: name -> (preset, overrides on top of TOY_NETS and SCHEDULE), or (preset, None): the preset exactly as it
#: stands (its nets, optimizer, schedule and train.steps; only data set, seed and device are set here),
#: i.e. what `genzoo train <preset> --set data.name=<toy>` trains.
#: "gan" is PacGAN's baseline (the non-saturating GAN); lsgan, wgan-gp and sngan keep their presets' losses,
#: penalties, critic steps and optimizers; "gan-toy" is genzoo's tuned toy preset (src/genzoo/presets/gan-toy.yaml).
VARIANTS = {
    "gan": ("gan", {**FAST_ADAM, "model.loss": "non-saturating"}),
    "pacgan2": ("gan", {**FAST_ADAM, "model.loss": "non-saturating", "model.pack": 2}),
    "pacgan4": ("gan", {**FAST_ADAM, "model.loss": "non-saturating", "model.pack": 4}),
    "lsgan": ("lsgan", {}),
    "wgan-gp": ("wgan-gp", {}),
    "sngan": ("sngan", {"model.nets.spectral_norm": True}),
    "gan-toy": ("gan-toy", None),
}
DEFAULT_VARIANTS = "gan,pacgan2,wgan-gp,sngan,gan-toy"
DEFAULT_STEPS = 2000


def variant_steps(variant: str, dataset: str, steps: int, extra: dict | None = None) -> int:
    """Generator steps of a row, as its config resolves them: --set train.steps if given, else `steps`, or
    the preset's own train.steps for the dataset (per_dataset included) for a preset-as-it-stands row."""
    return variant_config(variant, dataset, 0, steps, extra or {}).train.steps


def variant_config(variant: str, dataset: str, seed: int, steps: int, extra: dict):
    from genzoo.presets import resolve

    preset, sets = VARIANTS[variant]
    if sets is None:  # the preset as it stands
        overrides = {"data.name": dataset, "train.seed": seed, "train.device": "cpu", **extra}
        return resolve(preset, overrides=overrides)
    pack = sets.get("model.pack", extra.get("model.pack", 1))
    overrides = {**TOY_NETS, **SCHEDULE, **sets, "data.name": dataset, "data.n_samples": 100_000,
                 "train.seed": seed, "train.steps": steps, "train.batch_size": 100 * pack, "train.device": "cpu",
                 **extra}
    # PacGAN's nets and schedule with the preset's loss as written for images: not its per-dataset toy settings
    return resolve(preset, overrides=overrides, per_dataset=False)


def vectorizable(job: dict) -> bool:
    """Can genzoo.training.multiseed train this row's seeds together (every row as defined here can)?"""
    from genzoo.errors import ConfigError
    from genzoo.training.multiseed import check_supported

    try:
        check_supported(variant_config(job["variant"], job["dataset"], 0, job["steps"], job["extra"]).model)
    except ConfigError:
        return False
    return True


def run_seeds_at_once(job: dict) -> list[dict]:
    """All of job["seeds"] of one row as one batched model (genzoo.training.multiseed.train_gan_seeds):
    each seed starts from the weights genzoo.train builds with train.seed = seed, sees the trainer's
    minibatch order for that seed, follows the same learning-rate schedule and samples from its EMA
    with the same noise as run_one, so a seed's numbers match run_one's up to float round-off
    (its training noise z comes from its own generator). CPU-s per run = the group's / seeds."""
    torch.set_num_threads(job["threads"])
    from genzoo.data import toy_modes
    from genzoo.metrics.toy import toy_metrics
    from genzoo.training.multiseed import train_gan_seeds
    from genzoo.runs import run_split

    seeds = job["seeds"]
    cfg = variant_config(job["variant"], job["dataset"], seeds[0], job["steps"], job["extra"])
    ds = run_split(cfg)
    c0, w0 = time.process_time(), time.perf_counter()
    run = train_gan_seeds(cfg.model, ds.x, seeds, cfg.train.steps, cfg.train.batch_size, n_samples=job["n_samples"],
                          sample_seed=10_000, log_every=max(1, cfg.train.steps), lr_decay=cfg.train.lr_decay,
                          lr_final=cfg.train.lr_final)
    cpu, wall = (time.process_time() - c0) / len(seeds), (time.perf_counter() - w0) / len(seeds)
    centers, std = toy_modes(job["dataset"])
    out = []
    for i, seed in enumerate(seeds):
        out.append({"variant": job["variant"], "dataset": job["dataset"], "seed": seed, "steps": cfg.train.steps,
                    **metrics_row(toy_metrics(run.samples[i], centers, std)),
                    "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1),
                    "engine": f"{len(seeds)} seeds at once",
                    "final_logs": {k: float(v[-1, i]) for k, v in run.history.items()},
                    **rejection_rows(lambda: seed_model(cfg, ds, run, i), job, seed, centers, std)})
    return out


def seed_model(cfg, ds, run, i: int):
    """Seed i of a multi-seed run as an ordinary genzoo GAN: its sampling generator and its D."""
    from genzoo.training.data import data_spec
    from genzoo.runs.build import build_model

    model = build_model(cfg, data_spec(ds), torch.device("cpu"))
    model.sampling_net.load_state_dict(run.generators[i])
    model.D.load_state_dict(run.model.D.state_dict(i))
    return model.eval()


def rejection_rows(make_model, job: dict, seed: int, centers: torch.Tensor, std: float) -> dict:
    """--rejection: the PacGAN numbers of n_samples drawn by discriminator rejection sampling (Azadi et al.
    2019) at each percentile ('none': exact rejection), from the same trained G and D."""
    if not job.get("rejection"):
        return {}
    from genzoo.metrics.toy import toy_metrics
    from genzoo.sampling import discriminator_rejection_sample, parse_percentile

    model = make_model()
    rows = {}
    for p in job["rejection"]:
        drs = discriminator_rejection_sample(model, job["n_samples"], percentile=parse_percentile(p),
                                             generator=torch.Generator().manual_seed(20_000 + seed))
        rows[p] = {**metrics_row(toy_metrics(drs.samples, centers, std)), "acceptance": drs.acceptance}
    return {"rejection": rows}


def metrics_row(m: dict) -> dict:
    """A run's PacGAN numbers, and where its misses lie (near: 3-6 std from a mode, far: 6+ std)."""
    return {"modes": m["modes_captured"], "hq": m["high_quality_percent"], "rkl": m["reverse_kl"],
            "mode_counts": m["mode_counts"], "near_miss": 100 * m["near_miss_fraction"],
            "far_miss": 100 * m["far_miss_fraction"], "spread": m["spread"]}


def run_jobs(job: dict) -> list[dict]:
    return run_seeds_at_once(job) if "seeds" in job else [run_one(job)]


def run_one(job: dict) -> dict:
    torch.set_num_threads(job["threads"])
    from common import train_timed
    from genzoo.data import toy_modes
    from genzoo.metrics.toy import toy_metrics

    cfg = variant_config(job["variant"], job["dataset"], job["seed"], job["steps"], job["extra"])
    timed = train_timed(cfg, log=lambda *_: None)  # genzoo train's loop: its data order and lr schedule
    model = timed.model.eval()
    with torch.no_grad():
        x = model.sample(job["n_samples"], generator=torch.Generator().manual_seed(10_000 + job["seed"]))
    centers, std = toy_modes(job["dataset"])
    return {**{k: job[k] for k in ("variant", "dataset", "seed", "steps")}, **metrics_row(toy_metrics(x, centers, std)),
            "cpu_seconds": round(timed.cpu_seconds, 1), "wall_seconds": round(timed.wall_seconds, 1),
            "final_logs": timed.trainer.last_values, **rejection_rows(lambda: model, job, job["seed"], centers, std)}


def _mean_se(v):
    v = [float(a) for a in v if a == a]  # drop NaN (no high-quality sample at all)
    if not v:
        return float("nan"), float("nan")
    m = sum(v) / len(v)
    se = math.sqrt(sum((a - m) ** 2 for a in v) / (len(v) - 1) / len(v)) if len(v) > 1 else float("nan")
    return m, se


def table_row(stats: list[dict], cpu_s: float | None = None) -> dict:
    """A row of the results tables from per-seed numbers (modes, hq, rkl): means and standard errors."""
    row = {}
    for name, key, digits in (("modes", "modes", 2), ("hq", "hq", 2), ("kl", "rkl", 4)):
        row[name], row[f"{name}_se"] = (round(v, digits) for v in _mean_se([m[key] for m in stats]))
    return row if cpu_s is None else {**row, "cpu_s": round(cpu_s)}


def variant_values(runs: list[dict], dataset: str) -> dict:
    """The gan-toy row seed by seed: % high quality, the mode counts, and where its misses lie beside exact
    samples of the mixture's."""
    from genzoo.data import toy_modes
    from genzoo.metrics.toy import toy_metrics

    runs = sorted(runs, key=lambda r: r["seed"])
    counts, weakest = [c for r in runs for c in r["mode_counts"]], [min(r["mode_counts"]) for r in runs]
    centers, std = toy_modes(dataset)
    g = torch.Generator().manual_seed(0)
    exact = centers[torch.randint(len(centers), (100_000,), generator=g)] + std * torch.randn(100_000, 2, generator=g)
    return {"gan_toy_hq_per_seed": ", ".join(f"{r['hq']:.1f}" for r in runs),
            "gan_toy_samples_per_mode": f"{min(counts)}-{max(counts)}", "gan_toy_weakest_mode": f"{min(weakest)}-{max(weakest)}",
            "gan_toy_near_misses_pct": round(_mean_se([r["near_miss"] for r in runs])[0], 1),
            "gan_toy_far_misses_pct": round(_mean_se([r["far_miss"] for r in runs])[0], 1),
            "exact_near_misses_pct": round(100 * toy_metrics(exact, centers, std)["near_miss_fraction"], 1)}


def toy_rows(runs: list[dict], variants: list[str], rejection: list[str], row: str | None) -> dict:
    """The rows of a dataset's result file: one per variant (or --row's name), or the plain and DRS samples."""
    def cpu(rs):
        return sum(r["cpu_seconds"] for r in rs) / len(rs)

    by_variant = {v: [r for r in runs if r["variant"] == v] for v in variants}
    by_variant = {v: rs for v, rs in by_variant.items() if rs}
    if rejection:
        rs = next(iter(by_variant.values()))
        rows = {"plain": {**table_row(rs, cpu(rs)), "kept": 100, "far": round(_mean_se([r["far_miss"] for r in rs])[0], 1)}}
        for q in rejection:
            ms = [r["rejection"][q] for r in rs]
            rows["exact" if q == "none" else f"p{q}"] = {
                **table_row(ms), "kept": round(100 * _mean_se([m["acceptance"] for m in ms])[0]),
                "far": round(_mean_se([m["far_miss"] for m in ms])[0], 1)}
        return rows
    return {(row or v): {**table_row(rs, cpu(rs)), "steps": rs[0]["steps"]} for v, rs in by_variant.items()}


def toy_result(runs: list[dict], dataset: str, variants: list[str], rejection: list[str], args, extra: dict,
               path: str) -> dict:
    from common import with_earlier_rows

    gan_toy = [r for r in runs if r["variant"] == "gan-toy"]
    steps = ", ".join(f"{v} {next(r['steps'] for r in runs if r['variant'] == v):,}" for v in variants
                      if any(r["variant"] == v for r in runs))
    earlier = json.loads(open(path).read()).get("values", {}) if os.path.exists(path) and not rejection else {}
    # a file of --row rows holds rows of several commands: each row's overrides are in its own command
    overrides = "those of each row's command" if args.row else (extra or "none")
    return {"benchmark": "toy_modes",
            "protocol": (f"PacGAN protocol (Lin et al. 2018) on {dataset}: {args.n_samples:,} samples per run from an "
                         "EMA of G (0.99); a sample is high quality within 3 std of its nearest mode; a mode is "
                         "captured with at least one high-quality sample; reverse KL of the high-quality histogram "
                         f"over the modes to uniform; {args.seeds} seeds, mean ± standard error, {args.threads} "
                         f"thread(s), fp32, engine {args.engine}; generator steps per run: {steps}; PacGAN's toy nets "
                         f"(G 4x400, D 3x200); overrides {overrides}"
                         + (f"; discriminator rejection sampling at percentiles {', '.join(rejection)} ('none': "
                            "exact) of F; far misses: samples 6 std or more from every mode" if rejection else "")
                         + "; CPU-s is per run"),
            "values": {**earlier, **(variant_values(gan_toy, dataset) if gan_toy and not (args.row or rejection) else {})},
            "rows": with_earlier_rows(path, toy_rows(runs, variants, rejection, args.row)) if not rejection
            else toy_rows(runs, variants, rejection, None)}


def split_seeds(seeds: list[int], groups: int) -> list[list[int]]:
    """Consecutive groups of near-equal size, the larger first: [0..4] in 2 -> [0, 1, 2], [3, 4]."""
    if groups < 1:
        raise ValueError(f"--seed-groups must be at least 1, got {groups}")
    size, extra = divmod(len(seeds), groups)
    bounds = [0]
    for g in range(groups):
        bounds.append(bounds[-1] + size + (g < extra))
    return [seeds[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variants", default=DEFAULT_VARIANTS,
                   help=f"comma-separated, from: {', '.join(VARIANTS)}")
    p.add_argument("--datasets", default="ring8,grid25")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help="generator steps per run (rows that run a preset as it stands use its train.steps)")
    p.add_argument("--n-samples", type=int, default=2500)
    p.add_argument("--workers", type=int, default=2, help="runs in parallel (processes of --threads threads)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--engine", choices=["vectorized", "per-seed"], default="vectorized",
                   help="vectorized: the seeds of each row train together as one batched model in one process "
                        "(genzoo.training.multiseed; a configuration it cannot run falls back to per-seed); "
                        "per-seed: one process per seed")
    p.add_argument("--seed-groups", type=int, default=1,
                   help="vectorized engine: split each row's seeds into this many batched processes, to run on "
                        "--workers cores side by side (a seed's run does not depend on the seeds beside it)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value in every run (repeatable), e.g. --set model.ema=0.999")
    p.add_argument("--runs", help="write every run's numbers as JSON here (rewritten after each run)")
    p.add_argument("--resume", action="store_true", help="keep the runs already in --runs and do only the others")
    p.add_argument("--out", default="benchmarks/results/toy_modes_{dataset}.json",
                   help="the result JSON, {dataset} replaced by each dataset's name ('' for none)")
    p.add_argument("--row", default=None, help="store the one variant's row under this name")
    p.add_argument("--rejection", default="", metavar="P,...",
                   help="also score samples drawn by discriminator rejection sampling from each trained G and D, "
                        "gamma at each percentile P of F (or 'none': exact rejection), e.g. --rejection none,95; "
                        "cross-entropy GANs without packing only")
    return p


def checked_args(argv=None):
    """The arguments, the overrides of --set, and the lists of variants, datasets and rejection percentiles;
    a wrong one ends the command with argparse's one-line error."""
    from genzoo.presets import parse_override
    from genzoo.sampling import parse_percentile

    p = parser()
    args = p.parse_args(argv)
    extra = dict(parse_override(s) for s in args.set)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if args.seed_groups < 1:
        p.error(f"--seed-groups must be at least 1, got {args.seed_groups}")
    rejection = [q.strip() for q in args.rejection.split(",") if q.strip()]
    for q in rejection:
        try:
            parse_percentile(q)
        except ValueError as e:
            p.error(f"--rejection: {e}")
    if args.row and (len(variants) != 1 or rejection):
        p.error("--row names the row of one variant (one --variants, no --rejection)")
    if rejection and len(variants) != 1:
        p.error("--rejection writes the rows of one variant's samples: give one --variants")
    return args, extra, variants, datasets, rejection


def print_protocol(args, extra: dict, rejection: list[str]) -> None:
    print(f"protocol: PacGAN (Lin et al. 2018): {args.n_samples} samples; high quality = within 3 std of the "
          f"nearest mode; a mode is captured with >= 1 high-quality sample; reverse KL of the high-quality mode "
          f"histogram to uniform (nats); mean +- standard error over {args.seeds} seeds; {args.steps} generator steps "
          f"per run unless the row says (PacGAN's code: 400,000); toy nets G 4x400 BN-ReLU (gan-toy: no BN), "
          f"D 3x200; EMA 0.99; "
          f"learning rates constant, then linear to 0 over the last half (gan-toy: its preset's train.lr_decay, "
          f"0.3 on grid25); GAN/PacGAN rows Adam 1e-3; "
          f"overrides: {extra or 'none'}"
          + (f"; + DRS rows: discriminator rejection sampling, gamma at percentile(s) {', '.join(rejection)} "
             f"of F ('none': exact)" if rejection else ""))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; {args.workers} "
          f"worker(s) x {args.threads} thread(s); torch {torch.__version__}", flush=True)


def kept_runs(args, extra: dict, jobs: list[dict]) -> tuple[list[dict], list[dict]]:
    """With --resume, the runs already in --runs (with these overrides) and the jobs not among them."""
    if not (args.resume and args.runs and os.path.exists(args.runs)):
        return [], jobs
    with open(args.runs) as f:
        results = [r for r in json.load(f)["results"] if r.get("extra", {}) == extra]
    done = {(r["variant"], r["dataset"], r["seed"], r["steps"]) for r in results}
    jobs = [j for j in jobs if (j["variant"], j["dataset"], j["seed"], j["steps"]) not in done]
    print(f"resuming: {len(results)} runs kept from {args.runs}, {len(jobs)} to do")
    return results, jobs


def batched_jobs(jobs: list[dict], seed_groups: int) -> list[dict]:
    """One job per group of a row's seeds for the rows the batched engine can run; the others seed by seed."""
    rows: dict = {}
    for j in jobs:
        rows.setdefault((j["variant"], j["dataset"], j["steps"]), []).append(j)
    batched = []
    for row in rows.values():
        if vectorizable(row[0]):
            batched.extend({**row[0], "seeds": group} for group in split_seeds([j["seed"] for j in row], seed_groups))
        else:
            batched.extend(row)
    return batched


def save_runs(args, results: list[dict]) -> None:
    """Every run's numbers so far in --runs (replaced atomically), for --resume."""
    if args.runs:
        tmp = args.runs + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"results": results, "args": vars(args)}, f, indent=2)
        os.replace(tmp, args.runs)


def print_run(r: dict) -> None:
    print(f"  {r['dataset']:>6} {r['variant']:>8} seed {r['seed']}: modes {r['modes']:>2}  "
          f"hq {r['hq']:5.1f}%  rKL {r['rkl']:.3f}  misses near {r.get('near_miss', math.nan):.1f}% "
          f"far {r.get('far_miss', math.nan):.1f}%  spread {r.get('spread', math.nan):.2f}  "
          f"smallest mode {min(r['mode_counts'])}  ({r['cpu_seconds']:.0f} CPU-s, "
          f"{r['wall_seconds']:.0f} s{', ' + r['engine'] if 'engine' in r else ''})", flush=True)
    for q, m in r.get("rejection", {}).items():
        print(f"  {'':>6} {'+ DRS ' + q:>8}: modes {m['modes']:>2}  hq {m['hq']:5.1f}%  rKL "
              f"{m['rkl']:.3f}  misses near {m['near_miss']:.1f}% far {m['far_miss']:.1f}%  spread "
              f"{m['spread']:.2f}  smallest mode {min(m['mode_counts'])}  (kept "
              f"{100 * m['acceptance']:.1f}% of the proposals)", flush=True)


def run_all(jobs: list[dict], args, extra: dict, results: list[dict]) -> None:
    """Run the jobs in --workers processes, adding each run to `results` (and to --runs) as it ends."""
    try:
        with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as pool:
            for fut in as_completed([pool.submit(run_jobs, j) for j in jobs]):
                for r in fut.result():
                    r["extra"] = extra
                    results.append(r)
                    print_run(r)
                save_runs(args, results)
    except BrokenProcessPool:
        save_runs(args, results)
        sys.exit(f"a worker process died (killed?); {len(results)} runs are saved in {args.runs}: "
                 "run the same command with --resume to do the rest")


def variant_summary(d: str, v: str, rs: list[dict], n_steps: int, rejection: list[str], table: dict) -> None:
    """Print a variant's rows on dataset `d` (its seeds' mean +- s.e., misses, DRS rows) and add them to `table`."""
    stats = {k: _mean_se([r[k] for r in rs]) for k in ("modes", "hq", "rkl")}
    cpu = sum(r["cpu_seconds"] for r in rs) / len(rs)
    table[f"{d}/{v}"] = {**stats, "steps": n_steps, "cpu_seconds_per_run": cpu, "n": len(rs)}
    print(f"  {v:>10} | {stats['modes'][0]:5.1f} +- {stats['modes'][1]:3.1f} | {stats['hq'][0]:6.1f} +- "
          f"{stats['hq'][1]:4.1f} | {stats['rkl'][0]:6.3f} +- {stats['rkl'][1]:5.3f} | {n_steps:5d} | {cpu:.0f}")
    if all("spread" in r for r in rs):
        miss = {k: _mean_se([r[k] for r in rs])[0] for k in ("near_miss", "far_miss", "spread")}
        table[f"{d}/{v}"].update(miss)
        print(f"  {'':>10}   misses: {miss['near_miss']:.1f}% near a mode (3-6 std; exact samples: 1.1%), "
              f"{miss['far_miss']:.1f}% far (6+ std); spread {miss['spread']:.2f} std (exact: 1.00)")
    for q in rejection:
        ms = [r["rejection"][q] for r in rs if q in r.get("rejection", {})]
        if not ms:
            continue
        st = {k: _mean_se([m[k] for m in ms]) for k in ("modes", "hq", "rkl", "acceptance", "far_miss")}
        table[f"{d}/{v}+drs{q}"] = {**st, "steps": n_steps, "n": len(ms)}
        print(f"  {'+ DRS ' + q:>10} | {st['modes'][0]:5.1f} +- {st['modes'][1]:3.1f} | {st['hq'][0]:6.1f} +- "
              f"{st['hq'][1]:4.1f} | {st['rkl'][0]:6.3f} +- {st['rkl'][1]:5.3f} | kept "
              f"{100 * st['acceptance'][0]:.0f}% of the proposals; far misses {st['far_miss'][0]:.1f}%")


def summary(results: list[dict], datasets, variants, rejection, row_steps: dict, seeds: int) -> dict:
    """Print each dataset's table beside PacGAN's and return its rows by "dataset/variant"."""
    table = {}
    for d in datasets:
        print(f"\n{d}: modes captured (of {8 if d == 'ring8' else 25}) / % high quality / reverse KL, "
              f"mean +- s.e. over {seeds} seeds; CPU-s per run")
        print(f"  {'':>10} | {'modes':>12} | {'% high quality':>14} | {'reverse KL':>14} | steps | CPU-s")
        for v in variants:
            n_steps = row_steps[v, d]
            rs = [r for r in results if r["dataset"] == d and r["variant"] == v and r["seed"] < seeds
                  and r["steps"] == n_steps]
            if rs:
                variant_summary(d, v, rs, n_steps, rejection, table)
        for name, (mo, hq, kl) in PACGAN[d].items():
            print(f"  {'PacGAN ' + name:>10} | {mo:12.1f} | {hq:14.1f} | {kl:14.2f} |  400k | (paper)")
    return table


def main(argv=None) -> dict:
    args, extra, variants, datasets, rejection = checked_args(argv)
    row_steps = {(v, d): variant_steps(v, d, args.steps, extra) for d in datasets for v in variants}
    torch.set_num_threads(args.threads)  # the runs' threads, which the result's hardware record reports
    jobs = [{"variant": v, "dataset": d, "seed": s, "steps": row_steps[v, d], "n_samples": args.n_samples,
             "threads": args.threads, "extra": extra, "rejection": rejection}
            for d in datasets for v in variants for s in range(args.seeds)]
    print_protocol(args, extra, rejection)
    t0 = time.perf_counter()
    results, jobs = kept_runs(args, extra, jobs)
    if args.engine == "vectorized":  # one job per row for the rows the batched engine can run
        jobs = batched_jobs(jobs, args.seed_groups)
    run_all(jobs, args, extra, results)
    table = summary(results, datasets, variants, rejection, row_steps, args.seeds)
    total = time.perf_counter() - t0
    print(f"\ntotal wall time {total:.0f} s")
    out = {"results": results, "table": table, "args": vars(args), "total_wall_seconds": round(total, 1)}
    if args.out:
        for d in datasets:
            mine = [r for r in results if r["dataset"] == d and r["seed"] < args.seeds
                    and r["steps"] == row_steps[r["variant"], d]]
            path = args.out.format(dataset=d)
            result = toy_result(mine, d, variants, rejection, args, extra, path)
            print(f"wrote {write_result(path, result, keep_rows=not rejection)}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
