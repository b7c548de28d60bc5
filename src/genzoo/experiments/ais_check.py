"""Annealed importance sampling estimates an RBM's partition function (Neal 2001; Salakhutdinov & Murray
2008), and its spread shrinks as the number of intermediate distributions grows.

An RBM small enough to enumerate (the `rbm` preset with 12 hidden units on the 8x8 digits) is
trained by genzoo.train; its exact log Z is computed by summing out the visible units over all 2^12
hidden states (genzoo.metrics.ais.exact_log_z_rbm). AIS from the data's base-rate model
(genzoo.metrics.ais.ais_log_z, M runs each) is repeated with independent random streams for each
number K of intermediate distributions: the error of the mean estimate and the spread (standard
deviation) of the estimates over the repeats.
"""
from __future__ import annotations

import numpy as np
import torch

import genzoo

from ..data import load_dataset
from ..metrics.ais import ais_log_z, exact_log_z_rbm
from .base import Context, Experiment, Measured, Verdict, figure, quiet_run_overrides, save_figure

HIDDEN = 12
ERROR_TOL = 0.1       # nats: the estimate with the most intermediate distributions is this close to exact log Z


def measure(ctx: Context) -> Measured:
    sets = {**quiet_run_overrides(ctx.steps(100, 2000), 100, ctx.seed), "data.name": "digits",
            "model.hidden": HIDDEN}
    rbm = genzoo.load(ctx.run_dir or ctx.train("rbm", sets))
    data = load_dataset("digits").x.float().div(255)
    exact = exact_log_z_rbm(rbm)
    counts = ctx.pick((10, 30, 100), (10, 30, 100, 300, 1000, 3000))
    repeats, runs = ctx.pick(3, 10), ctx.pick(20, 100)
    rows = []
    for k in ctx.bar(counts, "AIS"):
        est = [ais_log_z(rbm, data=data, betas=k, n_runs=runs, generator=torch.Generator().manual_seed(1000 * r + k))
               .log_z for r in range(repeats)]
        rows.append({"betas": k, "estimates": est, "mean_error": float(np.mean(est) - exact),
                     "spread": float(np.std(est, ddof=1))})
    numbers = {"exact_log_z": exact, "rows": rows, "repeats": repeats, "runs": runs,
               "visible": int(rbm.W.shape[0] if rbm.W.shape[1] == HIDDEN else rbm.W.shape[1]), "hidden": HIDDEN}
    protocol = {"preset": "rbm", "overrides": sets, "exact": "genzoo.metrics.ais.exact_log_z_rbm (enumeration)",
                "ais": f"genzoo.metrics.ais.ais_log_z, base-rate model of the digits, {runs} runs, "
                       f"default_betas spacing, {repeats} independent repeats per K"}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    rows = numbers["rows"]
    first, last = rows[0], rows[-1]
    ok = abs(last["mean_error"]) < ERROR_TOL and last["spread"] < first["spread"]
    return Verdict(ok, f"with the most intermediate distributions the mean AIS estimate is within {ERROR_TOL} nats of "
                       f"the exact log Z, and the spread over repeats is smaller than with the fewest",
                   f"exact log Z {numbers['exact_log_z']:.3f}; K={first['betas']}: error {first['mean_error']:+.3f}, "
                   f"spread {first['spread']:.3f}; K={last['betas']}: error {last['mean_error']:+.3f}, "
                   f"spread {last['spread']:.3f} nats")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    rows = numbers["rows"]
    k = [r["betas"] for r in rows]
    ax = axes[0][0]
    for r in rows:
        ax.scatter([r["betas"]] * len(r["estimates"]), r["estimates"], s=14, color="#1f77b4", alpha=0.6)
    ax.axhline(numbers["exact_log_z"], color="k", ls="--", label="exact (enumeration)")
    ax.set(xscale="log", xlabel="intermediate distributions K", ylabel="log Z estimate (nats)",
           title=f"AIS, {numbers['repeats']} repeats x {numbers['runs']} runs")
    ax.legend()
    ax = axes[0][1]
    ax.plot(k, [r["spread"] for r in rows], "o-", color="#d62728", label="spread (std over repeats)")
    ax.plot(k, [abs(r["mean_error"]) for r in rows], "s--", color="#2ca02c", label="|mean error|")
    ax.axhline(ERROR_TOL, color="0.5", ls=":", label=f"tolerance {ERROR_TOL}")
    ax.set(xscale="log", yscale="log", xlabel="intermediate distributions K", ylabel="nats",
           title=f"RBM {numbers['visible']} x {numbers['hidden']}")
    ax.legend()
    save_figure(fig, path)


CLAIM = ("Annealed importance sampling recovers an RBM's log partition function; "
         "more intermediate distributions shrink its spread")
EXPERIMENT = Experiment("ais-check", CLAIM, "dlbook", "The partition function of Boltzmann machines",
                        measure, check, plot,
                        uses_run="an RBM run small enough to enumerate (<= 26 units on one side)")
