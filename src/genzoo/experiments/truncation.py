"""The truncation trick trades diversity for quality in a generator amenable to it (Brock et al. 2019; lecture:
"GAN Truncation trick").

Latents are drawn from N(0, I) with every coordinate outside [-b, b] drawn again
(genzoo.sampling.sample_truncated). Brock et al. found many generators not amenable to truncation: fed
truncated noise they draw degenerate images. They made G amenable with orthogonal regularization (their eq. 3,
beta = 1e-4; genzoo's model.ortho_reg). The `gan` preset on MNIST-5k (digits with --quick) is trained with it,
and that run is judged. The same preset without it (the shared run, which latent-walk also reads) is shown beside
it, not judged. Its batch-normalized G maps tightly truncated noise near its mean activation, and whether that
is a digit differs from run to run. For each bound b, samples are scored against held-out real digits in the
features of genzoo's classifier: improved precision (quality) and recall (diversity), density and coverage
(k = 5), and the Fréchet distance. With --run RUN, that run is judged alone.
"""
from __future__ import annotations

import torch

import genzoo

from ..metrics import frechet_distance, prdc
from ..sampling import sample_truncated
from .base import (Context, Experiment, ImageScorer, Measured, Verdict, describe_run, figure, gan_overrides, gan_run,
                   image_grid, save_figure, show_grid, spearman, trained_dataset)

BOUNDS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
TREND = 0.8            # Spearman correlation of recall with the bound must exceed this
ORTHO_REG = 1e-4       # Brock et al.'s beta


def measure(ctx: Context) -> Measured:
    amenable = ctx.run_dir or ctx.train("gan", {**gan_overrides(ctx), "model.ortho_reg": ORTHO_REG})
    scorer = ImageScorer(trained_dataset(amenable), ctx.pick(300, 2000))
    rows, images = sweep(ctx, amenable, scorer)
    numbers, protocol = {"rows": rows}, {"run": describe_run(amenable)}
    if ctx.run_dir is None:
        plain = gan_run(ctx)
        numbers["rows_without"], plain_images = sweep(ctx, plain, scorer)
        images["no orthogonal reg., b=0.25"] = plain_images["samples, b=0.25"]
        protocol["run_without"] = describe_run(plain)
    protocol.update({"ortho_reg": ORTHO_REG if ctx.run_dir is None else "as the run was trained",
                     "sampler": "genzoo.sampling.sample_truncated (resample |z_i| > b)",
                     "prdc": "genzoo.metrics.prdc, k=5", **scorer.protocol()})
    return Measured(numbers, protocol, images)


def sweep(ctx: Context, run_dir, scorer: ImageScorer) -> tuple[list[dict], dict]:
    """Each bound's scores for the run's samples, and sample grids at the tightest and the loosest bound (keyed by
    their titles)."""
    model = genzoo.load(run_dir)
    rows, images = [], {}
    for b in ctx.bar(BOUNDS, "bounds"):
        x = sample_truncated(model, scorer.n, b, generator=torch.Generator().manual_seed(ctx.seed))
        feats = scorer.fx.features(x)
        m = prdc(scorer.real_feats.numpy(), feats.numpy(), k=5)
        rows.append({"bound": b, "precision": m.precision, "recall": m.recall, "density": m.density,
                     "coverage": m.coverage, "fd": frechet_distance(feats.numpy(), scorer.real_feats.numpy())})
        if b in (BOUNDS[0], BOUNDS[-1]):
            images[f"samples, b={b:g}"] = image_grid(x[:36], 6)
    return rows, images


def check(numbers: dict) -> Verdict:
    rows = numbers["rows"]
    tight, loose = rows[0], rows[-1]
    trend = spearman([r["bound"] for r in rows], [r["recall"] for r in rows])
    ok = tight["precision"] > loose["precision"] and tight["recall"] < loose["recall"] and trend > TREND
    return Verdict(ok, f"with orthogonal regularization, the tightest bound has higher precision and lower recall "
                       f"than the loosest, and recall rises with the bound (Spearman > {TREND}); the run without "
                       f"it is shown, not judged",
                   f"bound {tight['bound']:g}: precision {tight['precision']:.2f}, recall {tight['recall']:.2f}; "
                   f"bound {loose['bound']:g}: precision {loose['precision']:.2f}, recall {loose['recall']:.2f}; "
                   f"Spearman(bound, recall) {trend:.2f}{_without(numbers)}")


def _without(numbers: dict) -> str:
    if "rows_without" not in numbers:
        return ""
    tight, loose = numbers["rows_without"][0], numbers["rows_without"][-1]
    return (f"; without it: precision {tight['precision']:.2f} at bound {tight['bound']:g}, "
            f"{loose['precision']:.2f} at {loose['bound']:g}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(3, CLAIM, check(numbers), nrows=2, height=8.2)
    gs = axes[0][0].get_gridspec()
    for ax in axes[0]:
        ax.remove()
    left, right = fig.add_subplot(gs[0, :2]), fig.add_subplot(gs[0, 2])
    for rows, style, labelled in ((numbers["rows"], "o-", True), (numbers.get("rows_without"), "s--", False)):
        if rows is None:
            continue
        b = [r["bound"] for r in rows]
        for key, color in (("precision", "#1f77b4"), ("recall", "#d62728")):
            left.plot(b, [r[key] for r in rows], style, color=color, label=key if labelled else None)
        right.plot(b, [r["fd"] for r in rows], style, color="k")
    dashed = " (dashed: without orthogonal reg.)" if "rows_without" in numbers else ""
    left.set(xlabel="truncation bound b (|z_i| <= b)", ylabel="score (k = 5)", title="quality vs diversity" + dashed)
    left.legend(ncol=2)
    right.set(xlabel="truncation bound b", ylabel="Fréchet distance", title="FD (lower: better)")
    for ax, key in zip(axes[1], images):
        show_grid(ax, images[key], key)
    for ax in axes[1][len(images):]:
        ax.axis("off")
    save_figure(fig, path)


CLAIM = ("Truncating the latent distribution trades diversity (recall) for quality (precision) in a generator made "
         "amenable to truncation by orthogonal regularization")
EXPERIMENT = Experiment("truncation", CLAIM, "notes", "GAN Truncation trick", measure, check, plot,
                        uses_run="an unconditional GAN run on images")
