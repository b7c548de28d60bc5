"""The minimax generator cost log(1 - D(G(z))) saturates when D rejects the fakes; -log D(G(z)) does not.

Part 1, the costs themselves: dJ/dl of genzoo's g_loss_minimax and g_loss_non_saturating at D's
logit l, by autograd, as D(G(z)) = sigmoid(l) goes to 0: -sigmoid(l) against -(1 - sigmoid(l)).
Part 2, training from a discriminator that rejects the fakes (Goodfellow et al. 2014, sec. 3: "early in
learning, when G is poor, D can reject samples with high confidence"): on the ring of 8 Gaussians,
genzoo's MLP discriminator first trains alone against the generator at its initialization, as in
starved-generator, until it rejects its fakes. From that one state G and D then train together, one D step
per G step, once per generator cost, G by plain SGD (Goodfellow et al.'s optimizer, without its momentum),
whose step is the rate times the gradient, so a saturated cost moves it little. At checkpoints, on fixed noise:
how far G's samples have moved from where they started, their mean distance to the nearest mode, and mean
D(G(z)). The rule reads the first 10 rounds, while D still rejects the fakes; what follows depends on the
seed (the minimax generator may stay, run off where D has seen no data, or start learning once D's
confidence drops), and is drawn, not judged.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from ..data import toy_modes
from ..losses import g_loss_minimax, g_loss_non_saturating
from .base import Context, Experiment, Measured, Verdict, figure, save_figure
from .starved_generator import BATCH, PROBE, RingGame

COSTS = {"minimax": g_loss_minimax, "non-saturating": g_loss_non_saturating}
SGD_LR = 0.01
EARLY = 10         # part 2 is judged on the first 10 rounds after the head start
WEAKER = 0.1       # ... where the minimax generator's samples move less than a tenth as far as the other's
CONFIDENT = 0.01   # part 1: the costs' slopes at D(G(z)) = 0.01


def slopes() -> dict:
    """|dJ/dl| of both costs at logits l from -8 to 4 (one fake each)."""
    logits = torch.linspace(-8, 4, 121, dtype=torch.float64)
    out = {"d_of_fake": torch.sigmoid(logits).tolist()}
    for name, cost in COSTS.items():
        l = logits.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(cost(l) * len(l), l)   # the mean's slope, per fake
        out[name] = grad.abs().tolist()
    return out


class Game(RingGame):
    """starved-generator's game, G's step on a cost, and what a checkpoint reads on fixed noise: how far G's
    samples moved, their distance to the nearest mode and mean D(G(z))."""

    def __init__(self, seed: int):
        super().__init__(seed)
        self.modes = torch.as_tensor(toy_modes("ring8")[0]).float()
        self.probe_z = torch.randn(PROBE, 2, generator=torch.Generator().manual_seed(seed + 100))

    def g_step(self, cost, g_opt, g: torch.Generator) -> None:
        loss = cost(self.D(self.G(torch.randn(BATCH, 2, generator=g))))
        g_opt.zero_grad()
        loss.backward()
        g_opt.step()

    @torch.no_grad()
    def probe(self, step: int, start: torch.Tensor) -> dict:
        """At a checkpoint: how far the samples moved from `start` (the same noise's samples at round 0),
        their distance to the nearest mode and mean D(G(z))."""
        x = self.G(self.probe_z)
        return {"step": step, "moved": float((x - start).norm(dim=1).mean()),
                "distance": float(torch.cdist(x, self.modes).min(1).values.mean()),
                "d_of_fake": float(torch.sigmoid(self.D(x)).mean())}


def train_from(game: Game, start: dict, cost, steps: int, seed: int) -> list[dict]:
    """From the head start's state: `steps` rounds of one D step and one SGD step of G on `cost`."""
    game.G.load_state_dict(start["G"])
    game.D.load_state_dict(start["D"])
    game.d_opt.load_state_dict(start["d_opt"])
    g_opt, g = torch.optim.SGD(game.G.parameters(), lr=SGD_LR), torch.Generator().manual_seed(seed + 1)
    at = {EARLY // 2, EARLY} | {int(round(s)) for s in np.logspace(0, np.log10(steps), 16)}
    with torch.no_grad():
        x0 = game.G(game.probe_z)
    rows = [game.probe(0, x0)]
    for step in range(1, steps + 1):
        game.d_step(g)
        game.g_step(cost, g_opt, g)
        if step in at:
            rows.append(game.probe(step, x0))
    return rows


def measure(ctx: Context) -> Measured:
    game, g = Game(ctx.seed), torch.Generator().manual_seed(ctx.seed)
    head_start, steps = ctx.steps(500, 5000), ctx.steps(500, 4000)
    for _ in ctx.bar(range(head_start), "D alone"):
        game.d_step(g)
    start = copy.deepcopy({"G": game.G.state_dict(), "D": game.D.state_dict(), "d_opt": game.d_opt.state_dict()})
    runs = {name: train_from(game, start, cost, steps, ctx.seed) for name, cost in ctx.bar(COSTS.items(), "costs")}
    protocol = {"data": "ring8, 10,000 points", "generator": "genzoo MLPGenerator 2 -> 128 -> 128 -> 2 (ReLU)",
                "discriminator": "genzoo MLPDiscriminator 2 -> 128 -> 128 -> 1 (LeakyReLU 0.2), Adam 1e-3 beta1 0.5",
                "head start": f"{head_start} steps of D alone against G at its initialization",
                "then": f"{steps} rounds of one D step and one G step, from the same state for every run",
                "G's optimizer": f"SGD lr {SGD_LR} (no momentum)",
                "batch": BATCH, "probe": f"{PROBE} fixed noise vectors: how far the samples moved from round 0, "
                                         "their mean distance to the nearest mode, mean D(G(z))"}
    return Measured({"slopes": slopes(), "head_start": head_start, "steps": steps, "runs": runs}, protocol)


def moved_early(rows: list[dict]) -> float:
    """How far G's samples moved over the first EARLY rounds after the head start (mean over the probe)."""
    return next(r["moved"] for r in rows if r["step"] == EARLY)


def check(numbers: dict) -> Verdict:
    s = numbers["slopes"]
    i = int(np.argmin(np.abs(np.asarray(s["d_of_fake"]) - CONFIDENT)))
    saturates = s["minimax"][i] < 2 * CONFIDENT and s["non-saturating"][i] > 1 - 2 * CONFIDENT
    moved = {name: moved_early(rows) for name, rows in numbers["runs"].items()}
    weaker = moved["minimax"] < WEAKER * moved["non-saturating"]
    start = numbers["runs"]["minimax"][0]
    ends = {name: rows[-1] for name, rows in numbers["runs"].items()}
    return Verdict(saturates and weaker,
                   f"at D(G(z)) = {CONFIDENT}: |dJ/dl| < {2 * CONFIDENT} for the minimax cost and > "
                   f"{1 - 2 * CONFIDENT} for the non-saturating one; from a D that rejects the fakes, over the first "
                   f"{EARLY} rounds the minimax generator's samples move less than {WEAKER:g} as far as the "
                   f"non-saturating one's",
                   f"slopes at D(G(z))={s['d_of_fake'][i]:.3f}: minimax {s['minimax'][i]:.3f}, non-saturating "
                   f"{s['non-saturating'][i]:.3f}; after the head start mean D(G(z)) {start['d_of_fake']:.1e}; moved "
                   f"in {EARLY} rounds: minimax {moved['minimax']:.2g}, non-saturating {moved['non-saturating']:.2g} "
                   f"({moved['minimax'] / moved['non-saturating']:.1e}x); distance to the modes "
                   f"{start['distance']:.2f} at the start, after {ends['minimax']['step']} rounds minimax "
                   f"{ends['minimax']['distance']:.2f}, non-saturating {ends['non-saturating']['distance']:.2f}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(3, CLAIM, check(numbers))
    colors = {"minimax": "#d62728", "non-saturating": "#1f77b4"}
    ax = axes[0][0]
    for name in COSTS:
        ax.plot(numbers["slopes"]["d_of_fake"], numbers["slopes"][name], color=colors[name], lw=2, label=name)
    ax.set(xscale="log", title="the costs' slopes", xlabel="D(G(z))  (0: D rejects the fake)",
           ylabel="|dJ(G) / d logit|")
    for name, rows in numbers["runs"].items():
        rows = [r for r in rows if r["step"] > 0]   # log axes
        steps = [r["step"] for r in rows]
        axes[0][1].plot(steps, [max(r["moved"], 1e-6) for r in rows], "o-", color=colors[name], label=name)
        axes[0][2].plot(steps, [r["distance"] for r in rows], "o-", color=colors[name], label=name)
    axes[0][1].axvline(EARLY, color="0.5", ls=":", label=f"judged at {EARLY} rounds")
    axes[0][1].set(xscale="log", yscale="log", title="how far G's samples moved", xlabel="rounds after D's head start",
                   ylabel="mean distance from their start")
    axes[0][2].set(xscale="log", yscale="log", title="distance to the data", xlabel="rounds after D's head start",
                   ylabel="mean distance to the nearest mode")
    for ax in axes[0]:
        ax.legend()
    save_figure(fig, path)


CLAIM = ("The minimax generator cost log(1 - D(G(z))) saturates when D rejects the fakes, as it does early in "
         "learning: its generator barely moves, while the non-saturating cost -log D(G(z)) gives much stronger gradients")
EXPERIMENT = Experiment("saturation", CLAIM, "notes", "BCE loss saturation", measure, check, plot)
