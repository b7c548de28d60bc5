"""For a fixed generator, the best discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and there
V(D*, G) = -log 4 + 2 JSD(p_data || p_g)   (Goodfellow et al. 2014, Proposition 1 and Theorem 1).

genzoo's MLP discriminator is trained on the discriminator's cost of the GAN game (d_loss_minimax,
fresh samples of both 1-D distributions at every step) until it converges; then D(x) is compared
with D*(x) on a grid, and V(D, G) with -log 4 + 2 JSD, both integrals by the trapezoidal rule.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..losses import d_loss_minimax
from ..nets.mlp import MLPDiscriminator
from .base import Context, Experiment, Measured, Verdict, figure, save_figure

DATA = ((-1.5, 0.5), (1.5, 0.5))   # p_data: an equal mixture of two Gaussians (mean, std)
GEN = (0.5, 1.0)                   # p_g: one Gaussian (mean, std)
D_TOL, V_TOL = 0.05, 0.02          # max |D - D*| where the densities live; |V(D, G) - V*| in nats
SUPPORT = 0.01                     # D is judged where (p_data + p_g) / 2 exceeds this


def _normal_pdf(x, mean, std):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def p_data(x):
    return sum(_normal_pdf(x, m, s) for m, s in DATA) / len(DATA)


def p_gen(x):
    return _normal_pdf(x, *GEN)


def _draw(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    which = torch.randint(len(DATA), (n,), generator=g)
    means, stds = torch.tensor([m for m, _ in DATA]), torch.tensor([s for _, s in DATA])
    real = means[which] + stds[which] * torch.randn(n, generator=g)
    fake = GEN[0] + GEN[1] * torch.randn(n, generator=g)
    return real[:, None], fake[:, None]


def value(d: np.ndarray, x: np.ndarray) -> float:
    """V(D, G) = int p_data log D + p_g log(1 - D) dx."""
    eps = 1e-12
    return float(np.trapezoid(p_data(x) * np.log(d + eps) + p_gen(x) * np.log(1 - d + eps), x))


def jsd(x: np.ndarray) -> float:
    m = (p_data(x) + p_gen(x)) / 2
    kl = lambda p: np.trapezoid(np.where(p > 0, p * np.log(np.maximum(p, 1e-300) / m), 0.0), x)  # noqa: E731
    return float(0.5 * kl(p_data(x)) + 0.5 * kl(p_gen(x)))


def measure(ctx: Context) -> Measured:
    torch.manual_seed(ctx.seed)
    g = torch.Generator().manual_seed(ctx.seed)
    D = MLPDiscriminator(1, (64, 64))
    opt = torch.optim.Adam(D.parameters(), lr=1e-3)
    steps, batch = ctx.steps(3000, 3000), ctx.pick(2048, 2048)   # quick = full: a smaller D budget misses D*
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)   # to 0: D settles at the optimum
    for _ in ctx.bar(range(steps), "training D"):
        real, fake = _draw(batch, g)
        loss = d_loss_minimax(D(real), D(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
        decay.step()
    x = np.linspace(-6, 6, 2401)
    with torch.no_grad():
        d = torch.sigmoid(D(torch.tensor(x, dtype=torch.float32)[:, None])).double().numpy()
    d_star = p_data(x) / (p_data(x) + p_gen(x))
    live = (p_data(x) + p_gen(x)) / 2 > SUPPORT
    numbers = {"x": x[::10].tolist(), "d": d[::10].tolist(), "d_star": d_star[::10].tolist(),
               "max_abs_error": float(np.abs(d - d_star)[live].max()), "support": [float(x[live].min()),
                                                                                  float(x[live].max())],
               "v_trained": value(d, x), "v_optimal": value(d_star, x), "jsd": jsd(x),
               "v_theory": -math.log(4) + 2 * jsd(x), "steps": steps}
    protocol = {"p_data": "equal mixture of N(-1.5, 0.5^2) and N(1.5, 0.5^2)", "p_g": "N(0.5, 1.0^2)",
                "discriminator": "genzoo MLPDiscriminator 1-64-64-1 (LeakyReLU 0.2)", "loss": "d_loss_minimax",
                "optimizer": "Adam lr 1e-3, cosine decay to 0", "batch": batch, "steps": steps,
                "integration": "trapezoidal rule on 2,401 points of [-6, 6]",
                "error_region": f"(p_data + p_g) / 2 > {SUPPORT}"}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    dv = abs(numbers["v_trained"] - numbers["v_theory"])
    ok = numbers["max_abs_error"] < D_TOL and dv < V_TOL
    return Verdict(ok, f"max |D(x) - D*(x)| < {D_TOL} where (p_data + p_g)/2 > {SUPPORT}, and "
                       f"|V(D, G) - (-log 4 + 2 JSD)| < {V_TOL} nats",
                   f"max |D - D*| = {numbers['max_abs_error']:.3f}; V(D, G) = {numbers['v_trained']:.4f} vs "
                   f"-log 4 + 2 JSD = {numbers['v_theory']:.4f} nats")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    x = np.asarray(numbers["x"])
    ax = axes[0][0]
    ax.plot(x, p_data(x), color="k", label="p_data")
    ax.plot(x, p_gen(x), color="#ff7f0e", label="p_g (fixed)")
    ax.set(title="the two densities", xlabel="x", ylabel="density")
    ax.legend()
    ax = axes[0][1]
    ax.plot(x, numbers["d_star"], color="k", lw=3, alpha=0.5, label="D*(x) = p_data / (p_data + p_g)")
    ax.plot(x, numbers["d"], color="#1f77b4", ls="--", lw=2, label=f"trained D(x), {numbers['steps']} steps")
    ax.axvspan(x.min(), numbers["support"][0], color="0.9")
    ax.axvspan(numbers["support"][1], x.max(), color="0.9")
    ax.set(title=f"V(D,G) = {numbers['v_trained']:.3f};  -log 4 + 2 JSD = {numbers['v_theory']:.3f}",
           xlabel="x (grey: outside the judged region)", ylabel="D(x) = P(real)", ylim=(-0.02, 1.02))
    ax.legend(loc="lower left", fontsize=9.5)
    save_figure(fig, path)


CLAIM = ("For a fixed generator the optimal discriminator is p_data / (p_data + p_g), "
         "and there V(D*, G) = -log 4 + 2 JSD")
EXPERIMENT = Experiment("optimal-discriminator", CLAIM, "dlbook", "The Optimal Discriminator", measure, check, plot)
