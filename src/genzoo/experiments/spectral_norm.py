"""Spectral normalization (Miyato et al. 2018) divides each weight by an estimate of its largest
singular value, one power iteration per training step, so every layer stays 1-Lipschitz while the
discriminator trains; without it the layers' gains drift and the network's Lipschitz bound grows.

Two copies of genzoo's MLP discriminator (2 -> 128 -> 128 -> 1, LeakyReLU 0.2), one with
spectral_norm=True (torch's parametrization, as the SN-GAN preset uses), are trained with the
same seed on the GAN's discriminator cost (d_loss_minimax) to tell the ring of 8 Gaussians from a
fixed fake distribution, N(0, 0.5^2 I). At checkpoints the exact largest singular value
(torch.linalg.matrix_norm, ord 2) of each layer's weight as the network uses it is computed, and
their product, an upper bound on the network's Lipschitz constant.
"""
from __future__ import annotations

import numpy as np
import torch

from ..data import load_dataset
from ..losses import d_loss_minimax
from ..nets.mlp import MLPDiscriminator
from .base import Context, Experiment, Measured, Verdict, figure, save_figure

SN_TOL = 0.15        # with SN: every layer's largest singular value within 1 +- SN_TOL at every checkpoint
GROWTH_MIN = 10.0    # without SN: the product of the layers' largest singular values grows by more than this
SNAPSHOTS, BATCH = 10, 256


def singular_values(D: torch.nn.Module) -> list[float]:
    """The largest singular value of each Linear layer's weight as the network applies it (eval mode:
    the normalized weight under SN, computed from the power iteration's current vectors)."""
    D.eval()
    with torch.no_grad():
        out = [float(torch.linalg.matrix_norm(m.weight, ord=2)) for m in D.modules() if isinstance(m, torch.nn.Linear)]
    D.train()
    return out


def train(spectral: bool, steps: int, seed: int) -> list[dict]:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    real = load_dataset("ring8", n_samples=10000, seed=seed).x.float()
    D = MLPDiscriminator(2, (128, 128), spectral_norm=spectral)
    opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    every, snaps = max(1, steps // SNAPSHOTS), []
    for step in range(steps + 1):
        if step % every == 0:
            snaps.append({"step": step, "sigma": singular_values(D)})
        if step == steps:
            break
        x = real[torch.randint(len(real), (BATCH,), generator=g)]
        fake = 0.5 * torch.randn(BATCH, 2, generator=g)
        loss = d_loss_minimax(D(x), D(fake))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return snaps


def measure(ctx: Context) -> Measured:
    steps = ctx.steps(1000, 3000)
    runs = {name: train(name == "spectral norm", steps, ctx.seed)
            for name in ctx.bar(("spectral norm", "no normalization"), "discriminators")}
    numbers = {"steps": steps, "runs": runs}
    protocol = {"discriminator": "genzoo MLPDiscriminator 2-128-128-1 (LeakyReLU 0.2); spectral_norm=True: "
                                 "torch.nn.utils.parametrizations.spectral_norm, one power iteration per step",
                "task": "ring8 (10,000 points) against N(0, 0.5^2 I), d_loss_minimax", "optimizer":
                "Adam lr 2e-4, betas (0.5, 0.999)", "batch": BATCH, "steps": steps,
                "sigma": "torch.linalg.matrix_norm(weight, ord=2) of each layer's weight in eval mode"}
    return Measured(numbers, protocol)


def _lipschitz(snap: dict) -> float:
    return float(np.prod(snap["sigma"]))


def check(numbers: dict) -> Verdict:
    sn, plain = numbers["runs"]["spectral norm"], numbers["runs"]["no normalization"]
    worst = max(abs(s - 1) for snap in sn for s in snap["sigma"])
    growth = _lipschitz(plain[-1]) / _lipschitz(plain[0])
    return Verdict(worst < SN_TOL and growth > GROWTH_MIN,
                   f"with spectral normalization every layer's largest singular value stays within 1 +- {SN_TOL} at "
                   f"every checkpoint; without it the product of the layers' largest singular values (a Lipschitz "
                   f"bound) grows more than {GROWTH_MIN:g}x over training",
                   f"spectral norm: largest |sigma - 1| = {worst:.3f}, Lipschitz bound {_lipschitz(sn[-1]):.2f} "
                   f"at the end; no normalization: bound {_lipschitz(plain[0]):.2f} -> {_lipschitz(plain[-1]):.1f} "
                   f"({growth:.1f}x) over {numbers['steps']} steps")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers), sharey=True)
    styles = ("-", "--", ":")
    for ax, (name, snaps) in zip(axes[0], numbers["runs"].items()):
        steps = [s["step"] for s in snaps]
        for i, style in enumerate(styles[:len(snaps[0]["sigma"])]):
            ax.plot(steps, [s["sigma"][i] for s in snaps], "o" + style, color="#1f77b4", ms=4,
                    label=f"layer {i + 1}: largest singular value")
        ax.plot(steps, [_lipschitz(s) for s in snaps], "s-", color="#d62728", ms=4, label="product (Lipschitz bound)")
        ax.axhline(1.0, color="0.5", lw=1)
        ax.set(yscale="log", xlabel="discriminator step", title=name)
        ax.legend(fontsize=9.5)
    axes[0][0].set_ylabel("largest singular value")
    save_figure(fig, path)


CLAIM = ("Spectral normalization holds every layer's largest singular value at 1 while the discriminator "
         "trains; without it the layers' gains and the Lipschitz bound grow")
EXPERIMENT = Experiment("spectral-norm", CLAIM, "notes", "Spectral-normalized GAN (SN-GAN)",
                        measure, check, plot)
