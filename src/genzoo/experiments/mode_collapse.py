"""A plain GAN collapses onto a few modes of the ring of 8 Gaussians; PacGAN packing and R1 recover them.

Three variants of the `gan-toy` preset (PacGAN's toy nets, non-saturating loss, Adam 2e-3, lr decay):
  plain    no penalty, no EMA of G
  pacgan   the plain GAN whose discriminator judges 2 samples at once (Lin et al. 2018), batch 200
  r1       the preset itself: R1 penalty (gamma 0.1) and an EMA of G
Seed `seed` of each is trained by genzoo.train with checkpoints, whose 2,500 samples give the
scatter plots over training time; the PacGAN-protocol numbers (modes captured, % high quality,
reverse KL of the mode histogram) are then the mean and standard error over `n_seeds` seeds
trained at once by the multi-seed engine (genzoo.training.multiseed).
"""
from __future__ import annotations

import torch

import genzoo

from ..presets import resolve
from ..data import load_dataset, toy_modes
from ..metrics import aggregate_over_seeds, toy_metrics
from ..training.multiseed import train_gan_seeds
from .base import Context, Experiment, Measured, Verdict, checkpoint_steps, figure, quiet_run_overrides, save_figure

VARIANTS = {
    "plain": {"model.penalty.kind": "none", "model.ema": 0.0},
    "pacgan": {"model.penalty.kind": "none", "model.ema": 0.0, "model.pack": 2, "train.batch_size": 200},
    "r1": {},
}
N_SAMPLES = 2500
KL_MARGIN = 0.1        # a remedy's mean reverse KL must be below the plain GAN's by this many nats


def _overrides(ctx: Context, variant: str) -> dict:
    steps = ctx.steps(160, 2000)
    sets = quiet_run_overrides(steps, 100, ctx.seed, checkpoint_every=max(1, steps // 4), keep=10)
    sets.update({"train.lr_decay": 0.5, **VARIANTS[variant]})
    if ctx.quick:
        sets.update({"model.nets.hidden": [64, 64], "model.nets.d_hidden": [64, 64], "data.n_samples": 10000})
    return sets


def snapshots(run_dir, centers, std) -> list[dict]:
    """2,500 samples and the PacGAN numbers at every checkpoint of a run."""
    out = []
    for step in checkpoint_steps(run_dir):
        x = genzoo.load(run_dir, step=step).sample(N_SAMPLES, generator=torch.Generator().manual_seed(1))
        m = toy_metrics(x, centers, std)
        out.append({"step": step, "points": [[round(a, 3), round(b, 3)] for a, b in x[:1000].tolist()],
                    **{k: m[k] for k in ("modes_captured", "high_quality_percent", "reverse_kl")}})
    return out


def over_seeds(ctx: Context, variant: str, centers, std) -> dict:
    """Mean and standard error of the PacGAN numbers over seeds trained at once."""
    sets = _overrides(ctx, variant)
    cfg = resolve("gan-toy", overrides=sets)
    data = load_dataset("ring8", n_samples=cfg.data.n_samples).x
    seeds = [ctx.seed + i for i in range(2)]
    run = train_gan_seeds(cfg.model, data, seeds, cfg.train.steps, cfg.train.batch_size, n_samples=N_SAMPLES,
                          lr_decay=cfg.train.lr_decay, lr_final=cfg.train.lr_final, log_every=0)
    results = [toy_metrics(s, centers, std) for s in run.samples]
    return {"seeds": seeds, **aggregate_over_seeds(results)}


def measure(ctx: Context) -> Measured:
    centers, std = toy_modes("ring8")
    numbers = {"variants": {}}
    for variant in ctx.bar(VARIANTS, "variants"):
        run_dir = ctx.train("gan-toy", _overrides(ctx, variant))
        numbers["variants"][variant] = {"snapshots": snapshots(run_dir, centers, std),
                                        "seeds": over_seeds(ctx, variant, centers, std)}
    protocol = {"preset": "gan-toy", "data": "ring8 (8 Gaussians, radius 1, std 0.01)",
                "overrides": {v: _overrides(ctx, v) for v in VARIANTS},
                "metrics": "PacGAN protocol: 2,500 samples; high quality within 3 std of the nearest mode; "
                           "reverse KL of the mode histogram to uniform (nats)",
                "seeds": "snapshots: genzoo.train with train.seed; numbers: genzoo.training.multiseed"}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    v = {name: d["seeds"] for name, d in numbers["variants"].items()}
    kl = {name: s["reverse_kl"]["mean"] for name, s in v.items()}
    modes = {name: s["modes_captured"]["mean"] for name, s in v.items()}
    plain_collapses = modes["plain"] < 8 or kl["plain"] > KL_MARGIN
    remedies = [name for name in ("pacgan", "r1") if kl[name] < kl["plain"] - KL_MARGIN]
    return Verdict(plain_collapses and len(remedies) == 2,
                   f"the plain GAN misses modes (mean modes < 8 or reverse KL > {KL_MARGIN} nats) and each remedy "
                   f"(PacGAN, R1) lowers the mean reverse KL by more than {KL_MARGIN} nats",
                   "; ".join(f"{n}: {modes[n]:.1f} modes, KL {kl[n]:.2f}" for n in v)
                   + f" (mean over {len(v['plain']['seeds'])} seeds)")


def plot(numbers: dict, images: dict, path) -> None:
    variants = numbers["variants"]
    snaps = len(next(iter(variants.values()))["snapshots"])
    fig, axes = figure(snaps, CLAIM, check(numbers), nrows=len(variants), height=9.4, sharex=True, sharey=True)
    centers, _ = toy_modes("ring8")
    for row, (name, data) in zip(axes, variants.items()):
        for ax, snap in zip(row, data["snapshots"]):
            pts = torch.tensor(snap["points"])
            ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4, color="#1f77b4")
            ax.scatter(centers[:, 0], centers[:, 1], s=30, marker="x", color="#d62728")
            ax.set_title(f"{name}, step {snap['step']}\n{snap['modes_captured']}/8 modes, KL {snap['reverse_kl']:.2f}",
                         fontsize=10.5)
            ax.set(xlim=(-1.6, 1.6), ylim=(-1.6, 1.6))
            ax.set_aspect("equal")
        row[0].set_ylabel("x2")
    for ax in axes[-1]:
        ax.set_xlabel("x1")
    save_figure(fig, path)


CLAIM = ("A plain GAN collapses onto a few modes of the ring of 8 Gaussians; "
         "PacGAN packing and the R1 penalty recover the modes")
EXPERIMENT = Experiment("mode-collapse", CLAIM, "dlbook", "Mode Collapse Problem", measure, check, plot)
