"""The truncation trick trades diversity for quality (Brock et al. 2019; lecture: "GAN Truncation trick").

Latents are drawn from N(0, I) with every coordinate outside [-b, b] drawn again
(genzoo.sampling.sample_truncated). For each bound b, samples of the shared `gan` run (the
preset on MNIST-5k, which latent-walk also reads) are
scored against held-out real digits in the features of genzoo's classifier: improved precision
(quality) and recall (diversity), density and coverage (k = 5), and the Fréchet distance.
"""
from __future__ import annotations

import torch

import genzoo

from ..metrics import frechet_distance, prdc
from ..sampling import sample_truncated
from .base import (Context, Experiment, ImageScorer, Measured, Verdict, describe_run, figure, gan_run, image_grid,
                   save_figure, show_grid, spearman, trained_dataset)

BOUNDS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
SHOWN = (0.25, 1.0, 3.0)
TREND = 0.8            # Spearman correlation of recall with the bound must exceed this


def measure(ctx: Context) -> Measured:
    run_dir = gan_run(ctx)
    model = genzoo.load(run_dir)
    scorer = ImageScorer(trained_dataset(run_dir), ctx.pick(300, 2000))
    rows, images = [], {}
    for b in ctx.bar(BOUNDS, "bounds"):
        x = sample_truncated(model, scorer.n, b, generator=torch.Generator().manual_seed(ctx.seed))
        feats = scorer.fx.features(x)
        m = prdc(scorer.real_feats.numpy(), feats.numpy(), k=5)
        rows.append({"bound": b, "precision": m.precision, "recall": m.recall, "density": m.density,
                     "coverage": m.coverage, "fd": frechet_distance(feats.numpy(), scorer.real_feats.numpy())})
        if b in SHOWN:
            images[f"b={b:g}"] = image_grid(x[:36], 6)
    protocol = {"run": describe_run(run_dir), "sampler": "genzoo.sampling.sample_truncated (resample |z_i| > b)",
                "prdc": "genzoo.metrics.prdc, k=5", **scorer.protocol()}
    return Measured({"rows": rows}, protocol, images)


def check(numbers: dict) -> Verdict:
    rows = numbers["rows"]
    tight, loose = rows[0], rows[-1]
    trend = spearman([r["bound"] for r in rows], [r["recall"] for r in rows])
    ok = tight["precision"] > loose["precision"] and tight["recall"] < loose["recall"] and trend > TREND
    return Verdict(ok, f"the tightest bound has higher precision and lower recall than the loosest, and recall "
                       f"rises with the bound (Spearman > {TREND})",
                   f"bound {tight['bound']:g}: precision {tight['precision']:.2f}, recall {tight['recall']:.2f}; "
                   f"bound {loose['bound']:g}: precision {loose['precision']:.2f}, recall {loose['recall']:.2f}; "
                   f"Spearman(bound, recall) {trend:.2f}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(3, CLAIM, check(numbers), nrows=2, height=8.2)
    rows = numbers["rows"]
    b = [r["bound"] for r in rows]
    gs = axes[0][0].get_gridspec()
    for ax in axes[0]:
        ax.remove()
    left, right = fig.add_subplot(gs[0, :2]), fig.add_subplot(gs[0, 2])
    for key, color in (("precision", "#1f77b4"), ("recall", "#d62728"), ("density", "#9467bd"),
                       ("coverage", "#2ca02c")):
        left.plot(b, [r[key] for r in rows], "o-", color=color, label=key)
    left.set(xlabel="truncation bound b (|z_i| <= b)", ylabel="score (k = 5)", title="quality vs diversity")
    left.legend(ncol=2)
    right.plot(b, [r["fd"] for r in rows], "o-", color="k")
    right.set(xlabel="truncation bound b", ylabel="Fréchet distance", title="FD (lower: better)")
    for ax, key in zip(axes[1], images):
        show_grid(ax, images[key], f"samples, {key}")
    save_figure(fig, path)


CLAIM = "Truncating the latent distribution trades diversity (recall) for quality (precision)"
EXPERIMENT = Experiment("truncation", CLAIM, "notes", "GAN Truncation trick", measure, check, plot,
                        uses_run="an unconditional GAN run on images")
