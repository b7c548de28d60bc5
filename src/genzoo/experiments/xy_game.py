"""min_x max_y V(x, y) = xy: gradient steps do not find the equilibrium (0, 0).

Simultaneous steps x <- x - eta dV/dx, y <- y + eta dV/dy multiply the distance from (0, 0) by
sqrt(1 + eta^2) per step: they spiral out at every step size. Alternating steps (y sees the new x)
are area-preserving: they orbit the equilibrium on a closed curve and never reach it. The
gradients come from autograd on V, as a GAN's would.
"""
from __future__ import annotations

import math

import torch

from .base import Context, Experiment, Measured, Verdict, figure, save_figure

STEP_SIZES = (0.2, 0.05)
START = (1.0, 0.5)
GROWTH_MIN = 1.1        # simultaneous: final radius / initial radius must exceed this
CYCLE_BAND = (0.8, 1.25)  # alternating: every radius / initial radius stays inside this band


def _grads(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    xr, yr = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
    gx, gy = torch.autograd.grad(xr * yr, (xr, yr))
    return float(gx), float(gy)


def trajectory(eta: float, steps: int, alternating: bool) -> list[tuple[float, float]]:
    """Points (x, y) of `steps` gradient steps: x descends V = xy, y ascends it."""
    x, y = torch.tensor(START[0], dtype=torch.float64), torch.tensor(START[1], dtype=torch.float64)
    path = [(float(x), float(y))]
    for _ in range(steps):
        gx, gy = _grads(x, y)
        x = x - eta * gx
        if alternating:
            gy = _grads(x, y)[1]
        y = y + eta * gy
        path.append((float(x), float(y)))
    return path


def measure(ctx: Context) -> Measured:
    steps = 200
    runs = {}
    for eta in ctx.bar(STEP_SIZES, "step sizes"):
        for mode in ("simultaneous", "alternating"):
            path = trajectory(eta, steps, mode == "alternating")
            r = [math.hypot(*p) for p in path]
            runs[f"{mode} eta={eta:g}"] = {"eta": eta, "mode": mode, "path": path, "radius": r,
                                          "ratio": r[-1] / r[0], "min_ratio": min(r) / r[0],
                                          "max_ratio": max(r) / r[0]}
    return Measured({"steps": steps, "runs": runs},
                    {"game": "V(x, y) = xy, x minimizes, y maximizes", "start": list(START), "steps": steps,
                     "step_sizes": list(STEP_SIZES), "gradients": "torch.autograd on V, float64"})


def check(numbers: dict) -> Verdict:
    runs = numbers["runs"].values()
    sim = [r for r in runs if r["mode"] == "simultaneous"]
    alt = [r for r in runs if r["mode"] == "alternating"]
    grows = all(r["ratio"] > GROWTH_MIN for r in sim)
    cycles = all(CYCLE_BAND[0] <= r["min_ratio"] and r["max_ratio"] <= CYCLE_BAND[1] for r in alt)
    measured = ("simultaneous radius ratio " + ", ".join(f"{r['ratio']:.2f} (eta {r['eta']:g})" for r in sim)
                + "; alternating stays in " + ", ".join(f"[{r['min_ratio']:.2f}, {r['max_ratio']:.2f}]" for r in alt))
    return Verdict(grows and cycles and bool(sim) and bool(alt),
                   f"after {numbers['steps']} steps every simultaneous run ends farther than {GROWTH_MIN}x its "
                   f"starting distance from (0, 0), and every alternating run stays within "
                   f"{CYCLE_BAND[0]}-{CYCLE_BAND[1]}x of it (a cycle, not convergence)", measured)


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(3, CLAIM, check(numbers))
    colors = {"simultaneous": "#d62728", "alternating": "#1f77b4"}
    for ax, eta in zip(axes[0][:2], STEP_SIZES):
        for run in numbers["runs"].values():
            if run["eta"] == eta:
                xs, ys = zip(*run["path"])
                ax.plot(xs, ys, lw=1.2, color=colors[run["mode"]], label=run["mode"])
        ax.plot(*START, "ko", ms=5)
        ax.plot(0, 0, "k*", ms=12, label="equilibrium")
        ax.set(title=f"step size {eta:g}", xlabel="x (minimizing player)", ylabel="y (maximizing player)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="lower left")
    ax = axes[0][2]
    for name, run in numbers["runs"].items():
        ax.plot(run["radius"], color=colors[run["mode"]], ls="-" if run["eta"] == STEP_SIZES[0] else "--",
                label=name)
    ax.set(yscale="log", title="distance from equilibrium", xlabel="step", ylabel="sqrt(x² + y²)")
    ax.legend(fontsize=9)
    save_figure(fig, path)


CLAIM = ("Simultaneous gradient steps on min_x max_y xy spiral away from the equilibrium; "
         "alternating steps circle it; neither converges")
EXPERIMENT = Experiment("xy-game", CLAIM, "dlbook", "Non-convergence: min_x max_y V(x, y) = xy",
                        measure, check, plot)
