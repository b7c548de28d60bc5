"""Block Gibbs sampling of an RBM converges to the model's distribution, and how fast depends on the
model: sharp modes (strong weights) make a chain mix orders of magnitude more slowly.

Two RBMs of 8 visible and 6 hidden units (genzoo's RBMLayer; weights N(0, s^2), centred biases),
one with weak weights (s = 1) and one with strong weights (s = 4). Both are small enough to
enumerate (experiments.tiny_rbm): the chain's distribution after t steps from v = 0 is exactly
q_t = q_0 T^t, and its total variation distance to p(v) is computed for every t. The library's
own sampler (RBMLayer.gibbs, 20,000 chains) is run beside the exact computation at a few t, and
its unit means are compared with those of q_t.
"""
from __future__ import annotations

import numpy as np
import torch

from .base import Context, Experiment, Measured, Verdict, figure, save_figure
from .tiny_rbm import Enumerated, describe_rbm, random_rbm, total_variation

N_VISIBLE, N_HIDDEN = 8, 6
RBMS = {"weak weights (s = 1)": 1.0, "strong weights (s = 4)": 4.0}
FAST_STEPS, FAST_TV = 50, 0.01     # the weak RBM's chain is within FAST_TV of p(v) after FAST_STEPS steps
SLOW_STEPS, SLOW_TV = 200, 0.1     # the strong RBM's chain is still farther than SLOW_TV after SLOW_STEPS
MEAN_TOL = 0.02                    # library chains: every unit's mean within this of the exact q_t's
CHECK_AT = (1, 10, 100)


def _chain(exact: Enumerated, steps: int) -> tuple[list[float], dict]:
    """TV(q_t, p) for t = 0..steps, and q_t at the steps where the sampler is compared."""
    q = torch.zeros(len(exact.v), dtype=torch.float64)
    q[0] = 1.0                                            # every chain starts at v = 0
    tv, qs = [], {}
    for t in range(steps + 1):
        tv.append(total_variation(q, exact.p))
        if t in CHECK_AT:
            qs[t] = q
        q = q @ exact.T
    return tv, qs


def _sampled_means(exact: Enumerated, chains: int, seed: int) -> dict:
    """The unit means of RBMLayer.gibbs chains from v = 0 after each of CHECK_AT steps."""
    g = torch.Generator().manual_seed(seed)
    v = torch.zeros(chains, N_VISIBLE, dtype=torch.float64)
    means, done = {}, 0
    with torch.no_grad():
        for t in CHECK_AT:
            v = exact.rbm.gibbs(v, t - done, generator=g)[0]
            done = t
            means[t] = v.mean(0)
    return means


def measure(ctx: Context) -> Measured:
    steps, chains = ctx.pick(1000, 2000), 20000
    rows = {}
    for name, std in ctx.bar(RBMS.items(), "RBMs"):
        exact = Enumerated(random_rbm(N_VISIBLE, N_HIDDEN, std, ctx.seed))
        tv, qs = _chain(exact, steps)
        sampled = _sampled_means(exact, chains, ctx.seed + 1)
        gap = {t: float((sampled[t] - qs[t] @ exact.v).abs().max()) for t in CHECK_AT}
        rows[name] = {"weight_std": std, "tv": tv, "lambda2": exact.second_eigenvalue(),
                      "sampler_mean_gap": {str(t): g for t, g in gap.items()},
                      "steps_to_fast_tv": next((t for t, d in enumerate(tv) if d < FAST_TV), None)}
    numbers = {"rbms": rows, "steps": steps, "chains": chains}
    protocol = {"rbm": describe_rbm(N_VISIBLE, N_HIDDEN, ctx.seed),
                "exact": "enumeration of 2^8 visible and 2^6 hidden states; q_t = q_0 T^t from v = 0",
                "sampler": f"RBMLayer.gibbs, {chains} chains from v = 0, compared at steps {list(CHECK_AT)}"}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    weak, strong = numbers["rbms"].values()
    shrinks = all(bool(np.all(np.diff(r["tv"]) <= 1e-12)) for r in (weak, strong))
    gap = max(g for r in (weak, strong) for g in r["sampler_mean_gap"].values())
    ok = (shrinks and weak["tv"][FAST_STEPS] < FAST_TV and strong["tv"][SLOW_STEPS] > SLOW_TV
          and gap < MEAN_TOL)
    return Verdict(ok, f"the total variation distance of the chain to p(v) never grows; the weak RBM's chain is "
                       f"within {FAST_TV} after {FAST_STEPS} steps, the strong RBM's is still farther than {SLOW_TV} "
                       f"after {SLOW_STEPS}; genzoo's sampler matches the exact chain (unit means within {MEAN_TOL})",
                   f"TV after {FAST_STEPS} steps: weak {weak['tv'][FAST_STEPS]:.1e}, strong "
                   f"{strong['tv'][FAST_STEPS]:.3f}; after {SLOW_STEPS}: strong {strong['tv'][SLOW_STEPS]:.3f}; "
                   f"|lambda_2| weak {weak['lambda2']:.3f}, strong {strong['lambda2']:.4f}; "
                   f"largest sampler gap {gap:.4f}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    ax = axes[0][0]
    for (name, r), color in zip(numbers["rbms"].items(), ("#1f77b4", "#d62728")):
        t = np.arange(len(r["tv"]))
        ax.plot(t[1:], np.maximum(r["tv"][1:], 1e-16), color=color, lw=2, label=name)
        last = max(i for i, d in enumerate(r["tv"]) if d > 1e-12)   # the rate's line through the last visible point
        ax.plot(t[1:], r["tv"][last] * r["lambda2"] ** (t[1:] - float(last)), color=color, ls=":", lw=1,
                label=f"|lambda_2|^t = {r['lambda2']:.3f}^t")
    ax.axhline(FAST_TV, color="0.5", ls="--", lw=1)
    ax.set(xscale="log", yscale="log", ylim=(1e-6, 1.5), xlabel="Gibbs steps t",
           ylabel="TV(q_t, p)", title="distance of the chain to the model")
    ax.legend(fontsize=9.5, loc="lower left")
    ax = axes[0][1]
    names = list(numbers["rbms"])
    x = np.arange(len(CHECK_AT))
    for i, (name, color) in enumerate(zip(names, ("#1f77b4", "#d62728"))):
        gaps = [numbers["rbms"][name]["sampler_mean_gap"][str(t)] for t in CHECK_AT]
        ax.bar(x + (i - 0.5) * 0.35, gaps, 0.35, color=color, label=name)
    ax.axhline(MEAN_TOL, color="0.5", ls="--", label=f"tolerance {MEAN_TOL}")
    ax.set(xticks=x, xticklabels=[f"t = {t}" for t in CHECK_AT], ylabel="max |mean sampled - mean exact|",
           title=f"RBMLayer.gibbs, {numbers['chains']:,} chains, vs exact q_t")
    ax.legend(fontsize=9.5)
    save_figure(fig, path)


CLAIM = ("Gibbs sampling of an RBM converges to the model's distribution; with sharp modes (strong weights) "
         "the chain mixes orders of magnitude more slowly")
EXPERIMENT = Experiment("gibbs-mixing", CLAIM, "dlbook", "Deep Boltzmann Machines (DBM): block Gibbs sampling",
                        measure, check, plot)
