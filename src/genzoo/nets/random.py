"""The random primitives the models draw with: latents from N(0, I), truncated or not, drawn reproducibly
on any device, and a context that runs a module in eval mode. The sampling tools (genzoo.sampling) are
built on them; the models need only these."""
from __future__ import annotations

import contextlib

import torch
from torch import nn


def on_device(draw, *args, generator: torch.Generator | None, device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """draw(*args) (torch.randn, rand or randint) from `generator` on its own device, then moved to `device`:
    a CPU generator gives the same numbers for a model on any device."""
    where = generator.device if generator is not None else device
    return draw(*args, generator=generator, device=where, dtype=dtype).to(device)


@contextlib.contextmanager
def eval_mode(model):
    """Run `model` in eval mode (no batch-norm statistics are updated), then restore its mode."""
    was = model.training if isinstance(model, nn.Module) else None
    if was is not None:
        model.eval()
    try:
        yield model
    finally:
        if was is not None:
            model.train(was)


def truncated_normal(n: int, dim: int, bound: float, *, generator: torch.Generator | None = None,
                     device=None, max_rounds: int = 10_000) -> torch.Tensor:
    """z ~ N(0, I_dim) conditioned on |z_i| <= bound for every i: each coordinate outside the bound is
    drawn again until it falls inside (the truncation trick; Brock et al. 2019, BigGAN).

    A smaller bound trades diversity for fidelity. bound > 0.
    """
    if bound <= 0:
        raise ValueError(f"the truncation bound must be positive, got {bound}")
    z = on_device(torch.randn, n, dim, generator=generator, device=device)
    for _ in range(max_rounds):
        out = z.abs() > bound
        k = int(out.sum())
        if k == 0:
            return z
        z[out] = on_device(torch.randn, k, generator=generator, device=device)
    raise RuntimeError(f"truncation to |z| <= {bound} did not finish; use a larger bound")


def standard_normal(n: int, dim: int, *, truncation: float | None = None, generator: torch.Generator | None = None,
                    device=None) -> torch.Tensor:
    """z ~ N(0, I_dim) (torch.randn), or truncated to |z_i| <= truncation (truncated_normal)."""
    if truncation is None:
        return on_device(torch.randn, n, dim, generator=generator, device=device)
    return truncated_normal(n, dim, truncation, generator=generator, device=device)
