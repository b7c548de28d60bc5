"""Contrastive divergence is biased (Carreira-Perpinan & Hinton 2005): the expected CD-k update is not
the log-likelihood gradient; the bias shrinks as k grows, and it is largest when the chain mixes
slowly.

Two RBMs of 8 visible and 6 hidden units (genzoo's RBMLayer; weights N(0, s^2), centred biases;
s = 0.5 and s = 3) are fitted to the same 200 binary vectors (drawn exactly from a third RBM).
Everything is enumerated (experiments.tiny_rbm): the exact gradient of the mean log-likelihood,
<stats>_data - <stats>_model, and the expected CD-k update, <stats>_data - <stats>_{data T^k}
(the chains start at the data, as CD's do). The bias is |E[CD-k] - exact| / |exact| over all of
W, b and c. The library's own CD-1 update (the gradient of RBMLayer.cd_loss after
RBMLayer.gibbs) is averaged over many chains and compared with the exact expectation.
"""
from __future__ import annotations

import numpy as np
import torch

from .base import Context, Experiment, Measured, Verdict, figure, save_figure
from .tiny_rbm import Enumerated, describe_rbm, random_rbm

N_VISIBLE, N_HIDDEN, N_DATA = 8, 6, 200
RBMS = {"weak weights (s = 0.5)": 0.5, "strong weights (s = 3)": 3.0}
KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
CD1_MIN, RATIO_MIN = 0.3, 5.0   # the strong RBM's CD-1 bias exceeds CD1_MIN and RATIO_MIN x the weak one's
FAR_TOL = 0.01                  # every RBM's bias at the largest k is below this
SAMPLED_TOL = 0.05              # the library's averaged CD-1 update is this close (relative) to its expectation


def data_distribution(seed: int) -> torch.Tensor:
    """The empirical distribution of N_DATA vectors drawn exactly from a teacher RBM (s = 3)."""
    teacher = Enumerated(random_rbm(N_VISIBLE, N_HIDDEN, 3.0, seed + 99))
    idx = torch.multinomial(teacher.p, N_DATA, replacement=True, generator=torch.Generator().manual_seed(seed))
    return torch.bincount(idx, minlength=len(teacher.v)).double() / N_DATA


def cd_biases(exact: Enumerated, p_data: torch.Tensor) -> tuple[list[float], torch.Tensor]:
    """|E[CD-k] - exact| / |exact| for k in KS, and the expected CD-1 update."""
    positive = p_data @ exact.stats
    true = positive - exact.p @ exact.stats
    q, biases, cd1 = p_data, [], None
    for k in range(1, KS[-1] + 1):
        q = q @ exact.T
        if k in KS:
            update = positive - q @ exact.stats
            biases.append(float((update - true).norm() / true.norm()))
            cd1 = update if k == 1 else cd1
    return biases, cd1


def sampled_cd1(exact: Enumerated, p_data: torch.Tensor, repeats: int, seed: int) -> torch.Tensor:
    """The library's CD-1 update, -grad of RBMLayer.cd_loss, averaged over `repeats` chains per data vector."""
    rbm = exact.rbm
    data = exact.v[torch.repeat_interleave(torch.arange(len(exact.v)), (p_data * N_DATA).round().long())]
    data = data.repeat(repeats, 1)
    with torch.no_grad():
        model = rbm.gibbs(data, 1, generator=torch.Generator().manual_seed(seed))[0]
    rbm.zero_grad()
    rbm.cd_loss(data, model).backward()
    return -torch.cat([rbm.W.grad.flatten(), rbm.b.grad, rbm.c.grad])


def measure(ctx: Context) -> Measured:
    p_data = data_distribution(ctx.seed)
    repeats = 250   # quick = full: a fraction of a second (with 100, the quick error came to 0.038 of 0.05)
    rows = {}
    for name, std in ctx.bar(RBMS.items(), "RBMs"):
        exact = Enumerated(random_rbm(N_VISIBLE, N_HIDDEN, std, ctx.seed))
        biases, cd1 = cd_biases(exact, p_data)
        sampled = sampled_cd1(exact, p_data, repeats, ctx.seed + 1)
        rows[name] = {"weight_std": std, "bias": biases, "lambda2": exact.second_eigenvalue(),
                      "sampled_cd1_error": float((sampled - cd1).norm() / cd1.norm())}
    numbers = {"ks": list(KS), "rbms": rows, "chains_per_vector": repeats, "n_data": N_DATA}
    protocol = {"rbm": describe_rbm(N_VISIBLE, N_HIDDEN, ctx.seed),
                "data": f"{N_DATA} vectors drawn exactly from a teacher RBM (s = 3, seed {ctx.seed + 99})",
                "exact": "enumeration: gradient <stats>_data - <stats>_model; E[CD-k] = <stats>_data - "
                         "<stats>_{data T^k}; stats = (v p(h|v)^T, v, p(h|v))",
                "sampled": f"RBMLayer.gibbs (k = 1) and the gradient of RBMLayer.cd_loss, {repeats} chains "
                           "per data vector"}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    weak, strong = numbers["rbms"].values()
    falls = all(bool(np.all(np.diff(r["bias"]) <= 1e-12)) for r in (weak, strong))
    far = max(r["bias"][-1] for r in (weak, strong))
    sampled = max(r["sampled_cd1_error"] for r in (weak, strong))
    ok = (falls and strong["bias"][0] > CD1_MIN and strong["bias"][0] > RATIO_MIN * weak["bias"][0]
          and far < FAR_TOL and sampled < SAMPLED_TOL)
    k = numbers["ks"]
    return Verdict(ok, f"the relative bias of E[CD-k] falls as k grows and is below {FAR_TOL} at k = {k[-1]}; the "
                       f"strong RBM's CD-1 bias exceeds {CD1_MIN} and {RATIO_MIN:g}x the weak one's; genzoo's "
                       f"averaged CD-1 update is within {SAMPLED_TOL} (relative) of its exact expectation",
                   f"CD-1 bias: weak {weak['bias'][0]:.3f}, strong {strong['bias'][0]:.3f}; CD-{k[3]}: weak "
                   f"{weak['bias'][3]:.1e}, strong {strong['bias'][3]:.3f}; CD-{k[-1]}: largest {far:.1e}; "
                   f"sampled CD-1 off by {sampled:.3f}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    ax = axes[0][0]
    for (name, r), color in zip(numbers["rbms"].items(), ("#1f77b4", "#d62728")):
        ax.plot(numbers["ks"], np.maximum(r["bias"], 1e-16), "o-", color=color, label=name)
    ax.axhline(FAR_TOL, color="0.5", ls="--", lw=1, label=f"{FAR_TOL}")
    ax.set(xscale="log", yscale="log", ylim=(1e-8, 2), xlabel="Gibbs steps k of CD-k",
           ylabel="|E[CD-k] - grad log L| / |grad log L|", title="bias of CD-k (exact, by enumeration)")
    ax.legend(fontsize=9.5)
    ax = axes[0][1]
    names = list(numbers["rbms"])
    cd1 = [numbers["rbms"][n]["bias"][0] for n in names]
    noise = [numbers["rbms"][n]["sampled_cd1_error"] for n in names]
    x = np.arange(len(names))
    ax.bar(x - 0.2, cd1, 0.4, color="#9467bd", label="CD-1 bias (exact)")
    ax.bar(x + 0.2, noise, 0.4, color="#2ca02c", label="genzoo's sampled CD-1 vs its expectation")
    ax.set(xticks=x, xticklabels=names, ylabel="relative difference",
           title=f"{numbers['chains_per_vector']} chains per data vector")
    ax.legend(fontsize=9.5)
    save_figure(fig, path)


CLAIM = ("Contrastive divergence CD-k does not follow the log-likelihood gradient: its bias falls as k grows "
         "and is largest when the chain mixes slowly")
EXPERIMENT = Experiment("cd-k-bias", CLAIM, "dlbook", "DBM Parameter Learning: k Gibbs steps", measure, check, plot)
