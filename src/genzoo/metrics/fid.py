"""Distances between two sets of features: Fréchet distance and kernel inception distance (KID).

Both work on any features (N, D): genzoo's own classifier features (see `features.py`) or
Inception pool features (see `inception.py`). Everything is computed in float64.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from ._common import MetricError, as_float64_2d, check_min_samples, check_same_dim


def feature_stats(feats) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D, D) of features (N, D), in float64."""
    f = as_float64_2d(feats, "features")
    check_min_samples(f, 2, "features", "a covariance needs two samples")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2, *, eps: float = 1e-6) -> float:
    """d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))   (Heusel et al. 2017, eq. 6).

    The matrix square root is scipy.linalg.sqrtm of S1 S2, of which the real part is kept
    (round-off gives tiny imaginary parts). When it is not finite (near-singular covariances),
    eps is added to both diagonals and the root is taken again, as in the reference code.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu2.shape != mu1.shape:
        raise MetricError(f"mu1 and mu2 must have the same shape; got {mu1.shape} and {mu2.shape}")
    for name, s in (("sigma1", s1), ("sigma2", s2)):
        if s.shape != (d, d):
            raise MetricError(f"{name} must have shape ({d}, {d}) to match the means; got {s.shape}")
    diff = mu1 - mu2
    with warnings.catch_warnings():  # singular products are expected (dead features); handled below
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(s1 @ s2)
        if not np.all(np.isfinite(covmean)):
            offset = np.eye(d) * eps
            covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))
    # A distance: tiny negative values are round-off.
    return max(value, 0.0)


def frechet_distance(feats_a, feats_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N_a, D) and (N_b, D)."""
    a = as_float64_2d(feats_a, "feats_a")
    b = as_float64_2d(feats_b, "feats_b")
    check_same_dim(a, b, "feats_a", "feats_b")
    mu1, s1 = feature_stats(a)
    mu2, s2 = feature_stats(b)
    return frechet_distance_from_stats(mu1, s1, mu2, s2)


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3 (Binkowski et al. 2018, eq. 2 with the KID kernel).

    MMD^2_u = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j)
              - 2/(mn) sum_{i,j} k(x_i, y_j)
    """
    m, n = x.shape[0], y.shape[0]
    kxx = _poly_kernel(x, x)
    kyy = _poly_kernel(y, y)
    kxy = _poly_kernel(x, y)
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kid(feats_a, feats_b, *, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel inception distance: unbiased MMD^2 (cubic polynomial kernel) averaged over subsets.

    Each of `subsets` rounds draws min(subset_size, N_a, N_b) samples without replacement from each
    set (numpy RandomState(seed)) and computes the unbiased MMD^2; returns (mean, std) over rounds
    (std with ddof=0, as in the reference implementation). Unbiased: it can be slightly negative
    when the two sets come from the same distribution.
    """
    a = as_float64_2d(feats_a, "feats_a")
    b = as_float64_2d(feats_b, "feats_b")
    check_same_dim(a, b, "feats_a", "feats_b")
    m = min(int(subset_size), a.shape[0], b.shape[0])
    if m < 2:
        raise MetricError(f"KID needs at least 2 samples in each set; got {a.shape[0]} and {b.shape[0]}")
    if subsets < 1:
        raise MetricError(f"KID needs subsets >= 1; got {subsets}")
    rng = np.random.RandomState(seed)
    vals = np.empty(subsets, dtype=np.float64)
    for i in range(subsets):
        ia = rng.choice(a.shape[0], m, replace=False)
        ib = rng.choice(b.shape[0], m, replace=False)
        vals[i] = mmd2_unbiased(a[ia], b[ib])
    return float(vals.mean()), float(vals.std())
