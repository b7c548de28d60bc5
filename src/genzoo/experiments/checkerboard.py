"""Stride-2 transposed convolutions leave checkerboard artifacts; resize-then-convolve does not
(Odena, Dumoulin & Olah 2016).

A kernel of size 4 moved by stride 2 lets each output pixel collect its value from a different
subset of the kernel depending on its parity: the output carries a pattern of period 2, energy at
the checkerboard frequencies (pi, pi), (pi, 0), (0, pi). Nearest-neighbour resizing makes 2x2 blocks
of equal values, which have no energy there, and a convolution cannot create any. Measured: the
share of each image's spectral energy (mean removed) at those three frequencies, for the `dcgan`
generator with each up-sampling, at initialization and after training (genzoo.train, same seed).
"""
from __future__ import annotations

import numpy as np
import torch

import genzoo

from ..data import load_dataset
from ..nets import DCGANGenerator
from .base import Context, Experiment, Measured, Verdict, dcgan_overrides, figure, image_grid, save_figure, show_grid

UPSAMPLES = ("transposed", "resize")
FACTOR = 2.0       # the transposed generator's share must exceed the resize generator's by this factor
N_IMAGES = 256


def checkerboard_share(images: torch.Tensor) -> float:
    """Mean over images (N, C, H, W) of the share of spectral energy (mean removed) at the checkerboard
    frequencies (H/2, W/2), (H/2, 0), (0, W/2)."""
    x = images.double().flatten(0, 1)
    x = x - x.mean(dim=(1, 2), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2)
    h, w = x.shape[1] // 2, x.shape[2] // 2
    at = power[:, h, w] + power[:, h, 0] + power[:, 0, w]
    return float((at / power.sum(dim=(1, 2)).clamp_min(1e-20)).mean())


def _stretch(images: torch.Tensor) -> torch.Tensor:
    """Each image's values mapped to [0, 1] (initial generators' outputs are nearly constant grey)."""
    lo = images.amin(dim=(1, 2, 3), keepdim=True)
    hi = images.amax(dim=(1, 2, 3), keepdim=True)
    return (images - lo) / (hi - lo).clamp_min(1e-8)


def _overrides(ctx: Context, upsample: str) -> dict:
    return dcgan_overrides(ctx, **{"model.nets.upsample": upsample})


def measure(ctx: Context) -> Measured:
    dataset = ctx.pick("digits", "mnist5k")
    real = load_dataset(dataset).x[:N_IMAGES].float().div(255)
    numbers, images = {"data": checkerboard_share(real), "init": {}, "trained": {}}, {}
    for upsample in ctx.bar(UPSAMPLES, "generators"):
        sets = _overrides(ctx, upsample)
        torch.manual_seed(ctx.seed)
        G = DCGANGenerator(100, real.shape[1:], width=sets["model.nets.width"], upsample=upsample)
        with torch.no_grad():
            initial = (G(torch.randn(N_IMAGES, 100, generator=torch.Generator().manual_seed(ctx.seed))) + 1) / 2
        trained = genzoo.load(ctx.train("dcgan", sets)).sample(N_IMAGES, generator=torch.Generator().manual_seed(1))
        numbers["init"][upsample] = checkerboard_share(initial)
        numbers["trained"][upsample] = checkerboard_share(trained)
        images[f"{upsample} init"] = image_grid(_stretch(initial[:4]), 2)
        images[f"{upsample} trained"] = image_grid(trained[:4], 2)
    protocol = {"preset": "dcgan", "overrides": {u: _overrides(ctx, u) for u in UPSAMPLES},
                "images": N_IMAGES, "measure": "share of |FFT2|^2 (mean removed) at (H/2, W/2), (H/2, 0), (0, W/2)",
                "data": dataset, "init": "DCGANGenerator with torch.manual_seed(seed), batch-norm in training mode"}
    return Measured(numbers, protocol, images)


def check(numbers: dict) -> Verdict:
    ratios = {when: numbers[when]["transposed"] / max(numbers[when]["resize"], 1e-20) for when in ("init", "trained")}
    return Verdict(all(r > FACTOR for r in ratios.values()),
                   f"the transposed-convolution generator's share of energy at the checkerboard frequencies "
                   f"exceeds the resize-convolution generator's by more than {FACTOR}x, at initialization and "
                   f"after training",
                   f"checkerboard share: init transposed {numbers['init']['transposed']:.2e} vs resize "
                   f"{numbers['init']['resize']:.2e} ({ratios['init']:.0f}x); trained "
                   f"{numbers['trained']['transposed']:.2e} vs {numbers['trained']['resize']:.2e} "
                   f"({ratios['trained']:.1f}x); data {numbers['data']:.2e}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(3, CLAIM, check(numbers), nrows=2, height=6.4)
    gs = axes[0][0].get_gridspec()
    for ax in axes[:, 0]:
        ax.remove()
    bar_ax = fig.add_subplot(gs[:, 0])
    x = np.arange(2)
    for i, upsample in enumerate(UPSAMPLES):
        bar_ax.bar(x + (i - 0.5) * 0.38, [numbers["init"][upsample], numbers["trained"][upsample]], 0.38,
                   label=upsample, color=["#d62728", "#1f77b4"][i])
    bar_ax.axhline(numbers["data"], color="k", ls="--", label="real digits")
    bar_ax.set(xticks=x, xticklabels=["at init", "trained"], yscale="log", ylabel="share of spectral energy",
               title="checkerboard frequencies")
    bar_ax.legend(fontsize=9.5, loc="center right")
    for r, upsample in enumerate(UPSAMPLES):
        show_grid(axes[r][1], images[f"{upsample} init"], f"{upsample}: init (stretched)")
        show_grid(axes[r][2], images[f"{upsample} trained"], f"{upsample}: trained")
    save_figure(fig, path)


CLAIM = ("Stride-2 transposed convolutions leave checkerboard artifacts (energy at the checkerboard frequency); "
         "resize-then-convolve does not")
EXPERIMENT = Experiment("checkerboard", CLAIM, "nnml", "Unequal pixel coverage (checkerboards)", measure, check, plot)
