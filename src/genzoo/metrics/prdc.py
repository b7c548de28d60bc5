"""Improved precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020).

Each real (fake) sample gets a ball whose radius is the distance to its k-th nearest neighbour
among the other real (fake) samples (k = 5). With D(r, f) the Euclidean distance:

    precision = 1/M sum_j 1[ exists i: D(r_i, f_j) < radius_real(i) ]
    recall    = 1/N sum_i 1[ exists j: D(r_i, f_j) < radius_fake(j) ]
    density   = 1/(k M) sum_j sum_i 1[ D(r_i, f_j) < radius_real(i) ]
    coverage  = 1/N sum_i 1[ min_j D(r_i, f_j) < radius_real(i) ]

Distances are computed in float64 with torch.cdist, in chunks of columns, so that memory is
O(N * chunk) and 10,000 x 10,000 needs well under 1 GB.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ._common import as_float64_2d, check_min_samples, check_same_dim


@dataclass
class PRDC:
    precision: float
    recall: float
    density: float
    coverage: float
    k: int
    n_real: int
    n_fake: int

    def to_dict(self) -> dict:
        return asdict(self)


def _as_tensor64(x, name):
    return torch.from_numpy(as_float64_2d(x, name))


def knn_radii(feats: torch.Tensor, k: int, *, chunk: int = 2048) -> torch.Tensor:
    """Distance from each row to its k-th nearest neighbour among the other rows (float64)."""
    n = feats.shape[0]
    out = torch.empty(n, dtype=torch.float64)
    for s in range(0, n, chunk):
        d = torch.cdist(feats[s:s + chunk], feats)
        # The k+1 smallest include the point itself (distance 0): the k-th neighbour is index k.
        out[s:s + chunk] = d.topk(k + 1, dim=1, largest=False).values[:, k]
    return out


def prdc(real_feats, fake_feats, *, k: int = 5, chunk: int = 2048) -> PRDC:
    """Precision, recall, density and coverage of fake_feats (M, D) against real_feats (N, D)."""
    real = _as_tensor64(real_feats, "real_feats")
    fake = _as_tensor64(fake_feats, "fake_feats")
    check_same_dim(real.numpy(), fake.numpy(), "real_feats", "fake_feats")
    check_min_samples(real, k + 1, "real_feats", f"k={k} nearest neighbours")
    check_min_samples(fake, k + 1, "fake_feats", f"k={k} nearest neighbours")
    with torch.no_grad():
        r_rad = knn_radii(real, k, chunk=chunk)
        f_rad = knn_radii(fake, k, chunk=chunk)
        n, m = real.shape[0], fake.shape[0]
        precise = torch.zeros(m, dtype=torch.bool)
        density_count = torch.zeros(m, dtype=torch.float64)
        recalled = torch.zeros(n, dtype=torch.bool)
        nearest_fake = torch.full((n,), float("inf"), dtype=torch.float64)
        for s in range(0, m, chunk):
            d = torch.cdist(real, fake[s:s + chunk])          # (N, c)
            inside_real = d < r_rad[:, None]
            precise[s:s + chunk] = inside_real.any(dim=0)
            density_count[s:s + chunk] = inside_real.sum(dim=0, dtype=torch.float64)
            recalled |= (d < f_rad[None, s:s + chunk]).any(dim=1)
            nearest_fake = torch.minimum(nearest_fake, d.min(dim=1).values)
    return PRDC(
        precision=float(precise.double().mean()),
        recall=float(recalled.double().mean()),
        density=float(density_count.mean() / k),
        coverage=float((nearest_fake < r_rad).double().mean()),
        k=k, n_real=n, n_fake=m)
