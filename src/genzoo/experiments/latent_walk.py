"""Walks in a GAN's latent space are smooth (Radford et al. 2015, sec. 6.1; lecture: "interpolating between
random points in latent space", "vector arithmetic").

Paths of `FRAMES` frames between two random latents of the shared `gan` run (the preset on
MNIST-5k, which truncation also reads), linear (lerp) and
spherical (slerp) (genzoo.sampling.interpolation_grid). Smoothness: the distance, in the features
of genzoo's classifier, between neighbouring frames, against the distance between independent
random samples. Also shown: latent arithmetic with concepts found by the classifier
(genzoo.sampling.arithmetic_by_class), with the class the classifier gives its result.
"""
from __future__ import annotations

import torch

import genzoo

from ..sampling import arithmetic_by_class, interpolation_grid
from .base import (Context, Experiment, Measured, Verdict, describe_run, features_of, figure, gan_run, image_grid,
                   save_figure, show_grid, trained_dataset)

FRAMES = 10
PATHS = 8
SMOOTH = 0.5           # mean neighbour distance / mean random-pair distance must stay below this
ARITHMETIC = (7, 1, 0)  # mean z of "7" - mean z of "1" + mean z of "0"


def neighbour_distances(feats: torch.Tensor, paths: int) -> torch.Tensor:
    """Feature distances between consecutive frames, (paths, frames - 1), of features in path-major order."""
    f = feats.view(paths, -1, feats.shape[1])
    return (f[:, 1:] - f[:, :-1]).norm(dim=2)


def measure(ctx: Context) -> Measured:
    run_dir = gan_run(ctx)
    model = genzoo.load(run_dir)
    fx = features_of(trained_dataset(run_dir))
    g = torch.Generator().manual_seed(ctx.seed)
    numbers, images = {"frames": FRAMES, "paths": PATHS, "modes": {}}, {}
    for mode in ctx.bar(("linear", "slerp"), "walks"):
        x = interpolation_grid(model, PATHS, FRAMES, mode=mode, generator=g)
        d = neighbour_distances(fx.features(x), PATHS)
        numbers["modes"][mode] = {"neighbour_mean": float(d.mean()), "neighbour_max": float(d.max()),
                                  "per_step": d.mean(0).tolist()}
        images[mode] = image_grid(x[:4 * FRAMES], FRAMES)
    a, b = fx.features(model.sample(500, generator=g)), fx.features(model.sample(500, generator=g))
    numbers["random_pair_mean"] = float((a - b).norm(dim=1).mean())
    result = arithmetic_by_class(model, fx.net, ARITHMETIC, per_group=ctx.pick(4, 8), pool=ctx.pick(256, 2048),
                                 generator=g)
    per = len(result) // 4
    numbers["arithmetic"] = {"classes": list(ARITHMETIC),
                             "result_classes": fx.probs(result[3 * per:]).argmax(1).tolist()}
    images["arithmetic"] = image_grid(result, per)
    protocol = {"run": describe_run(run_dir), "paths": PATHS, "frames": FRAMES, "features": fx.describe(),
                "random pairs": "500 pairs of independent samples",
                "interpolation": "genzoo.sampling.interpolation_grid",
                "arithmetic": "genzoo.sampling.arithmetic_by_class with genzoo's classifier"}
    return Measured(numbers, protocol, images)


def check(numbers: dict) -> Verdict:
    ratios = {m: v["neighbour_mean"] / numbers["random_pair_mean"] for m, v in numbers["modes"].items()}
    return Verdict(all(r < SMOOTH for r in ratios.values()),
                   f"for linear and spherical walks of {numbers['frames']} frames, the mean feature distance between "
                   f"neighbouring frames is below {SMOOTH}x the mean distance between random samples",
                   "neighbour / random-pair distance: " + ", ".join(f"{m} {r:.2f}" for m, r in ratios.items())
                   + f"; arithmetic {numbers['arithmetic']['classes']} gives classes "
                   f"{numbers['arithmetic']['result_classes']}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers), nrows=2, height=7.6, gridspec_kw={"width_ratios": [2.2, 1]})
    show_grid(axes[0][0], images["linear"], "linear interpolation (each row: one walk)")
    show_grid(axes[1][0], images["slerp"], "spherical interpolation")
    ax = axes[0][1]
    for mode, color in (("linear", "#1f77b4"), ("slerp", "#ff7f0e")):
        ax.plot(range(1, numbers["frames"]), numbers["modes"][mode]["per_step"], "o-", color=color, label=mode)
    ax.axhline(numbers["random_pair_mean"], color="#d62728", ls="--", label="random pairs")
    ax.set(xlabel="step along the walk", ylabel="feature distance", title="neighbouring frames", ylim=(0, None))
    ax.legend(fontsize=9.5)
    a, b, c = numbers["arithmetic"]["classes"]
    show_grid(axes[1][1], images["arithmetic"], f"rows: {a}, {b}, {c}; {a} - {b} + {c}")
    save_figure(fig, path)


CLAIM = "Walks through a GAN's latent space change the image smoothly (neighbouring frames are close)"
EXPERIMENT = Experiment("latent-walk", CLAIM, "sun", "Interpolating between random points in latent space; "
                        "Vector Arithmetic", measure, check, plot, uses_run="an unconditional GAN run on images")
