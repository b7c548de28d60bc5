"""In the unrolled-GAN paper's setting a plain GAN collapses onto one or two modes of the ring of 8
Gaussians at any moment and hops from mode to mode over training (Metz et al. 2017, figure 1);
the R1 penalty with a decaying learning rate covers the whole ring.

Two runs of the `gan-toy` preset on ring8 (8 Gaussians on the unit circle, std 0.01: Metz et
al.'s ring of radius 2 and std 0.02, halved), each trained by genzoo.train with checkpoints:
  metz   the paper's toy setting: G z (256-d N(0, I)) -> 128 -> 128 (ReLU) -> 2, D 2 -> 128 -> 1,
         batch 512, Adam (beta1 0.5) at 1e-3 for G and 1e-4 for D, constant rates, no penalty
  r1     the preset itself: PacGAN's nets, the R1 penalty (gamma 0.1), Adam 2e-3 decaying to 0
         over the second half, an EMA of G
At every checkpoint 2,500 samples are assigned to their nearest mode (within 3 std: PacGAN's high
quality); a mode is *covered* there when it holds at least a quarter of its fair share of the
samples (2,500 / 8 / 4 = 78). Covered over training: covered at one checkpoint at least.
"""
from __future__ import annotations

import torch

import genzoo

from ..data import toy_modes
from ..metrics import toy_metrics
from .base import Context, Experiment, Measured, Verdict, checkpoint_steps, figure, quiet_run_overrides, save_figure

ADAM = {"name": "adam", "betas": [0.5, 0.999]}
SETTINGS = {
    "metz": {"model.latent_dim": 256, "model.nets.hidden": [128, 128], "model.nets.d_hidden": [128],
             "model.penalty.kind": "none", "model.ema": 0.0, "train.lr_decay": 0.0, "train.batch_size": 512,
             "model.optim": {**ADAM, "lr": 1e-3}, "model.d_optim": {**ADAM, "lr": 1e-4}},
    "r1": {},
}
N_SAMPLES = 2500
SHARE = 0.25           # a covered mode holds at least this fraction of its fair share of the samples
AT_ONCE = 3            # metz: at most this many modes covered at any checkpoint of the second half
HOPS = 2               # metz: over training it covers at least this many more modes than at any one time
KL_MAX = 0.1           # r1: reverse KL of the mode histogram at the end (nats)
SNAPSHOTS = 8


def _overrides(ctx: Context, setting: str) -> dict:
    steps = ctx.steps(*{"metz": (1600, 8000), "r1": (800, 3000)}[setting])
    sets = quiet_run_overrides(steps, 100, ctx.seed, checkpoint_every=max(1, steps // SNAPSHOTS), keep=SNAPSHOTS)
    sets.update({"train.lr_decay": 0.5, **SETTINGS[setting]})
    return sets


def covered(counts: list[int], n: int) -> list[int]:
    """The modes (indices) that hold at least SHARE of their fair share of n samples."""
    need = SHARE * n / len(counts)
    return [i for i, c in enumerate(counts) if c >= need]


def snapshots(run_dir, centers, std) -> list[dict]:
    """At every checkpoint of a run: 1,000 of its 2,500 samples, the covered modes and the PacGAN numbers."""
    out = []
    for step in checkpoint_steps(run_dir):
        x = genzoo.load(run_dir, step=step).sample(N_SAMPLES, generator=torch.Generator().manual_seed(1))
        m = toy_metrics(x, centers, std)
        out.append({"step": step, "points": [[round(a, 3), round(b, 3)] for a, b in x[:1000].tolist()],
                    "covered": covered(m["mode_counts"], N_SAMPLES), "mode_counts": m["mode_counts"],
                    **{k: m[k] for k in ("modes_captured", "high_quality_percent", "reverse_kl")}})
    return out


def measure(ctx: Context) -> Measured:
    centers, std = toy_modes("ring8")
    numbers = {"settings": {}}
    for setting in ctx.bar(SETTINGS, "settings"):
        run_dir = ctx.train("gan-toy", _overrides(ctx, setting))
        numbers["settings"][setting] = {"snapshots": snapshots(run_dir, centers, std)}
    protocol = {"preset": "gan-toy", "data": "ring8 (8 Gaussians on the unit circle, std 0.01)",
                "overrides": {s: _overrides(ctx, s) for s in SETTINGS},
                "metz": "Metz et al. 2017 (arXiv:1611.02163), appendix A: nets, batch, Adam rates; ring scaled by 1/2",
                "covered": f"a mode holding >= {SHARE} x {N_SAMPLES} / 8 of {N_SAMPLES} samples within 3 std of it",
                "metrics": "PacGAN protocol: high quality within 3 std of the nearest mode; reverse KL of the "
                           "mode histogram to uniform (nats)"}
    return Measured(numbers, protocol)


def hopping(snaps: list[dict]) -> dict:
    """The most modes covered at one checkpoint of the second half, and the modes covered over all."""
    late = snaps[len(snaps) // 2:]
    return {"at_once": max(len(s["covered"]) for s in late),
            "over_training": len({i for s in snaps for i in s["covered"]})}


def check(numbers: dict) -> Verdict:
    metz = hopping(numbers["settings"]["metz"]["snapshots"])
    end = numbers["settings"]["r1"]["snapshots"][-1]
    collapses = metz["at_once"] <= AT_ONCE and metz["over_training"] >= metz["at_once"] + HOPS
    spreads = len(end["covered"]) == 8 and end["reverse_kl"] < KL_MAX
    return Verdict(collapses and spreads,
                   f"metz: at every checkpoint of the second half at most {AT_ONCE} of the 8 modes are covered, and "
                   f"over training at least {HOPS} more modes are covered than at any one of them (it hops); "
                   f"r1: at the end all 8 modes are covered and the reverse KL is below {KL_MAX} nats "
                   f"(covered: >= {SHARE} of a mode's fair share of the samples)",
                   f"metz: at most {metz['at_once']} modes at once in the second half, {metz['over_training']} "
                   f"over training; r1 at step {end['step']}: {len(end['covered'])} modes, reverse KL "
                   f"{end['reverse_kl']:.3f}")


def plot(numbers: dict, images: dict, path) -> None:
    settings = numbers["settings"]
    cols = max(len(d["snapshots"]) for d in settings.values())
    fig, axes = figure(cols, CLAIM, check(numbers), nrows=len(settings), height=6.2, sharex=True, sharey=True)
    centers, _ = toy_modes("ring8")
    for row, (name, data) in zip(axes, settings.items()):
        for ax in row[len(data["snapshots"]):]:
            ax.axis("off")
        for ax, snap in zip(row, data["snapshots"]):
            pts = torch.tensor(snap["points"])
            ax.scatter(pts[:, 0], pts[:, 1], s=2, alpha=0.4, color="#1f77b4")
            hit = [i for i in range(len(centers)) if i in snap["covered"]]
            ax.scatter(centers[:, 0], centers[:, 1], s=30, marker="x", color="0.6")
            ax.scatter(centers[hit, 0], centers[hit, 1], s=40, marker="x", color="#d62728")
            ax.set_title(f"{name} {snap['step']}\n{len(snap['covered'])}/8", fontsize=10)
            ax.set(xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), xticks=[], yticks=[])
            ax.set_aspect("equal")
    save_figure(fig, path)


CLAIM = ("In the unrolled-GAN paper's setting (Metz et al. 2017) a plain GAN covers few of the 8 modes at once "
         "and hops between them; with the R1 penalty and a decaying rate it covers all 8")
EXPERIMENT = Experiment("mode-collapse", CLAIM, "dlbook", "Mode Collapse Problem", measure, check, plot)
