"""Toy 2-D distributions, generated exactly from a seed (kind "points", float32 (N, 2)).

ring8:     8 Gaussians of std 0.01 at radius 1, centers (cos 2πk/8, sin 2πk/8), k = 0..7;
           y = k. As in the PacGAN code (Lin et al. 2018), after Metz et al. 2016.
grid25:    25 Gaussians of std 0.05 at {-4, -2, 0, 2, 4}^2; mode k = 5a + b sits at
           (-4 + 2a, -4 + 2b); y = k. As in the PacGAN code.
swissroll: t = 1.5π(1 + 2u) with u ~ U(0, 1); x = (t cos t, t sin t) + 0.25 ε, ε ~ N(0, I);
           then divided by 7.5 for roughly unit variance (as in the WGAN-GP toy code). y = None.
moons:     y ~ Bernoulli(1/2), θ ~ U(0, π); moon 0 at (cos θ, sin θ), moon 1 at
           (1 - cos θ, 1/2 - sin θ) (scikit-learn's make_moons), plus 0.05 ε. y = the moon.
The mixtures pick each sample's mode uniformly at random. The train split is drawn from a
torch.Generator seeded with `seed`, the test split from one seeded with seed XOR 0x7E575EED
(torch's CPU generator keeps only the low 32 bits of a seed, so an offset like 2**32 would
repeat the train points); both hold n_samples points (default 100,000, as in PacGAN).
"""
from __future__ import annotations

import math

import torch

from ..errors import DataError
from .base import Dataset, DatasetInfo, Request, register

DEFAULT_N = 100_000
TEST_SEED_XOR = 0x7E575EED  # "test seed"; changes the low 32 bits that torch uses


def _ring8() -> torch.Tensor:
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return torch.stack([angles.cos(), angles.sin()], dim=1).float()


def _grid25() -> torch.Tensor:
    coords = torch.arange(-4.0, 5.0, 2.0)
    return torch.cartesian_prod(coords, coords)  # row 5a + b = (coords[a], coords[b])


_MODES = {"ring8": (_ring8, 0.01), "grid25": (_grid25, 0.05)}


def toy_modes(name: str) -> tuple[torch.Tensor, float]:
    """The mode centers (M, 2) and the per-mode std of a toy mixture, for mode-coverage metrics."""
    if name not in _MODES:
        raise DataError(f"'{name}' has no discrete modes; mode metrics apply to {' and '.join(_MODES)}")
    centers, std = _MODES[name]
    return centers(), std


def _mixture(name: str, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    centers, std = toy_modes(name)
    y = torch.randint(len(centers), (n,), generator=gen)
    x = centers[y] + std * torch.randn(n, 2, generator=gen)
    return x, y


def _swissroll(n: int, gen: torch.Generator) -> tuple[torch.Tensor, None]:
    t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=gen, dtype=torch.float64))
    roll = torch.stack([t * t.cos(), t * t.sin()], dim=1)
    x = (roll + 0.25 * torch.randn(n, 2, generator=gen, dtype=torch.float64)) / 7.5
    return x.float(), None


def _moons(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(2, (n,), generator=gen)
    theta = math.pi * torch.rand(n, generator=gen)
    outer = torch.stack([theta.cos(), theta.sin()], dim=1)
    inner = torch.stack([1 - theta.cos(), 0.5 - theta.sin()], dim=1)
    x = torch.where(y[:, None] == 0, outer, inner) + 0.05 * torch.randn(n, 2, generator=gen)
    return x, y


_GENERATORS = {
    "ring8": lambda n, g: _mixture("ring8", n, g),
    "grid25": lambda n, g: _mixture("grid25", n, g),
    "swissroll": _swissroll,
    "moons": _moons,
}
_NUM_CLASSES = {"ring8": 8, "grid25": 25, "swissroll": None, "moons": 2}


def load_toy(req: Request) -> Dataset:
    """Generate n_samples points of a toy distribution (see the module docstring for the formulas)."""
    n = req.n_samples or DEFAULT_N
    seed = req.seed ^ TEST_SEED_XOR if req.split == "test" else req.seed
    x, y = _GENERATORS[req.name](n, torch.Generator().manual_seed(seed))
    return Dataset(name=req.name, source=f"{req.name}: {n:,} points generated with seed {seed}", split=req.split,
                   kind="points", x=x.contiguous(), y=y, num_classes=_NUM_CLASSES[req.name])


register(DatasetInfo("ring8", "8 Gaussians on the unit circle, std 0.01 (2-D points; mode-coverage benchmark)",
                     "Metz et al. 2016 (unrolled GAN); Lin et al. 2018 (PacGAN) code"),
         load_toy, aliases=("8gaussians", "ring"))
register(DatasetInfo("grid25", "5x5 grid of Gaussians at {-4,-2,0,2,4}^2, std 0.05 "
                     "(2-D points; mode-coverage benchmark)",
                     "Lin et al. 2018 (PacGAN) code"),
         load_toy, aliases=("25gaussians", "grid"))
register(DatasetInfo("swissroll", "2-D swiss roll, t = 1.5π(1+2u), (t cos t, t sin t) + 0.25 noise, scaled by 1/7.5",
                     "Marsland 2009; Gulrajani et al. 2017 (WGAN-GP) toy code"),
         load_toy, aliases=("swiss-roll",))
register(DatasetInfo("moons", "two interleaving half circles with noise std 0.05 (2-D points, 2 classes)",
                     "scikit-learn make_moons (Pedregosa et al. 2011)"),
         load_toy, aliases=("two-moons",))
