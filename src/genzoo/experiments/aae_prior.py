"""An adversarial autoencoder's aggregate posterior matches its prior (Makhzani et al. 2015, section
2 and figure 2): the codes q(z) = E_x q(z|x) of data it did not train on look like draws of
p(z) = N(0, I), while a plain autoencoder of the same networks, trained on reconstruction alone,
puts its codes wherever reconstruction is easiest.

The `aae` preset (Gaussian prior, reconstruction and regularization phases) and the `ae` preset
with the same encoder and decoder widths, the same reconstruction cost (binary cross-entropy) and
2-dimensional codes, as in the paper's figure, both trained by genzoo.train: two hidden layers of
256 units, 2,000 steps of batch 100 on the 8x8 digits (quick); 512 units, 3,000 steps on MNIST-5k
(full). Two statistics of the held-out codes against N(0, I):
the Frechet distance (genzoo.metrics.frechet_distance_from_stats, exact for the prior's moments:
mean 0, covariance I), which sees location and scale, and the Kolmogorov-Smirnov distance of
the squared radii |z|^2 from the chi-square distribution with 2 degrees of freedom that they
follow under the prior, which sees the shape.
"""
from __future__ import annotations

import numpy as np
import torch

import genzoo

from ..data import load_dataset
from ..metrics.fid import frechet_distance_from_stats
from .base import Context, Experiment, Measured, Verdict, describe_run, figure, quiet_run_overrides, save_figure

LATENT = 2
FD_RATIO = 10.0     # the plain AE's Frechet distance to N(0, I) at least this many times the AAE's
FD_MAX = 0.5        # the AAE's Frechet distance to N(0, I) below this (about the prior's own scale)
KS_RATIO = 2.0      # the AAE's KS distance from chi-square(2) at most 1/KS_RATIO of the plain AE's
KS_MAX = 0.25       # and below this
MODELS = ("aae", "ae")


def overrides(ctx: Context, preset: str) -> dict:
    """One model's run: 2-d codes, the same widths for both, the AAE's regularization nets its own."""
    hidden = ctx.pick([256, 256], [512, 512])
    sets = {**quiet_run_overrides(ctx.steps(2000, 3000), 100, ctx.seed), "data.name": ctx.pick("digits", "mnist5k"),
            "model.latent_dim": LATENT, "model.hidden": hidden}
    if preset == "aae":
        sets["model.disc_hidden"] = hidden
    else:
        sets["model.loss"] = "bce"
    return sets


def ks_chi2(z: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance of the squared radii |z|^2 from chi-square(dim z), their law under N(0, I)."""
    from scipy.stats import chi2, kstest
    return float(kstest((z ** 2).sum(1), chi2(z.shape[1]).cdf).statistic)


def distance_to_prior(z: np.ndarray) -> dict:
    """The codes' Frechet distance to N(0, I) and their squared radii's KS distance from chi-square."""
    d = z.shape[1]
    fd = frechet_distance_from_stats(z.mean(0), np.cov(z, rowvar=False).reshape(d, d), np.zeros(d), np.eye(d))
    return {"fd": fd, "ks": ks_chi2(z), "mean": z.mean(0).tolist(), "std": z.std(0).tolist()}


def measure(ctx: Context) -> Measured:
    dataset = ctx.pick("digits", "mnist5k")
    held_out = load_dataset(dataset, split="test")
    x = held_out.x.float().div(255)
    stats, runs, codes = {}, {}, {}
    for preset in ctx.bar(MODELS, "models"):
        run_dir = ctx.train(preset, overrides(ctx, preset))
        with torch.no_grad():
            z = genzoo.load(run_dir).eval().encode_mean(x).double().numpy()
        stats[preset], runs[preset], codes[preset] = distance_to_prior(z), describe_run(run_dir), z.round(4).tolist()
    protocol = {"presets": {p: overrides(ctx, p) for p in MODELS}, "runs": runs,
                "codes": f"encoder outputs of the {held_out.split} split of {dataset}, {len(x)} images",
                "fd": "genzoo.metrics.frechet_distance_from_stats(codes' mean and covariance, 0, I)",
                "ks": "scipy.stats.kstest of |z|^2 against chi-square(2)"}
    numbers = {"stats": stats, "labels": held_out.y.tolist(), "codes": codes, "held_out": len(x)}
    return Measured(numbers, protocol)


def check(numbers: dict) -> Verdict:
    aae, ae = numbers["stats"]["aae"], numbers["stats"]["ae"]
    ok = (aae["fd"] < FD_MAX and ae["fd"] >= FD_RATIO * aae["fd"] and aae["ks"] < KS_MAX
          and ae["ks"] >= KS_RATIO * aae["ks"])
    return Verdict(bool(ok), f"on held-out codes, the AAE's Frechet distance to N(0, I) is below {FD_MAX} and at most "
                             f"1/{FD_RATIO:g} of the plain AE's, and the KS distance of its squared radii from "
                             f"chi-square(2) is below {KS_MAX} and at most 1/{KS_RATIO:g} of the plain AE's",
                   f"Frechet distance to N(0, I): AAE {aae['fd']:.3f}, AE {ae['fd']:.2f} "
                   f"({ae['fd'] / max(aae['fd'], 1e-12):.0f}x); KS of |z|^2: AAE {aae['ks']:.3f}, AE {ae['ks']:.3f}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(2, CLAIM, check(numbers))
    labels = np.array(numbers["labels"])
    titles = {"aae": "adversarial autoencoder", "ae": "plain autoencoder"}
    theta = np.linspace(0, 2 * np.pi, 200)
    for ax, name in zip(axes[0], MODELS):
        z, s = np.array(numbers["codes"][name]), numbers["stats"][name]
        points = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", s=9, vmin=-0.5, vmax=9.5)
        for r, style in ((np.sqrt(2 * np.log(2)), "--"), (np.sqrt(2 * np.log(20)), ":")):   # 50 % and 95 % of N(0, I)
            ax.plot(r * np.cos(theta), r * np.sin(theta), "k" + style, lw=1.2)
        ax.set(title=f"{titles[name]}: FD {s['fd']:.2f}, KS {s['ks']:.2f}", xlabel="z_1 (circles: 50 % and 95 % of N(0, I))", ylabel="z_2")
        ax.set_aspect("equal", adjustable="datalim")
    fig.colorbar(points, ax=axes[0][1], ticks=range(10), label="digit")
    save_figure(fig, path)


CLAIM = ("An adversarial autoencoder's codes follow its prior N(0, I); a plain autoencoder's codes, trained on "
         "reconstruction alone, do not")
EXPERIMENT = Experiment("aae-prior", CLAIM, "nnml", "Adversarial Auto Encoding: The Main Idea", measure, check, plot)
