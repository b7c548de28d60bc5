"""Image corruptions used to calibrate the image metrics (Heusel et al. 2017, fig. A1 style).

Both take images (N, C, H, W), uint8 0..255 or float in [0, 1], and return float32 in [0, 1].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._common import MetricError, as_image_float


def gaussian_noise(x, std: float, *, seed: int = 0) -> torch.Tensor:
    """x + N(0, std^2) per pixel (torch.Generator seeded with `seed`), clamped to [0, 1]."""
    if std < 0:
        raise MetricError(f"noise std must be >= 0; got {std}")
    x = as_image_float(x)
    g = torch.Generator().manual_seed(seed)
    return (x + std * torch.randn(x.shape, generator=g)).clamp_(0.0, 1.0)


def gaussian_kernel1d(sigma: float, radius: int | None = None) -> torch.Tensor:
    """Normalized 1-D Gaussian taps exp(-t^2 / (2 sigma^2)), t = -radius..radius, radius = ceil(3 sigma)."""
    if radius is None:
        radius = max(1, math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-t**2 / (2 * sigma**2))
    return k / k.sum()


def gaussian_blur(x, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur (kernel radius ceil(3 sigma), reflect padding) per channel via conv2d."""
    if sigma < 0:
        raise MetricError(f"blur sigma must be >= 0; got {sigma}")
    x = as_image_float(x)
    if sigma == 0:
        return x.clone()
    n, c, h, w = x.shape
    k = gaussian_kernel1d(sigma)
    r = (k.numel() - 1) // 2
    mode = "reflect" if r < min(h, w) else "replicate"
    y = x.reshape(n * c, 1, h, w)
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode=mode), k.view(1, 1, 1, -1))
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode=mode), k.view(1, 1, -1, 1))
    return y.reshape(n, c, h, w).clamp_(0.0, 1.0)


def uniform_noise_images(n: int, shape: tuple[int, int, int], *, seed: int = 0) -> torch.Tensor:
    """n images of i.i.d. U(0, 1) pixels: the 'worst' reference row of the calibration table."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, *shape), generator=g)
