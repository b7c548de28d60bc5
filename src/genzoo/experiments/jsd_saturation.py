"""When the two distributions stop overlapping, the Jensen-Shannon divergence is stuck at log 2 and
its gradient with respect to the generator vanishes, while the Earth mover's (Wasserstein-1)
distance keeps growing with the distance between them (Arjovsky et al. 2017, example 1).

p_data = N(0, s^2) and p_g = N(theta, s^2) on the line, s = 0.1, for theta from 0 to 3. Both
distances and their derivatives d/dtheta are computed with torch autograd, as a generator's
gradient would be: JSD by the trapezoidal rule on a fine grid, W1 = int |F_data(x) - F_g(x)| dx
(the one-dimensional formula, with the normal CDFs).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .base import Context, Experiment, Measured, Verdict, figure, save_figure

STD = 0.1
APART = 1.5            # from this shift on (15 std) the densities are apart
FLAT_TOL = 1e-6        # apart: |JSD - log 2| and |dJSD/dtheta| below this
W_TOL = 1e-3           # everywhere: |W1 - theta| and |dW1/dtheta - 1| below this
OVERLAP, OVERLAP_GAP = 0.1, 0.1   # overlapping (theta <= 0.1): JSD below log 2 by more than 0.1 nats


def distances(theta: float, x: torch.Tensor) -> dict:
    """JSD and W1 of N(0, s^2) and N(theta, s^2), each with its derivative in theta (autograd)."""
    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    log_p = -0.5 * (x / STD) ** 2 - math.log(STD * math.sqrt(2 * math.pi))
    log_q = -0.5 * ((x - t) / STD) ** 2 - math.log(STD * math.sqrt(2 * math.pi))
    log_m = torch.logaddexp(log_p, log_q) - math.log(2)
    jsd = 0.5 * torch.trapezoid(log_p.exp() * (log_p - log_m) + log_q.exp() * (log_q - log_m), x)
    w1 = torch.trapezoid((torch.special.ndtr(x / STD) - torch.special.ndtr((x - t) / STD)).abs(), x)
    d_jsd, d_w1 = (float(torch.autograd.grad(v, t, retain_graph=True)[0]) for v in (jsd, w1))
    return {"theta": theta, "jsd": float(jsd.detach()), "w1": float(w1.detach()), "d_jsd": d_jsd, "d_w1": d_w1}


def measure(ctx: Context) -> Measured:
    x = torch.linspace(-2.0, 5.0, ctx.pick(20001, 70001), dtype=torch.float64)
    rows = [distances(float(th), x) for th in ctx.bar(np.linspace(0.0, 3.0, 61), "shifts")]
    protocol = {"p_data": f"N(0, {STD}^2)", "p_g": f"N(theta, {STD}^2), theta in 0, 0.05, ..., 3",
                "jsd": f"trapezoidal rule on {len(x)} points of [-2, 5], log-sum-exp mixture",
                "w1": "int |F_data - F_g| dx (normal CDFs, torch.special.ndtr), same grid",
                "derivatives": "torch.autograd.grad with respect to theta"}
    return Measured({"rows": rows}, protocol)


def check(numbers: dict) -> Verdict:
    rows = numbers["rows"]
    apart = [r for r in rows if r["theta"] >= APART]
    close = [r for r in rows if 0 < r["theta"] <= OVERLAP]
    flat = max(max(abs(r["jsd"] - math.log(2)), abs(r["d_jsd"])) for r in apart)
    w_err = max(max(abs(r["w1"] - r["theta"]), abs(r["d_w1"] - 1)) for r in rows if r["theta"] > 0)
    gap = min(math.log(2) - r["jsd"] for r in close)
    ok = flat < FLAT_TOL and w_err < W_TOL and gap > OVERLAP_GAP
    return Verdict(bool(ok), f"for shifts of {APART:g} or more (15 std) JSD is within {FLAT_TOL:g} of log 2 and its "
                             f"derivative within {FLAT_TOL:g} of 0; W1 equals the shift and its derivative 1 within "
                             f"{W_TOL:g} at every shift; while the densities overlap (shift <= {OVERLAP:g}) JSD is "
                             f"below log 2 by more than {OVERLAP_GAP:g} nats",
                   f"apart: largest |JSD - log 2| or |dJSD/dtheta| {flat:.1e}; W1: largest error {w_err:.1e}; "
                   f"overlapping: JSD at least {gap:.3f} nats below log 2")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    rows = numbers["rows"]
    th = [r["theta"] for r in rows]
    ax = axes[0][0]
    ax.plot(th, [r["jsd"] for r in rows], "o-", ms=3, color="#d62728", label="JSD(p_data, p_g)")
    ax.plot(th, [r["w1"] for r in rows], "s-", ms=3, color="#1f77b4", label="W1(p_data, p_g)")
    ax.axhline(math.log(2), color="0.5", ls="--", label="log 2")
    ax.axvspan(APART, max(th), color="0.93")
    ax.set(xlabel="shift theta of p_g = N(theta, 0.1^2) (grey: apart)", ylabel="nats / distance",
           title="the divergence and the distance")
    ax.legend()
    ax = axes[0][1]
    ax.plot(th, [abs(r["d_jsd"]) + 1e-18 for r in rows], "o-", ms=3, color="#d62728", label="|dJSD / dtheta|")
    ax.plot(th, [abs(r["d_w1"]) for r in rows], "s-", ms=3, color="#1f77b4", label="|dW1 / dtheta|")
    ax.set(yscale="log", ylim=(1e-18, 10), xlabel="shift theta", ylabel="gradient for the generator",
           title="what a generator at theta would learn from")
    ax.legend()
    save_figure(fig, path)


CLAIM = ("Once p_g and p_data stop overlapping, the Jensen-Shannon divergence is stuck at log 2 and gives "
         "no gradient; the Earth mover's distance keeps growing with their distance")
EXPERIMENT = Experiment("jsd-saturation", CLAIM, "notes", "Earth mover's distance", measure, check, plot)
