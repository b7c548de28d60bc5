"""The WGAN critic's estimate of the Wasserstein distance falls as the samples improve; the cross-entropy
GAN's discriminator loss does not track sample quality (Arjovsky et al. 2017, sec. 4.2; Gulrajani et al. 2017).

Two runs with checkpoints: the `wgan-gp` preset and the `gan` preset (non-saturating cross-entropy
game), on the same MLP nets, data and seed. At every checkpoint, on held-out real images and as
many samples: the critic's estimate E D(x) - E D(G(z)) (WGAN-GP), the discriminator's
cross-entropy loss J(D) (GAN), and the Fréchet
distance of the samples in genzoo's classifier features. Tracking means a positive Spearman
correlation with FD over the checkpoints (both fall as the samples improve).
"""
from __future__ import annotations

import torch

import genzoo

from ..losses import d_loss_minimax
from .base import (Context, Experiment, ImageScorer, Measured, Verdict, checkpoint_steps, figure, quiet_run_overrides,
                   save_figure, spearman)

TRACKS = 0.7          # Spearman(critic estimate, FD) above this
IGNORES = 0.5         # Spearman(GAN D loss, FD) below this


def _overrides(ctx: Context, steps: int) -> dict:
    """Both games on the same MLP nets (256-256), so that only the loss, penalty and optimizer differ."""
    return {**quiet_run_overrides(steps, 64, ctx.seed, checkpoint_every=max(1, steps // 10), keep=20),
            "data.name": ctx.pick("digits", "mnist5k"), "model.nets.generator": "mlp",
            "model.nets.discriminator": "mlp", "model.nets.hidden": [256, 256], "model.nets.d_hidden": [256, 256]}


@torch.no_grad()
def probe(run_dir, step: int, scorer: ImageScorer, seed: int) -> dict:
    """D on held-out reals and on samples, and the samples' FD, at one checkpoint."""
    model = genzoo.load(run_dir, step=step)
    fake = model.sample(scorer.n, generator=torch.Generator().manual_seed(seed))
    real_out = model.D(model.to_net(scorer.real.float().div(255)))
    fake_out = model.D(model.to_net(fake))
    return {"step": step, "critic_gap": float(real_out.mean() - fake_out.mean()),
            "d_loss": float(d_loss_minimax(real_out, fake_out)), "fd": scorer.fd(fake)}


def measure(ctx: Context) -> Measured:
    steps = ctx.steps(20, 2000)
    # the paper's 5 critic steps per generator step (the preset takes 1 on 28x28 digits)
    presets = {"wgan-gp": {**_overrides(ctx, steps), "model.d_steps": 5}, "gan": _overrides(ctx, steps)}
    scorer = ImageScorer(presets["gan"]["data.name"], ctx.pick(200, 1000))
    runs = {}
    for preset in ctx.bar(presets, "runs"):
        run_dir = ctx.train(preset, presets[preset])
        runs[preset] = [probe(run_dir, s, scorer, ctx.seed) for s in checkpoint_steps(run_dir)]
    fd = {p: [r["fd"] for r in rows] for p, rows in runs.items()}
    numbers = {"runs": runs,
               "rho_critic": spearman([r["critic_gap"] for r in runs["wgan-gp"]], fd["wgan-gp"]),
               "rho_gan_d_loss": spearman([r["d_loss"] for r in runs["gan"]], fd["gan"])}
    protocol = {"overrides": presets, "critic estimate": "mean D(x) - mean D(G(z)) on held-out reals and samples",
                "gan d loss": "genzoo.losses.d_loss_minimax on the same, D in eval mode", **scorer.protocol()}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    rc, rg = numbers["rho_critic"], numbers["rho_gan_d_loss"]
    ok = rc > TRACKS and rg < IGNORES       # NaN (a constant curve) fails both
    return Verdict(ok, f"over the checkpoints, Spearman(critic estimate, FD) > {TRACKS} while Spearman(GAN "
                       f"discriminator loss, FD) < {IGNORES}",
                   f"Spearman with FD: WGAN-GP critic estimate {rc:.2f}, GAN discriminator loss {rg:.2f}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    for ax, preset, key, label in ((axes[0][0], "wgan-gp", "critic_gap", "critic: E D(x) - E D(G(z))"),
                                   (axes[0][1], "gan", "d_loss", "discriminator loss J(D) (nats)")):
        rows = numbers["runs"][preset]
        steps = [r["step"] for r in rows]
        ax.plot(steps, [r[key] for r in rows], "o-", color="#1f77b4")
        ax.set(xlabel="training step", title=preset)
        ax.set_ylabel(label, color="#1f77b4")
        twin = ax.twinx()
        twin.plot(steps, [r["fd"] for r in rows], "s--", color="#d62728")
        twin.set_ylabel("Fréchet distance", color="#d62728")
    save_figure(fig, path)


CLAIM = ("The WGAN critic's estimate of the Wasserstein distance falls as the samples improve (tracks FD); "
         "the cross-entropy GAN's discriminator loss does not")
EXPERIMENT = Experiment("wasserstein-estimate", CLAIM, "notes", "Wasserstein GAN with Gradient penalty (WGAN-GP): "
                        "Earth mover's distance", measure, check, plot)
