"""One-sided label smoothing keeps the discriminator from saturating on real data (Salimans et al.
2016, "Improved techniques for training GANs", section 3.4). With real targets a = 0.9 instead of
1 in D's cross-entropy, the best discriminator for a fixed generator is

    D*(x) = a p_data(x) / (p_data(x) + p_g(x))

(set the derivative of a p_data log D + (1 - a) p_data log(1 - D) + p_g log(1 - D) to zero), so
where the generator puts no mass D* = a = 0.9: D stops at 0.9, its logit at log 9, instead of
rising towards 1 (logit towards infinity) as it does with target 1. Fakes keep target 0 (smoothing
them too would put D* = b where p_data is 0 and reward fakes that sit far from the data).

The setting of starved-generator: genzoo's MLP generator (2-d noise -> 128 -> 128 -> 2) fixed at its
initialization, whose samples lie near the origin, off the ring of 8 Gaussians (radius 1, std
0.01); genzoo's MLP discriminator (2 -> 128 -> 128 -> 1) trained from the same initialization with
real target 1 and with 0.9 (genzoo.losses.d_loss_minimax's real_target), Adam lr 1e-3, batch 256.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..data import load_dataset, toy_modes
from ..losses import d_loss_minimax
from ..nets.mlp import MLPDiscriminator, MLPGenerator
from .base import Context, Experiment, Measured, Verdict, figure, save_figure

PLAIN, SMOOTH = "target 1 (no smoothing)", "target 0.9 (one-sided smoothing)"
TARGETS = {PLAIN: 1.0, SMOOTH: 0.9}
SMOOTH_TOL = 0.03    # smoothed: mean D on real points within this of 0.9 (D* where p_g is 0)
SATURATED = 0.97     # unsmoothed: mean D on real points at least this
FAKE_MAX = 0.05      # both: mean D on the generator's points at most this
BATCH, PROBE = 256, 2048
OFF_RING = 0.1       # a fake point closer than this to a mode centre counts as on the data


def train_discriminator(G, real: torch.Tensor, target: float, steps: int, seed: int, probes, bar) -> list[dict]:
    """Train a fresh MLP discriminator (initialized from `seed`) against the fixed G; return the mean D on
    the probe real and fake points, and the median logit on the real ones, at log-spaced steps."""
    torch.manual_seed(seed)
    D = MLPDiscriminator(2, (128, 128))
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(seed + 1)
    at = sorted({0, steps} | {int(round(s)) for s in np.logspace(0, np.log10(steps), 13)})
    probe_real, probe_fake = probes
    rows = []
    for step in bar(range(steps + 1)):
        if step in at:
            with torch.no_grad():
                rows.append({"step": step, "d_real": float(torch.sigmoid(D(probe_real)).mean()),
                             "d_fake": float(torch.sigmoid(D(probe_fake)).mean()),
                             "logit_real": float(D(probe_real).median())})
        if step == steps:
            break
        x = real[torch.randint(len(real), (BATCH,), generator=g)]
        with torch.no_grad():
            fake = G(torch.randn(BATCH, 2, generator=g))
        loss = d_loss_minimax(D(x), D(fake), real_target=target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return rows


def measure(ctx: Context) -> Measured:
    torch.manual_seed(ctx.seed)
    G = MLPGenerator(2, (2,), (128, 128))
    real = load_dataset("ring8", n_samples=10000, seed=ctx.seed).x.float()
    g = torch.Generator().manual_seed(ctx.seed)
    with torch.no_grad():
        probes = (real[torch.randperm(len(real), generator=g)[:PROBE]], G(torch.randn(PROBE, 2, generator=g)))
    centres, _ = toy_modes("ring8")
    on_data = float((torch.cdist(probes[1], centres).min(1).values < OFF_RING).float().mean())
    steps = ctx.steps(1000, 5000)
    runs = {name: train_discriminator(G, real, target, steps, ctx.seed, probes,
                                      lambda it: ctx.bar(it, name, total=steps + 1))
            for name, target in TARGETS.items()}
    protocol = {"generator": "genzoo MLPGenerator 2 -> 128 -> 128 -> 2 (ReLU), fixed at initialization",
                "discriminator": "genzoo MLPDiscriminator 2 -> 128 -> 128 -> 1 (LeakyReLU 0.2), the same "
                                 "initialization for both targets", "data": "ring8, 10,000 points",
                "loss": "genzoo.losses.d_loss_minimax with real_target 1 or 0.9 (fakes: target 0)",
                "optimizer": "Adam lr 1e-3, betas (0.5, 0.999)", "batch": BATCH,
                "probes": f"{PROBE} real points and {PROBE} fixed generator samples"}
    numbers = {"steps": steps, "runs": runs, "fakes_on_data": on_data}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    smooth, plain = numbers["runs"][SMOOTH][-1], numbers["runs"][PLAIN][-1]
    ok = (abs(smooth["d_real"] - 0.9) <= SMOOTH_TOL and plain["d_real"] >= SATURATED
          and max(smooth["d_fake"], plain["d_fake"]) <= FAKE_MAX and numbers["fakes_on_data"] == 0)
    return Verdict(bool(ok), f"with the generator's samples off the data (none within {OFF_RING} of a mode), after "
                             f"{numbers['steps']} steps the mean D on real points is within {SMOOTH_TOL} of 0.9 "
                             f"with target 0.9 and at least {SATURATED} with target 1, and the mean D on the "
                             f"generator's points is at most {FAKE_MAX} with both",
                   f"mean D(real): {smooth['d_real']:.3f} with target 0.9 (median logit {smooth['logit_real']:.2f}, "
                   f"log 9 = {math.log(9):.2f}), {plain['d_real']:.4f} with target 1 (median logit "
                   f"{plain['logit_real']:.2f}); mean D(fake): {smooth['d_fake']:.3f} and {plain['d_fake']:.3f}; "
                   f"fakes on the data: {numbers['fakes_on_data']:.0%}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    colors = ("#d62728", "#1f77b4")
    ax = axes[0][0]
    for (name, rows), color in zip(numbers["runs"].items(), colors):
        steps = [max(r["step"], 0.5) for r in rows]
        ax.plot(steps, [r["d_real"] for r in rows], "o-", color=color, label=f"D(real), {name}")
        ax.plot(steps, [r["d_fake"] for r in rows], "s:", color=color, label="D(fake)")
    ax.axhline(0.9, color="0.5", ls="--")
    ax.set(xscale="log", ylim=(-0.02, 1.02), xlabel="discriminator steps on the fixed generator",
           ylabel="mean D", title="D on real and on generated points")
    ax.legend(loc="center right", fontsize=9)
    ax = axes[0][1]
    for (name, rows), color in zip(numbers["runs"].items(), colors):
        ax.plot([max(r["step"], 0.5) for r in rows], [r["logit_real"] for r in rows], "o-", color=color, label=name)
    ax.axhline(math.log(9), color="0.5", ls="--", label="log 9: the logit of D* = 0.9")
    ax.set(xscale="log", xlabel="discriminator steps on the fixed generator", ylabel="median logit of D on real points",
           title="saturation: the logit on real data")
    ax.legend()
    save_figure(fig, path)


CLAIM = ("With one-sided label smoothing (real targets 0.9) the discriminator's output on real data settles at "
         "0.9 p_data / (p_data + p_g) instead of saturating at 1; fakes are still rejected")
EXPERIMENT = Experiment("label-smoothing", CLAIM, "nnml", "A bag of tricks from F. Chollet (noisy labels)",
                        measure, check, plot)
