"""The Gumbel-softmax temperature: near 0 the samples are one-hot and the gradient estimates noisy;
large temperatures give smooth, low-variance but biased estimates (Jang et al. 2017; Maddison et al. 2017).

y = softmax((l + g) / tau), g ~ Gumbel(0, 1) (genzoo.models.gsgan.gumbel_softmax), for fixed logits l
of K = 5 categories. Per temperature: how one-hot the samples are (the mean largest component),
and the reparameterized gradient d f(y) / d l of f(y) = sum_k c_k y_k, per sample by autograd:
its variance (summed over the K logits) and its bias against the exact gradient of the discrete
objective E_{k ~ softmax(l)} c_k, which is p_j (c_j - E c). The Gumbel-max trick itself,
argmax(l + g), must draw exactly softmax(l).
"""
from __future__ import annotations

import numpy as np
import torch

from ..nets.layers import gumbel_softmax
from .base import Context, Experiment, Measured, Verdict, figure, save_figure, spearman

PROBS = (0.5, 0.25, 0.15, 0.07, 0.03)
COSTS = (1.0, 2.0, 3.0, 4.0, 5.0)
TEMPERATURES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
TREND = -0.9          # Spearman of one-hotness and of gradient variance with the temperature: below this
MAX_TOL = 0.01        # Gumbel-max frequencies within this of softmax(l)


def measure(ctx: Context) -> Measured:
    n = ctx.pick(4000, 100_000)
    logits = torch.tensor(PROBS, dtype=torch.float64).log()
    c = torch.tensor(COSTS, dtype=torch.float64)
    p = torch.softmax(logits, 0)
    exact = p * (c - (p * c).sum())
    rows, examples = [], []
    for tau in ctx.bar(TEMPERATURES, "temperatures"):
        l = logits.expand(n, -1).clone().requires_grad_(True)
        y = gumbel_softmax(l, tau, generator=torch.Generator().manual_seed(ctx.seed))
        (grad,) = torch.autograd.grad((y * c).sum(), l)           # row i: sample i's gradient
        rows.append({"tau": tau, "max_component": float(y.detach().max(1).values.mean()),
                     "grad_variance": float(grad.var(0).sum()), "grad_bias": float((grad.mean(0) - exact).norm())})
        examples.append(y[0].tolist())
    g = torch.Generator().manual_seed(ctx.seed + 1)
    hard = gumbel_softmax(logits.expand(n, -1), 1.0, hard=True, generator=g).argmax(1)
    freq = torch.bincount(hard, minlength=len(PROBS)).double() / n
    numbers = {"rows": rows, "examples": examples, "gumbel_max_freq": freq.tolist(), "probs": p.tolist(),
               "gumbel_max_error": float((freq - p).abs().max()), "n": n, "exact_grad": exact.tolist()}
    protocol = {"logits": "log of " + str(PROBS), "f": f"sum_k c_k y_k, c = {COSTS}", "samples": n,
                "estimator": "genzoo.models.gsgan.gumbel_softmax, autograd per sample", "examples": "the same Gumbel "
                "noise at every temperature (seed)"}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    rows = numbers["rows"]
    taus = [r["tau"] for r in rows]
    sharp = spearman(taus, [r["max_component"] for r in rows])
    noisy = spearman(taus, [r["grad_variance"] for r in rows])
    biased = rows[-1]["grad_bias"] > rows[0]["grad_bias"]
    ok = sharp < TREND and noisy < TREND and biased and numbers["gumbel_max_error"] < MAX_TOL
    return Verdict(ok, f"the mean largest component and the gradient variance both fall with the temperature "
                       f"(Spearman < {TREND}), the bias is larger at the highest temperature than at the lowest, "
                       f"and argmax(l + g) draws softmax(l) within {MAX_TOL}",
                   f"tau {rows[0]['tau']:g}: largest component {rows[0]['max_component']:.2f}, gradient variance "
                   f"{rows[0]['grad_variance']:.3g}; tau {rows[-1]['tau']:g}: {rows[-1]['max_component']:.2f}, "
                   f"{rows[-1]['grad_variance']:.3g}; bias {rows[0]['grad_bias']:.3g} -> {rows[-1]['grad_bias']:.3g}; "
                   f"Spearman {sharp:.2f}, {noisy:.2f}; Gumbel-max error "
                   f"{numbers['gumbel_max_error']:.4f}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(3, CLAIM, check(numbers))
    rows = numbers["rows"]
    taus = [r["tau"] for r in rows]
    ax = axes[0][0]
    im = ax.imshow(np.asarray(numbers["examples"]), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set(yticks=range(len(taus)), yticklabels=[f"{t:g}" for t in taus], xticks=range(len(PROBS)),
           xlabel="category", ylabel="temperature tau", title="one sample, same noise")
    fig.colorbar(im, ax=ax, fraction=0.05)
    ax = axes[0][1]
    ax.plot(taus, [r["max_component"] for r in rows], "o-", color="#1f77b4")
    ax.set(xscale="log", ylim=(0, 1.02), xlabel="temperature tau", ylabel="mean largest component",
           title="how one-hot (1 = one-hot)")
    ax = axes[0][2]
    ax.plot(taus, [r["grad_variance"] for r in rows], "o-", color="#d62728", label="variance")
    ax.plot(taus, [r["grad_bias"] ** 2 for r in rows], "s--", color="#2ca02c", label="bias²")
    ax.set(xscale="log", yscale="log", xlabel="temperature tau", ylabel="per-sample gradient",
           title="gradient estimator")
    ax.legend()
    save_figure(fig, path)


CLAIM = ("Gumbel-softmax samples approach one-hot as the temperature falls, at the price of noisier gradients; "
         "high temperatures give smooth, low-variance but biased gradients")
EXPERIMENT = Experiment("gumbel-temperature", CLAIM, "notes", "Gumbel-Softmax GAN: Gumbel-Softmax distribution",
                        measure, check, plot)
