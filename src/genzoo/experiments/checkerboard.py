"""Transposed convolutions whose kernel size is not a multiple of the stride overlap unevenly and
leave checkerboard artifacts that training does not remove; with an even overlap training removes
them; resize-then-convolve has none (Odena, Dumoulin & Olah 2016).

A transposed convolution moved by stride 2 lets each output pixel collect its value from a different
subset of the kernel depending on its parity: the output carries a pattern of period 2, energy at
the checkerboard frequencies (pi, pi), (pi, 0), (0, pi). With kernel 3 the subsets differ in size
(one tap or two per dimension: uneven overlap), so even a constant input comes out as a
checkerboard unless the weights happen to cancel it; with kernel 4 every pixel gets two taps (even
overlap), and the pattern comes only from unequal weights, which training can equalize.
Nearest-neighbour resizing makes 2x2 blocks of equal values, which have no energy there, and a
convolution cannot create any. Measured: the share of each image's spectral energy (mean removed)
at those three frequencies, for the `dcgan` generator with each up-sampling, at initialization and
after training (genzoo.train, same seed).
"""
from __future__ import annotations

import numpy as np
import torch

import genzoo

from ..data import load_dataset
from ..nets import DCGANGenerator
from .base import Context, Experiment, Measured, Verdict, dcgan_overrides, figure, image_grid, save_figure, show_grid

UPSAMPLES = ("transposed3", "transposed", "resize")
LABELS = {"transposed3": "kernel 3, stride 2 (uneven)", "transposed": "kernel 4, stride 2 (even)",
          "resize": "resize + conv 3x3"}
FACTOR = 2.0       # an artifact: a share above this many times the resize generator's
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


def ratios(numbers: dict) -> dict:
    """Each transposed generator's checkerboard share over the resize generator's, at init and trained."""
    return {u: {when: numbers[when][u] / max(numbers[when]["resize"], 1e-20) for when in ("init", "trained")}
            for u in UPSAMPLES[:2]}


def check(numbers: dict) -> Verdict:
    r = ratios(numbers)
    uneven, even = r["transposed3"], r["transposed"]
    ok = uneven["init"] > FACTOR and uneven["trained"] > FACTOR and even["init"] > FACTOR and even["trained"] < FACTOR
    return Verdict(ok, f"share of energy at the checkerboard frequencies over the resize-convolution generator's: "
                       f"kernel 3 stride 2 above {FACTOR}x at initialization and after training; kernel 4 stride 2 "
                       f"above {FACTOR}x at initialization and below it after training",
                   f"over resize: kernel 3 {uneven['init']:.0f}x at init, {uneven['trained']:.1f}x trained; "
                   f"kernel 4 {even['init']:.0f}x at init, {even['trained']:.1f}x trained (trained shares "
                   f"{numbers['trained']['transposed3']:.2e}, {numbers['trained']['transposed']:.2e}, "
                   f"{numbers['trained']['resize']:.2e}; data {numbers['data']:.2e})")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(3, CLAIM, check(numbers), nrows=3, height=8.4)
    gs = axes[0][0].get_gridspec()
    for ax in axes[:, 0]:
        ax.remove()
    bar_ax = fig.add_subplot(gs[:, 0])
    x = np.arange(2)
    for i, upsample in enumerate(UPSAMPLES):
        bar_ax.bar(x + (i - 1) * 0.27, [numbers["init"][upsample], numbers["trained"][upsample]], 0.27,
                   label=LABELS[upsample], color=["#d62728", "#ff7f0e", "#1f77b4"][i])
    bar_ax.axhline(numbers["data"], color="k", ls="--", label="real digits")
    bar_ax.set(xticks=x, xticklabels=["at init", "trained"], yscale="log", ylabel="share of spectral energy",
               title="checkerboard frequencies")
    bar_ax.legend(fontsize=9, loc="upper right")
    for r, upsample in enumerate(UPSAMPLES):
        show_grid(axes[r][1], images[f"{upsample} init"], f"{LABELS[upsample]}:\ninit (stretched)")
        show_grid(axes[r][2], images[f"{upsample} trained"], "trained")
    save_figure(fig, path)


CLAIM = ("Transposed convolutions whose kernel is not a multiple of the stride (3 by 2) leave checkerboard artifacts "
         "that survive training; with an even overlap (4 by 2) training removes them; resize-convolution has none")
EXPERIMENT = Experiment("checkerboard", CLAIM, "nnml", "Unequal pixel coverage (checkerboards)", measure, check, plot)
