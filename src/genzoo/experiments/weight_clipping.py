"""Weight clipping pushes a WGAN critic's weights to the two ends of the clipping range; the gradient
penalty does not (Gulrajani et al. 2017, figure 1b).

Two copies of genzoo's MLP critic (2 -> 128 -> 128 -> 128 -> 1, LeakyReLU 0.2) are trained on the
Wasserstein critic's cost (d_loss_wasserstein) to tell the ring of 8 Gaussians from a fixed fake
distribution N(0, I):
  clipping   WGAN (Arjovsky et al. 2017): RMSprop lr 5e-5, clip_weights_ to [-0.01, 0.01] after
             every step; the weights start uniform in [-0.01, 0.01], so none starts at a bound
  penalty    WGAN-GP: gradient_penalty (lambda 10), Adam lr 1e-4, betas (0.5, 0.9), default init
At checkpoints, the share of the weights (not biases) within 1 % of the largest magnitude is
measured: the bounds for clipping, the tails of its own distribution for the penalty.
"""
from __future__ import annotations

import numpy as np
import torch

from ..data import load_dataset
from ..losses import clip_weights_, d_loss_wasserstein, gradient_penalty
from ..nets.mlp import MLPDiscriminator
from .base import Context, Experiment, Measured, Verdict, figure, save_figure

CLIP = 0.01
AT_BOUND_MIN = 0.5    # clipping: at the end at least this share of the weights sits at a bound
TAIL_MAX = 0.05       # penalty: at the end at most this share sits within 1 % of its largest magnitude
SNAPSHOTS, BATCH = 8, 256


def weights(D: torch.nn.Module) -> torch.Tensor:
    return torch.cat([m.weight.detach().flatten() for m in D.modules() if isinstance(m, torch.nn.Linear)])


def at_edge(w: torch.Tensor) -> float:
    """The share of weights whose magnitude is within 1 % of the largest one."""
    return float((w.abs() >= 0.99 * w.abs().max()).double().mean())


def _critic(kind: str) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    D = MLPDiscriminator(2, (128, 128, 128))
    if kind == "clipping":
        with torch.no_grad():
            for p in D.parameters():
                p.uniform_(-CLIP, CLIP)
        return D, torch.optim.RMSprop(D.parameters(), lr=5e-5)
    return D, torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0.5, 0.9))


def train(kind: str, steps: int, seed: int) -> dict:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    real = load_dataset("ring8", n_samples=10000, seed=seed).x.float()
    D, opt = _critic(kind)
    every, snaps = max(1, steps // SNAPSHOTS), []
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            snaps.append({"step": step, "at_edge": at_edge(weights(D)), "max_abs": float(weights(D).abs().max())})
        if step == steps:
            break
        x, fake = real[torch.randint(len(real), (BATCH,), generator=g)], torch.randn(BATCH, 2, generator=g)
        loss = d_loss_wasserstein(D(x), D(fake))
        if kind == "penalty":
            loss = loss + gradient_penalty(D, x, fake, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if kind == "clipping":
            clip_weights_(D, CLIP)
    hist, edges = np.histogram(weights(D).numpy(), bins=60)
    return {"snapshots": snaps, "histogram": hist.tolist(), "edges": edges.tolist()}


def measure(ctx: Context) -> Measured:
    steps = ctx.steps(600, 2000)
    runs = {kind: train(kind, steps, ctx.seed) for kind in ctx.bar(("clipping", "penalty"), "critics")}
    protocol = {"critic": "genzoo MLPDiscriminator 2-128-128-128-1 (LeakyReLU 0.2)",
                "task": "ring8 (10,000 points) against N(0, I), d_loss_wasserstein", "batch": BATCH, "steps": steps,
                "clipping": f"RMSprop lr 5e-5, clip_weights_ c = {CLIP}, weights start uniform in [-c, c]",
                "penalty": "gradient_penalty lambda 10, Adam lr 1e-4 betas (0.5, 0.9), PyTorch's default init",
                "at_edge": "share of Linear weights with |w| >= 0.99 max |w|"}
    return Measured({"steps": steps, "runs": runs}, protocol)


def check(numbers: dict) -> Verdict:
    clip, pen = (numbers["runs"][k]["snapshots"] for k in ("clipping", "penalty"))
    ok = clip[-1]["at_edge"] >= AT_BOUND_MIN and pen[-1]["at_edge"] <= TAIL_MAX
    return Verdict(ok, f"after {numbers['steps']} critic steps at least {AT_BOUND_MIN:.0%} of the clipped critic's "
                       f"weights sit at +-{CLIP} (within 1 %), and at most {TAIL_MAX:.0%} of the penalized critic's "
                       f"weights sit within 1 % of its largest magnitude",
                   f"clipping: {clip[0]['at_edge']:.1%} at a bound at the start, {clip[-1]['at_edge']:.1%} at the end; "
                   f"penalty: {pen[-1]['at_edge']:.2%} within 1 % of its largest magnitude "
                   f"({pen[-1]['max_abs']:.3f}) at the end")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(3, CLAIM, check(numbers))
    for ax, (kind, run), color in zip(axes[0][:2], numbers["runs"].items(), ("#d62728", "#1f77b4")):
        edges = np.asarray(run["edges"])
        ax.bar(edges[:-1], run["histogram"], width=np.diff(edges), align="edge", color=color)
        ax.set(yscale="log", xlabel="weight value", ylabel="count", title=f"{kind}: weights at the end")
    ax = axes[0][2]
    for (kind, run), color in zip(numbers["runs"].items(), ("#d62728", "#1f77b4")):
        snaps = run["snapshots"]
        ax.plot([s["step"] for s in snaps], [s["at_edge"] for s in snaps], "o-", color=color, label=kind)
    ax.set(xlabel="critic step", ylabel="share within 1 % of max |w|", ylim=(-0.02, 1.02), title="weights at the edge")
    ax.legend()
    save_figure(fig, path)


CLAIM = ("Weight clipping pushes the WGAN critic's weights to the two ends of the clipping range; "
         "the gradient penalty leaves them spread")
EXPERIMENT = Experiment("weight-clipping", CLAIM, "notes", "W-loss and 1-Lipschitz continuity", measure, check, plot)
