"""Mode metrics for the 2-D toy mixtures, following the PacGAN protocol (Lin et al. 2018).

What the PacGAN code computes (its MetricLogger), and so what we compute:
- each sample is assigned to its nearest mode; it is *high quality* when that distance is
  strictly less than 3 standard deviations (``min_dis < 3`` in units of std);
- a mode is *captured* when at least one high-quality sample is assigned to it;
- the mode histogram counts high-quality samples only; p_i = n_i / sum_j n_j;
- reverse KL = KL(p || uniform) = sum_{i: p_i > 0} p_i log(p_i M) = log M - H(p), in nats
  (the paper's "reverse KL"; the code logs the entropy H(p) of the same histogram).
  It is NaN when there is no high-quality sample (the histogram is undefined).
Their log-likelihood column uses unnormalized mixture weights and a 1e-200 floor; we give the
exact mean log-density under the equal-weight isotropic mixture instead (`mean_log_density`).
The design asks for 2,500 samples per evaluation and the mean and standard error over seeds
(`aggregate_over_seeds`).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ._common import MetricError
from .registry import register_metric
from ..data import toy_modes

if TYPE_CHECKING:
    from .context import Evaluation


@dataclass
class ModeMetrics:
    modes_captured: int
    num_modes: int
    high_quality_fraction: float  # in [0, 1]; "% high quality" is 100 x this
    reverse_kl: float  # nats; NaN if no high-quality sample
    mode_counts: list[int]
    n_samples: int
    # diagnostics of the misses (not PacGAN's): the share of samples 3-6 std from their nearest mode
    # (a mode drawn too wide) and 6 std or more (between modes); and the spread, the RMS distance to
    # the nearest mode / sqrt(dim) over the samples within 6 std, in std. A generator that draws the
    # mixture exactly scores spread 1.0 and, in 2-D, near misses exp(-4.5) - exp(-18) = 1.1%.
    near_miss_fraction: float = float("nan")
    far_miss_fraction: float = float("nan")
    spread: float = float("nan")
    protocol: dict = field(default_factory=dict)

    @property
    def high_quality_percent(self) -> float:
        return 100.0 * self.high_quality_fraction

    def to_dict(self) -> dict:
        d = asdict(self)
        d["high_quality_percent"] = self.high_quality_percent
        return d


def _points(x, name, dim=None) -> torch.Tensor:
    t = x.detach().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    t = t.to(torch.float64)
    if t.ndim != 2 or (dim is not None and t.shape[1] != dim):
        raise MetricError(f"{name} must have shape (N, {dim or 'D'}); got {tuple(t.shape)}")
    return t


def mode_metrics(samples, centers, std: float, *, threshold: float = 3.0) -> ModeMetrics:
    """PacGAN mode metrics of samples (N, 2) against a mixture with `centers` (M, 2) and isotropic `std`."""
    c = _points(centers, "centers")
    x = _points(samples, "samples", dim=c.shape[1])
    if std <= 0:
        raise MetricError(f"std must be positive; got {std}")
    m = c.shape[0]
    d = torch.cdist(x, c) / std                      # (N, M) in units of std
    dmin, nearest = d.min(dim=1)
    good = dmin < threshold
    within = dmin < 2 * threshold
    counts = torch.bincount(nearest[good], minlength=m).numpy()
    n_good = int(counts.sum())
    if n_good > 0:
        p = counts / n_good
        nz = p > 0
        rkl = float(np.sum(p[nz] * np.log(p[nz] * m)))
    else:
        rkl = float("nan")
    return ModeMetrics(
        modes_captured=int((counts > 0).sum()),
        num_modes=m,
        high_quality_fraction=n_good / max(x.shape[0], 1),
        reverse_kl=rkl,
        mode_counts=[int(v) for v in counts],
        n_samples=int(x.shape[0]),
        near_miss_fraction=float((within & ~good).double().mean()),
        far_miss_fraction=float((~within).double().mean()),
        spread=float(dmin[within].pow(2).mean().div(c.shape[1]).sqrt()) if within.any() else float("nan"),
        protocol={"protocol": "PacGAN (Lin et al. 2018)", "threshold_std": threshold, "std": float(std),
                  "distance": "Euclidean to nearest mode, strict <", "kl": "KL(p_modes || uniform), nats,"
                  " over high-quality samples"})


def mean_log_density(samples, centers, std: float) -> float:
    """Mean over samples of log p(x), p = (1/M) sum_i N(x; c_i, std^2 I), computed with logsumexp (float64)."""
    c = _points(centers, "centers")
    x = _points(samples, "samples", dim=c.shape[1])
    if std <= 0:
        raise MetricError(f"std must be positive; got {std}")
    m, dim = c.shape
    sq = torch.cdist(x, c).pow(2)
    log_comp = -0.5 * sq / std**2 - dim * math.log(std) - 0.5 * dim * math.log(2 * math.pi)
    return float((torch.logsumexp(log_comp, dim=1) - math.log(m)).mean())


def toy_metrics(samples, centers, std: float) -> dict:
    """Everything for one run: PacGAN mode metrics plus the exact mean log-density, with the protocol."""
    mm = mode_metrics(samples, centers, std)
    d = mm.to_dict()
    d["mean_log_density"] = mean_log_density(samples, centers, std)
    return d


def aggregate_over_seeds(results: list[dict], keys=("modes_captured", "high_quality_percent", "reverse_kl")) -> dict:
    """Mean and standard error (std with ddof=1 / sqrt(n)) of each key over runs with different seeds."""
    out = {"n_seeds": len(results)}
    for k in keys:
        v = np.asarray([r[k] for r in results], dtype=np.float64)
        se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
        out[k] = {"mean": float(v.mean()), "stderr": se}
    return out


# ----------------------------------------------------------------------------- genzoo eval's toy metric

def _format_toy(r: dict) -> str:
    kl = r["reverse_kl"]   # NaN when no sample is of high quality: the mode histogram is empty
    kl = "undefined (no high-quality sample)" if kl != kl else f"{kl:.3f}"
    return (f"modes {r['modes_captured']}/{r['num_modes']}, high quality {r['high_quality_percent']:.1f}%, "
            f"reverse KL {kl}, mean log-density {r['mean_log_density']:.2f}")


@register_metric("toy", kinds=("points",), protocol="PacGAN mode metrics of 2,500 samples", format=_format_toy)
def toy(ev: Evaluation) -> dict:
    centers, std = toy_modes(ev.config.data.name)
    m = min(ev.n, 2500)  # the PacGAN protocol draws 2,500 samples
    return {**toy_metrics(ev.samples(m), centers, std), "n_samples": m,
            "protocol": "PacGAN: high quality = within 3 std of the nearest mode; a mode is "
                        "captured with >= 1 high-quality sample; reverse KL of the mode histogram"}
