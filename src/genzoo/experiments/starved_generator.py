"""An optimal discriminator starves the minimax generator of gradient (Arjovsky & Bottou 2017,
"Towards principled methods for training GANs", figures 2 and 3): as D approaches optimality on a
fixed generator, the gradient of the minimax cost E log(1 - D(G(z))) vanishes, while the gradient
of the non-saturating cost -E log D(G(z)) does not.

The paper's protocol on the toy scale: genzoo's MLP generator (2-d noise -> 128 -> 128 -> 2) is
fixed at its initialization; genzoo's MLP discriminator (2 -> 128 -> 128 -> 1) is trained from
scratch on the discriminator's cost (d_loss_minimax) against the ring of 8 Gaussians, with Adam
(lr 1e-3, beta1 0.5). At log-spaced discriminator steps, the norm of the gradient of each
generator cost (g_loss_minimax, g_loss_non_saturating) with respect to all of G's parameters is
computed on 2,048 fixed noise vectors.
"""
from __future__ import annotations

import numpy as np
import torch

from ..data import load_dataset
from ..losses import d_loss_minimax, g_loss_minimax, g_loss_non_saturating
from ..nets.mlp import MLPDiscriminator, MLPGenerator
from .base import Context, Experiment, Measured, Verdict, figure, save_figure

COSTS = {"minimax log(1 - D(G(z)))": g_loss_minimax, "non-saturating -log D(G(z))": g_loss_non_saturating}
VANISH = 10.0      # the minimax gradient at the end is below 1 / VANISH of its largest value
KEEP = 0.5         # the non-saturating gradient at the end is at least KEEP of its largest value
BATCH, PROBE = 256, 2048


def gradient_norms(G: torch.nn.Module, D: torch.nn.Module, z: torch.Tensor) -> dict:
    """|grad_theta_G cost| for each generator cost, and the mean D(G(z))."""
    out = {}
    for name, cost in COSTS.items():
        G.zero_grad()
        cost(D(G(z))).backward()
        out[name] = float(torch.cat([p.grad.flatten() for p in G.parameters()]).norm())
    with torch.no_grad():
        out["d_fake"] = float(torch.sigmoid(D(G(z))).mean())
    return out


class RingGame:
    """The toy game of this experiment (and of saturation): genzoo's MLP generator and discriminator on the ring
    of 8 Gaussians (10,000 points), D trained by Adam on the discriminator's cost."""

    def __init__(self, seed: int):
        torch.manual_seed(seed)
        self.real = load_dataset("ring8", n_samples=10000, seed=seed).x.float()
        self.G, self.D = MLPGenerator(2, (2,), (128, 128)), MLPDiscriminator(2, (128, 128))
        self.d_opt = torch.optim.Adam(self.D.parameters(), lr=1e-3, betas=(0.5, 0.999))

    def d_step(self, g: torch.Generator) -> None:
        """One step of D on a batch of real points and of G's samples."""
        x = self.real[torch.randint(len(self.real), (BATCH,), generator=g)]
        with torch.no_grad():
            fake = self.G(torch.randn(BATCH, 2, generator=g))
        loss = d_loss_minimax(self.D(x), self.D(fake))
        self.d_opt.zero_grad()
        loss.backward()
        self.d_opt.step()


def measure(ctx: Context) -> Measured:
    game, g = RingGame(ctx.seed), torch.Generator().manual_seed(ctx.seed)
    z = torch.randn(PROBE, 2, generator=g)
    steps = ctx.steps(2000, 5000)
    at = sorted({0, steps} | {int(round(s)) for s in np.logspace(0, np.log10(steps), 13)})
    rows = []
    for step in ctx.bar(range(steps + 1), "training D"):
        if step in at:
            rows.append({"step": step, **gradient_norms(game.G, game.D, z)})
        game.d_step(g)
    protocol = {"generator": "genzoo MLPGenerator 2 -> 128 -> 128 -> 2 (ReLU), fixed at initialization",
                "discriminator": "genzoo MLPDiscriminator 2 -> 128 -> 128 -> 1 (LeakyReLU 0.2), trained from scratch",
                "data": "ring8, 10,000 points", "optimizer": "Adam lr 1e-3, betas (0.5, 0.999)", "batch": BATCH,
                "gradient": f"norm over all of G's parameters, {PROBE} fixed noise vectors"}
    return Measured({"steps": steps, "rows": rows}, protocol)


def check(numbers: dict) -> Verdict:
    mm, ns = (np.array([r[name] for r in numbers["rows"]]) for name in COSTS)
    ok = bool(mm[-1] < mm.max() / VANISH and ns[-1] >= KEEP * ns.max())
    end = numbers["rows"][-1]
    return Verdict(ok, f"after {numbers['steps']} discriminator steps the minimax cost's gradient is below 1/{VANISH:g} "
                       f"of its largest value, and the non-saturating cost's is at least {KEEP} of its largest",
                   f"minimax: largest {mm.max():.3f}, at the end {mm[-1]:.4f} ({mm.max() / mm[-1]:.0f}x smaller); "
                   f"non-saturating: largest {ns.max():.2f}, at the end {ns[-1]:.2f}; mean D(G(z)) at the end "
                   f"{end['d_fake']:.1e}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    rows = numbers["rows"]
    steps = np.array([max(r["step"], 0.5) for r in rows])
    ax = axes[0][0]
    for (name, color) in zip(COSTS, ("#d62728", "#1f77b4")):
        ax.plot(steps, [r[name] for r in rows], "o-", color=color, label=name)
    ax.set(xscale="log", yscale="log", xlabel="discriminator steps on the fixed generator",
           ylabel="|gradient of the cost wrt G's parameters|", title="the generator's gradient")
    ax.legend()
    ax = axes[0][1]
    ax.plot(steps, [r["d_fake"] for r in rows], "s-", color="k")
    ax.set(xscale="log", yscale="log", xlabel="discriminator steps on the fixed generator",
           ylabel="mean D(G(z))", title="the discriminator rejects the fakes")
    save_figure(fig, path)


CLAIM = ("As the discriminator approaches optimality, the minimax generator cost's gradient vanishes; "
         "the non-saturating cost's does not")
EXPERIMENT = Experiment("starved-generator", CLAIM, "dlbook", "Other Games", measure, check, plot)
