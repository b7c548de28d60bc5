"""The minimax generator cost log(1 - D(G(z))) saturates when D rejects the fakes; -log D(G(z)) does not.

Part 1, the costs themselves: dJ/dl of genzoo's g_loss_minimax and g_loss_non_saturating at D's
logit l, by autograd, as D(G(z)) = sigmoid(l) goes to 0: -sigmoid(l) against -(1 - sigmoid(l)).
Part 2, training: the `gan` preset (Goodfellow et al.'s MLPs) trained twice from the same seed, once
per generator cost. At every checkpoint: D(G(z)), the norm of the generator's parameter gradient
of its own cost, and the Fréchet distance of its samples (genzoo's classifier features).
"""
from __future__ import annotations

import numpy as np
import torch

import genzoo

from ..losses import g_loss_minimax, g_loss_non_saturating
from .base import (Context, Experiment, ImageScorer, Measured, Verdict, checkpoint_steps, figure, gan_overrides,
                   save_figure)

COSTS = {"minimax": g_loss_minimax, "non-saturating": g_loss_non_saturating}
CONFIDENT = 0.01        # part 1: the costs' slopes at D(G(z)) = 0.01
STALL_RATIO = 1.1       # part 2: the minimax run's mean FD over the first half must exceed the other's by 10%


def slopes() -> dict:
    """|dJ/dl| of both costs at logits l from -8 to 4 (one fake each)."""
    logits = torch.linspace(-8, 4, 121, dtype=torch.float64)
    out = {"d_of_fake": torch.sigmoid(logits).tolist()}
    for name, cost in COSTS.items():
        l = logits.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(cost(l) * len(l), l)   # the mean's slope, per fake
        out[name] = grad.abs().tolist()
    return out


def probe_checkpoint(run_dir, step: int, scorer: ImageScorer, seed: int) -> dict:
    """D(G(z)), both costs' generator-gradient norms and the FD of the model at one checkpoint."""
    model = genzoo.load(run_dir, step=step)
    z = model.prior(256, generator=torch.Generator().manual_seed(seed))
    logits = model.discriminate(model.to_net(model.generate(z)))
    params = list(model.G.parameters())
    norms = {}
    for name, cost in COSTS.items():
        grads = torch.autograd.grad(cost(logits), params, retain_graph=True)
        norms[name] = float(torch.sqrt(sum(g.pow(2).sum() for g in grads)))
    with torch.no_grad():
        images = model.sample(scorer.n, generator=torch.Generator().manual_seed(seed + 1))
    return {"step": step, "d_of_fake": float(torch.sigmoid(logits.detach()).mean()), "grad_norm": norms,
            "fd": scorer.fd(images)}


def measure(ctx: Context) -> Measured:
    scorer = ImageScorer(ctx.pick("digits", "mnist5k"), ctx.pick(200, 1000))
    runs = {}
    for loss in ctx.bar(COSTS, "runs"):
        run_dir = ctx.train("gan", gan_overrides(ctx, loss))
        runs[loss] = [probe_checkpoint(run_dir, s, scorer, ctx.seed) for s in checkpoint_steps(run_dir)]
    numbers = {"slopes": slopes(), "runs": runs}
    protocol = {"preset": "gan", "overrides": {loss: gan_overrides(ctx, loss) for loss in COSTS},
                "same seed": ctx.seed, "gradient": "||grad_theta_G J(G)|| on 256 z, D in eval mode",
                **scorer.protocol()}
    return Measured(numbers, protocol)


def early(runs: list[dict]) -> list[dict]:
    """The checkpoints of the first half of a run."""
    return runs[:max(1, len(runs) // 2)]


def check(numbers: dict) -> Verdict:
    s = numbers["slopes"]
    i = int(np.argmin(np.abs(np.asarray(s["d_of_fake"]) - CONFIDENT)))
    saturates = s["minimax"][i] < 2 * CONFIDENT and s["non-saturating"][i] > 1 - 2 * CONFIDENT
    fd = {name: float(np.mean([r["fd"] for r in early(runs)])) for name, runs in numbers["runs"].items()}
    stalls = fd["minimax"] > STALL_RATIO * fd["non-saturating"]
    last = {name: runs[-1] for name, runs in numbers["runs"].items()}
    return Verdict(saturates and stalls,
                   f"at D(G(z)) = {CONFIDENT}: |dJ/dl| < {2 * CONFIDENT} for the minimax cost and "
                   f"> {1 - 2 * CONFIDENT} "
                   f"for the non-saturating one; and over the first half of training the minimax run's mean FD "
                   f"exceeds the non-saturating run's by more than {STALL_RATIO}x",
                   f"slopes at D(G(z))={s['d_of_fake'][i]:.3f}: minimax {s['minimax'][i]:.3f}, non-saturating "
                   f"{s['non-saturating'][i]:.3f}; first-half mean FD minimax {fd['minimax']:.0f} vs non-saturating "
                   f"{fd['non-saturating']:.0f}; at step {last['minimax']['step']} {last['minimax']['fd']:.0f} vs "
                   f"{last['non-saturating']['fd']:.0f}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(3, CLAIM, check(numbers))
    colors = {"minimax": "#d62728", "non-saturating": "#1f77b4"}
    ax = axes[0][0]
    for name in COSTS:
        ax.plot(numbers["slopes"]["d_of_fake"], numbers["slopes"][name], color=colors[name], lw=2, label=name)
    ax.set(xscale="log", title="the costs' slopes", xlabel="D(G(z))  (0: D rejects the fake)",
           ylabel="|dJ(G) / d logit|")
    ax.legend()
    for name, runs in numbers["runs"].items():
        steps = [r["step"] for r in runs]
        axes[0][1].plot(steps, [r["grad_norm"][name] for r in runs], "o-", color=colors[name], label=f"{name} run")
        axes[0][2].plot(steps, [r["fd"] for r in runs], "o-", color=colors[name], label=f"{name} run")
    axes[0][1].set(yscale="log", title="generator gradient", xlabel="training step", ylabel="||grad_G J(G)||")
    half = early(numbers["runs"]["minimax"])[-1]["step"]
    axes[0][2].axvspan(0, half, color="0.92", label="first half (judged)")
    axes[0][2].set(title="sample quality", xlabel="training step", ylabel="Fréchet distance (lower: better)")
    for ax in axes[0][1:]:
        ax.legend()
    save_figure(fig, path)


CLAIM = ("The minimax generator cost log(1 - D(G(z))) saturates when D rejects the fakes and its run stalls; "
         "the non-saturating cost -log D(G(z)) keeps learning")
EXPERIMENT = Experiment("saturation", CLAIM, "notes", "BCE loss saturation", measure, check, plot,
                        uses_run="")
