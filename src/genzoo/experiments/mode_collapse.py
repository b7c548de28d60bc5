"""In the unrolled-GAN paper's setting a plain GAN sits on one mode of the ring of 8 Gaussians at a
time and hops from mode to mode over training (Metz et al. 2017, figure 1); PacGAN's packing
(Lin et al. 2018) covers the whole ring at once in the same setting.

Two runs of the `gan-toy` preset on ring8 (8 Gaussians on the unit circle, std 0.01: Metz et al.'s
ring of radius 2 and std 0.02, halved), each trained by genzoo.train with checkpoints:
  plain    Metz et al.'s toy setting (appendix A): G z (256-d N(0, I)) -> 128 -> 128 (ReLU) -> 2,
           D 2 -> 128 -> 1 (genzoo's MLP D: LeakyReLU 0.2, the paper: ReLU), the minimax loss, batch
           512, Adam 1e-4 (beta1 0.5) for both, constant rates, no penalty, no average of G;
           12,500 steps of one D and one G update (the paper's 25,000 alternating updates)
  pacgan   the same, with D judging 2 samples at once (model.pack=2)
At every checkpoint 2,500 samples are assigned to their nearest mode when they lie within 0.2 of it
(20 std; neighbouring modes are 0.77 apart); a mode is *covered* there when it holds at least a
quarter of its fair share of the samples (2,500 / 8 / 4 = 78). The samples of a hopping generator
sit near one mode but spread wider than PacGAN's 3-std quality radius, so coverage asks where the
mass is, not how sharp it is; the PacGAN numbers at 3 std are recorded beside it.
"""
from __future__ import annotations

import torch

import genzoo

from ..data import toy_modes
from ..metrics import toy_metrics
from .base import Context, Experiment, Measured, Verdict, checkpoint_steps, figure, quiet_run_overrides, save_figure

METZ = {"model.loss": "minimax", "model.latent_dim": 256, "model.nets.hidden": [128, 128],
        "model.nets.d_hidden": [128], "model.penalty.kind": "none", "model.ema": 0.0, "train.lr_decay": 0.0,
        "model.optim.lr": 1e-4, "model.optim.betas": [0.5, 0.999]}
VARIANTS = {"plain": METZ, "pacgan": {**METZ, "model.pack": 2}}
N_SAMPLES = 2500
RADIUS = 0.2           # a sample belongs to its nearest mode when it lies this close to it
SHARE = 0.25           # a covered mode holds at least this fraction of its fair share of the samples
AT_ONCE = 2            # plain: at most this many modes covered at any checkpoint of the second half
OVER_TRAINING = 4      # plain: at least this many modes covered at some checkpoint (it hops)
SHOWN = 8              # checkpoints drawn per run


def _overrides(ctx: Context, variant: str) -> dict:
    steps = ctx.steps(2000, 12500)
    every = max(1, steps // 20)
    sets = quiet_run_overrides(steps, 512, ctx.seed, checkpoint_every=every, keep=20)
    sets.update(VARIANTS[variant])
    if ctx.quick:
        sets["model.optim.lr"] = 1e-3
    return sets


def covered(x: torch.Tensor, centers: torch.Tensor) -> list[int]:
    """The modes that hold at least SHARE of their fair share of the samples x within RADIUS of them."""
    dist, nearest = torch.cdist(x.double(), centers.double()).min(dim=1)
    counts = torch.bincount(nearest[dist < RADIUS], minlength=len(centers))
    return [int(i) for i in torch.nonzero(counts >= SHARE * len(x) / len(centers)).flatten()]


def snapshots(run_dir, centers, std) -> list[dict]:
    """At every checkpoint of a run: the covered modes and the PacGAN numbers of 2,500 samples, and at the
    SHOWN checkpoints the figure draws, 1,000 of the samples."""
    steps = checkpoint_steps(run_dir)
    drawn = set(_shown(steps))
    out = []
    for step in steps:
        x = genzoo.load(run_dir, step=step).sample(N_SAMPLES, generator=torch.Generator().manual_seed(1))
        m = toy_metrics(x, centers, std)
        points = {"points": [[round(a, 3), round(b, 3)] for a, b in x[:1000].tolist()]} if step in drawn else {}
        out.append({"step": step, **points, "covered": covered(x, centers),
                    **{k: m[k] for k in ("modes_captured", "high_quality_percent", "reverse_kl")}})
    return out


def measure(ctx: Context) -> Measured:
    centers, std = toy_modes("ring8")
    numbers = {"variants": {}}
    for variant in ctx.bar(VARIANTS, "variants"):
        run_dir = ctx.train("gan-toy", _overrides(ctx, variant))
        numbers["variants"][variant] = {"snapshots": snapshots(run_dir, centers, std)}
    protocol = {"preset": "gan-toy", "data": "ring8 (8 Gaussians on the unit circle, std 0.01)",
                "overrides": {v: _overrides(ctx, v) for v in VARIANTS},
                "setting": "Metz et al. 2017 (arXiv:1611.02163), appendix A: nets, loss, batch, Adam; ring halved",
                "covered": f"a mode holding >= {SHARE} x {N_SAMPLES} / 8 of {N_SAMPLES} samples within {RADIUS} "
                           f"of it (nearest mode)",
                "pacgan numbers": "PacGAN protocol: high quality within 3 std of the nearest mode; reverse KL of "
                                  "the mode histogram to uniform (nats)"}
    return Measured(numbers, protocol)


def hopping(snaps: list[dict]) -> dict:
    """The most modes covered at one checkpoint of the second half, and the modes covered over all."""
    late = snaps[len(snaps) // 2:]
    return {"at_once": max(len(s["covered"]) for s in late),
            "over_training": len({i for s in snaps for i in s["covered"]})}


def check(numbers: dict) -> Verdict:
    plain = hopping(numbers["variants"]["plain"]["snapshots"])
    end = numbers["variants"]["pacgan"]["snapshots"][-1]
    hops = plain["at_once"] <= AT_ONCE and plain["over_training"] >= OVER_TRAINING
    return Verdict(hops and len(end["covered"]) == 8,
                   f"plain: at every checkpoint of the second half at most {AT_ONCE} of the 8 modes are covered, "
                   f"and at least {OVER_TRAINING} are covered at some checkpoint (it hops); pacgan: all 8 are "
                   f"covered at the end (covered: >= {SHARE} of a mode's fair share of the samples within "
                   f"{RADIUS} of it)",
                   f"plain: at most {plain['at_once']} covered at once in the second half, "
                   f"{plain['over_training']} over training; pacgan: {len(end['covered'])} covered at step {end['step']}")


def _shown(items: list) -> list:
    """SHOWN of a run's checkpoints (or their snapshots), spread over the run, the last included."""
    n = len(items)
    return [items[round((i + 1) * n / SHOWN) - 1] for i in range(min(SHOWN, n))]


def plot(numbers: dict, images: dict, path) -> None:
    variants = numbers["variants"]
    fig, axes = figure(SHOWN, CLAIM, check(numbers), nrows=len(variants), height=4.6, sharex=True, sharey=True)
    centers, _ = toy_modes("ring8")
    for row, (name, data) in zip(axes, variants.items()):
        shown = _shown(data["snapshots"])
        for ax in row[len(shown):]:
            ax.axis("off")
        for ax, snap in zip(row, shown):
            pts = torch.tensor(snap["points"])
            ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4, color="#1f77b4")
            ax.scatter(centers[:, 0], centers[:, 1], s=30, marker="x", color="0.6")
            hit = snap["covered"]
            ax.scatter(centers[hit, 0], centers[hit, 1], s=40, marker="x", color="#d62728")
            ax.set_title(f"{name} {snap['step']}\n{len(hit)}/8", fontsize=10)
            ax.set(xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), xticks=[], yticks=[])
            ax.set_aspect("equal")
    save_figure(fig, path)


CLAIM = ("In the unrolled-GAN paper's setting (Metz et al. 2017) a plain GAN covers one or two of the 8 modes at "
         "a time and hops between them; PacGAN's packing covers all 8 at once")
EXPERIMENT = Experiment("mode-collapse", CLAIM, "dlbook", "Mode Collapse Problem", measure, check, plot)
