"""Stride-2 transposed convolutions leave a checkerboard locked to the pixel grid; where the kernel
overlaps unevenly (kernel 3) it survives training; resize-then-convolve has none (Odena, Dumoulin &
Olah 2016). With DCGAN's kernel 4 (even overlap) training may remove the pattern or keep it: on two
machines the same seed's run kept 14x and 2x the resize generator's share, so that case is drawn,
not judged.

A transposed convolution moved by stride 2 lets each output pixel collect its value from a
different subset of the kernel depending on its parity. With kernel 3 (not a multiple of the
stride: Odena et al.'s uneven overlap) even pixels get one tap per dimension and odd ones two, so
even a constant input comes out as a checkerboard; with DCGAN's kernel 4 the overlap is even and
the pattern comes from the taps' weights differing. Either way the pattern has period 2 and sits at
the same pixels in every sample. Nearest-neighbour resizing makes 2x2 blocks of equal values, and a
convolution of a flat region stays flat.

Measured for the `dcgan` generator with each up-sampling, at initialization and after training
(genzoo.train, same seed), on 256 samples: the grid-locked share, the energy of the mean sample at
the checkerboard frequencies (pi, pi), (pi, 0), (0, pi) over the mean energy of a sample (each
image's mean removed), and the per-image share, which counts each image's energy there whatever
its phase (so it also counts the digits' own sharp edges).
"""
from __future__ import annotations

import numpy as np
import torch

import genzoo

from ..data import load_dataset
from ..nets import DCGANGenerator
from .base import Context, Experiment, Measured, Verdict, dcgan_overrides, figure, image_grid, save_figure, show_grid

UPSAMPLES = ("transposed", "transposed3", "resize")
TRANSPOSED = ("transposed", "transposed3")
LABELS = {"transposed": "transposed k4", "transposed3": "transposed k3", "resize": "resize-conv"}
FACTOR = 4.0       # each transposed generator's grid-locked share exceeds the resize generator's by this factor
N_IMAGES = 256


def _spectra(images: torch.Tensor) -> torch.Tensor:
    """The 2-D FFT of every image channel (N*C, H, W), each image's mean removed (float64)."""
    x = images.double().flatten(0, 1)
    return torch.fft.fft2(x - x.mean(dim=(1, 2), keepdim=True))


def _checkerboard_mask(height: int, width: int) -> torch.Tensor:
    """True at the frequencies (H/2, W/2), (H/2, 0), (0, W/2) of an H x W spectrum."""
    mask = torch.zeros(height, width, dtype=torch.bool)
    h, w = height // 2, width // 2
    mask[h, w] = mask[h, 0] = mask[0, w] = True
    return mask


def _at_checkerboard(f: torch.Tensor) -> torch.Tensor:
    """The values of spectra (..., H, W) at the checkerboard frequencies, shape (..., 3)."""
    return f[..., _checkerboard_mask(*f.shape[-2:])]


def checkerboard_share(images: torch.Tensor) -> float:
    """Mean over images (N, C, H, W) of the share of spectral energy (mean removed) at the checkerboard
    frequencies, whatever their phase."""
    power = _spectra(images).abs().pow(2)
    return float((_at_checkerboard(power).sum(-1) / power.sum(dim=(1, 2)).clamp_min(1e-20)).mean())


def grid_locked_share(images: torch.Tensor) -> float:
    """The energy of the mean image at the checkerboard frequencies over the mean energy of an image
    (means removed): only a pattern at the same pixels in every image survives the averaging."""
    f = _spectra(images)
    locked = _at_checkerboard(f.mean(dim=0)).abs().pow(2).sum()
    return float(locked / f.abs().pow(2).sum(dim=(1, 2)).mean().clamp_min(1e-20))


def grid_locked_pattern(images: torch.Tensor) -> np.ndarray:
    """The checkerboard part of the mean image (H, W): its components at the checkerboard frequencies."""
    f = _spectra(images).mean(dim=0)
    return torch.fft.ifft2(f * _checkerboard_mask(*f.shape)).real.numpy()


def _stretch(images: torch.Tensor) -> torch.Tensor:
    """Each image's values mapped to [0, 1] (initial generators' outputs are nearly constant grey)."""
    lo = images.amin(dim=(1, 2, 3), keepdim=True)
    hi = images.amax(dim=(1, 2, 3), keepdim=True)
    return (images - lo) / (hi - lo).clamp_min(1e-8)


def _overrides(ctx: Context, upsample: str) -> dict:
    return dcgan_overrides(ctx, **{"model.nets.upsample": upsample})


def _shares(images: torch.Tensor) -> dict:
    return {"grid_locked": grid_locked_share(images), "per_image": checkerboard_share(images)}


def _initial_samples(ctx: Context, upsample: str, shape, width: int) -> torch.Tensor:
    torch.manual_seed(ctx.seed)
    G = DCGANGenerator(100, shape, width=width, upsample=upsample)
    with torch.no_grad():
        return (G(torch.randn(N_IMAGES, 100, generator=torch.Generator().manual_seed(ctx.seed))) + 1) / 2


def measure(ctx: Context) -> Measured:
    dataset = ctx.pick("digits", "mnist5k")
    real = load_dataset(dataset).x[:N_IMAGES].float().div(255)
    numbers, images = {"data": _shares(real), "init": {}, "trained": {}}, {}
    for upsample in ctx.bar(UPSAMPLES, "generators"):
        sets = _overrides(ctx, upsample)
        initial = _initial_samples(ctx, upsample, real.shape[1:], sets["model.nets.width"])
        trained = genzoo.load(ctx.train("dcgan", sets)).sample(N_IMAGES, generator=torch.Generator().manual_seed(1))
        numbers["init"][upsample], numbers["trained"][upsample] = _shares(initial), _shares(trained)
        images[f"{upsample} trained"] = image_grid(trained[:4], 2)
        images[f"{upsample} pattern"] = grid_locked_pattern(trained)
    protocol = {"preset": "dcgan", "overrides": {u: _overrides(ctx, u) for u in UPSAMPLES}, "images": N_IMAGES,
                "grid_locked": "|mean over images of FFT2|^2 at (H/2, W/2), (H/2, 0), (0, W/2) over the mean of "
                               "sum |FFT2|^2 (each image's mean removed)",
                "per_image": "mean over images of the share of |FFT2|^2 (mean removed) at the same frequencies",
                "data": dataset, "init": "DCGANGenerator with torch.manual_seed(seed), batch-norm in training mode"}
    return Measured(numbers, protocol, images)


def _ratios(numbers: dict, when: str, measure: str = "grid_locked") -> dict:
    resize = max(numbers[when]["resize"][measure], 1e-20)
    return {u: numbers[when][u][measure] / resize for u in TRANSPOSED}


def check(numbers: dict) -> Verdict:
    locked = {when: _ratios(numbers, when) for when in ("init", "trained")}
    per_image = _ratios(numbers, "trained", "per_image")
    holds = all(r > FACTOR for r in locked["init"].values()) and locked["trained"]["transposed3"] > FACTOR
    return Verdict(holds,
                   f"at initialization the grid-locked checkerboard share of each transposed-convolution generator "
                   f"(kernel 4 and kernel 3, stride 2) exceeds the resize-convolution generator's by more than "
                   f"{FACTOR:g}x, and after training that of the uneven-overlap one (kernel 3) still does; the "
                   f"even-overlap one (kernel 4) after training is shown, not judged",
                   f"grid-locked share over resize-conv: trained k3 {locked['trained']['transposed3']:.0f}x, "
                   f"k4 {locked['trained']['transposed']:.0f}x; at init k4 {locked['init']['transposed']:.0f}x, "
                   f"k3 {locked['init']['transposed3']:.0f}x; per-image share after training k4 "
                   f"{per_image['transposed']:.1f}x, k3 {per_image['transposed3']:.1f}x; trained resize-conv "
                   f"{numbers['trained']['resize']['grid_locked']:.1e}, data {numbers['data']['grid_locked']:.1e}")


def plot(numbers: dict, images: dict, path) -> None:
    fig, axes = figure(3, CLAIM, check(numbers), nrows=3, height=8.4)
    gs = axes[0][0].get_gridspec()
    for ax in axes[:, 0]:
        ax.remove()
    bar_ax = fig.add_subplot(gs[:, 0])
    x = np.arange(2)
    for i, upsample in enumerate(UPSAMPLES):
        bar_ax.bar(x + (i - 1) * 0.27, [numbers[w][upsample]["grid_locked"] for w in ("init", "trained")], 0.27,
                   label=LABELS[upsample], color=["#d62728", "#ff7f0e", "#1f77b4"][i])
    bar_ax.axhline(numbers["data"]["grid_locked"], color="k", ls="--", label="real digits")
    bar_ax.set(xticks=x, xticklabels=["at init", "trained"], yscale="log", ylabel="grid-locked share of energy",
               title="checkerboard at fixed pixels")
    top = max(numbers[w][u]["grid_locked"] for w in ("init", "trained") for u in UPSAMPLES)
    bar_ax.set_ylim(top=top * 30)   # room for the legend above the bars
    bar_ax.legend(fontsize=9.5, loc="upper right")
    scale = max(np.abs(images[f"{u} pattern"]).max() for u in UPSAMPLES) or 1.0
    for r, upsample in enumerate(UPSAMPLES):
        show_grid(axes[r][1], images[f"{upsample} trained"], f"{LABELS[upsample]}: samples")
        axes[r][2].imshow(images[f"{upsample} pattern"], cmap="RdBu", vmin=-scale, vmax=scale, interpolation="nearest")
        axes[r][2].set(title="checkerboard part of the mean", xticks=[], yticks=[])
    save_figure(fig, path)


CLAIM = ("Stride-2 transposed convolutions leave a checkerboard at fixed pixels; with uneven overlap (kernel 3) it "
         "survives training, and resize-then-convolve has none")
EXPERIMENT = Experiment("checkerboard", CLAIM, "nnml", "Unequal pixel coverage (checkerboards)", measure, check, plot)
