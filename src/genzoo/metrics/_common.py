"""Shared helpers for the metrics: input checking and conversion, one error class."""
from __future__ import annotations

import numpy as np
import torch

from ..errors import GenzooError


class MetricError(GenzooError):
    """A metric was given inputs it cannot use (wrong shape, range, too few samples, missing weights)."""


def as_float64_2d(x, name: str) -> np.ndarray:
    """Features as a float64 numpy array of shape (N, D); a clear error otherwise."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().to(torch.float64).numpy()
    else:
        x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise MetricError(f"{name} must be a 2-D array of features (N, D); got shape {tuple(x.shape)}")
    if not np.all(np.isfinite(x)):
        raise MetricError(f"{name} contains NaN or infinite values")
    return x


def check_same_dim(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[1] != b.shape[1]:
        raise MetricError(
            f"{name_a} and {name_b} must have the same feature dimension; got shapes "
            f"{tuple(a.shape)} and {tuple(b.shape)}")


def check_min_samples(x, n_min: int, name: str, why: str) -> None:
    if x.shape[0] < n_min:
        raise MetricError(f"{name} needs at least {n_min} samples ({why}); got {x.shape[0]}")


def as_image_float(x, name: str = "images") -> torch.Tensor:
    """Images (N, C, H, W) as float32 in [0, 1]: uint8 is divided by 255, float must already be in [0, 1]."""
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.ndim == 3:  # (N, H, W): one channel
        x = x.unsqueeze(1)
    if x.ndim != 4:
        raise MetricError(f"{name} must have shape (N, C, H, W); got {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        return x.to(torch.float32).div_(255.0)
    if not torch.is_floating_point(x):
        raise MetricError(f"{name} must be uint8 (0..255) or float in [0, 1]; got dtype {x.dtype}")
    x = x.detach().to(torch.float32)
    if x.numel():
        lo, hi = float(x.min()), float(x.max())
        if lo < -1e-3 or hi > 1 + 1e-3 or not (np.isfinite(lo) and np.isfinite(hi)):
            raise MetricError(
                f"{name} must be in [0, 1] (or uint8 0..255); got values in [{lo:.3g}, {hi:.3g}]"
                " - map tanh outputs with (x + 1) / 2 first")
    return x.clamp(0.0, 1.0)


def binarized(x: torch.Tensor, seed: int) -> torch.Tensor:
    """One Bernoulli draw per pixel of x in [0, 1], seeded: test images scored by a model of binary pixels."""
    return torch.bernoulli(x, generator=torch.Generator().manual_seed(seed))
