"""Sampling tools for every model with a latent space: truncation, interpolation, arithmetic, class
grids and controllable generation.

The protocols (genzoo.models.capabilities; GANs implement them, and so do the VAEs, AEs and AAEs):

    LatentModel    model.latent_dim: int, the size of z; model.generate(z, cond=None) -> x,
                   decode/generate from z (N, latent_dim), in data space (images in [0, 1],
                   points, token ids); differentiable in z where the data are continuous
    LatentPrior    model.prior(n, generator=None, truncation=None) -> z; without it z ~ N(0, I).
                   With truncation=b the model's own prior truncated (the truncation trick in
                   that prior), or a GenzooError where truncation has no meaning
    Conditional    model.num_classes > 0: generate takes cond = class labels (N,)
    DensityRatio   model.log_density_ratio(x): D's estimate, for rejection sampling

Nothing here changes a model's weights: every tool runs the model in eval mode (batch norm uses
its running statistics and no buffer is updated) and restores its mode afterwards, and the
gradient of controllable generation is taken with respect to z only.

    truncated_normal                      z ~ N(0, I) with every |z_i| <= bound (resampled)
    sample_truncated                      samples from the model's prior truncated at a bound
    lerp, slerp                           linear and spherical interpolation between latents
    interpolation_grid                    rows of interpolations between random endpoints
    latent_arithmetic                     generate(mean z_A - mean z_B + mean z_C)
    class_grid                            K rows (one per class) x n columns sharing z per column
    classifier_direction, steer           move z along a classifier's gradient (Ctrl-GAN)
    steer_grid, arithmetic_by_class       the same as grids, with a classifier choosing the concepts
    discriminator_rejection_sample        keep G's samples with a probability from D's density-ratio
                                          estimate (GANs with a cross-entropy D; model.log_density_ratio)
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Callable, Literal

import torch
from torch import nn

from .errors import GenzooError
from .models.capabilities import DensityRatio, LatentModel, LatentPrior, class_count, model_name
from .nets.random import eval_mode, on_device, standard_normal, truncated_normal  # noqa: F401  (part of this API)
from .typed import check_literal


def check_latent_model(model) -> LatentModel:
    """`model` if it implements the latent protocol, else a GenzooError saying what is missing."""
    if not isinstance(model, LatentModel):
        raise GenzooError(f"{model_name(model)} has no latent space to sample from (it lacks latent_dim and "
                          "generate(z)); use plain sampling")
    return model


def _device(model) -> torch.device:
    if isinstance(model, nn.Module):
        for t in list(model.parameters()) + list(model.buffers()):
            return t.device
    return torch.device("cpu")


def prior(model, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """n latents from the model's prior (N(0, I) when the model does not say)."""
    check_latent_model(model)
    if isinstance(model, LatentPrior):
        return model.prior(n, generator=generator)
    return on_device(torch.randn, n, model.latent_dim, generator=generator, device=_device(model))


def _generate(model, z, cond=None, *, grad: bool = False) -> torch.Tensor:
    with eval_mode(model), (contextlib.nullcontext() if grad else torch.no_grad()):
        return model.generate(z, cond=cond) if cond is not None else model.generate(z)


# --------------------------------------------------------------------------------------------- truncation

def sample_truncated(model, n: int, bound: float = 0.5, *, cond=None,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """n samples generated from latents of the model's own prior truncated at `bound`
    (model.prior(n, truncation=bound); N(0, I) truncated by truncated_normal when the model has no prior)."""
    check_latent_model(model)
    if isinstance(model, LatentPrior):
        if bound <= 0:
            raise ValueError(f"the truncation bound must be positive, got {bound}")
        z = model.prior(n, generator=generator, truncation=bound)
    else:
        z = truncated_normal(n, model.latent_dim, bound, generator=generator, device=_device(model))
    return _generate(model, z, cond)


# --------------------------------------------------------------------------------------------- interpolation

def lerp(z0: torch.Tensor, z1: torch.Tensor, t) -> torch.Tensor:
    """(1 - t) z0 + t z1 for each t (a float or a 1-D tensor of T values -> (T, *z0.shape))."""
    t = torch.as_tensor(t, dtype=z0.dtype, device=z0.device)
    shape = t.shape + (1,) * z0.dim()
    return (1 - t.reshape(shape)) * z0 + t.reshape(shape) * z1


def slerp(z0: torch.Tensor, z1: torch.Tensor, t, eps: float = 1e-7) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016, "Sampling generative networks"):

        slerp(z0, z1; t) = sin((1 - t) w) / sin w * z0 + sin(t w) / sin w * z1,  cos w = <z0, z1> / (|z0| |z1|)

    along the last dimension. It follows the great circle, so for |z0| = |z1| every point keeps that
    norm (a linear path cuts through the low-density middle of a Gaussian). Falls back to lerp
    when z0 and z1 are (anti)parallel. t: a float or a 1-D tensor of T values -> (T, *z0.shape).
    """
    t = torch.as_tensor(t, dtype=z0.dtype, device=z0.device)
    tt = t.reshape(t.shape + (1,) * z0.dim())
    cos = ((z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))
           .clamp_min(eps)).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    so = torch.sin(omega)
    small = so.abs() < 1e-4
    so = torch.where(small, torch.ones_like(so), so)
    a = torch.where(small, 1 - tt, torch.sin((1 - tt) * omega) / so)
    b = torch.where(small, tt, torch.sin(tt * omega) / so)
    return a * z0 + b * z1


#: how interpolation_grid walks between two latents
Interpolation = Literal["linear", "slerp"]


def interpolation_grid(model, rows: int = 8, steps: int = 8, *, mode: Interpolation = "linear", cond=None,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """`rows` interpolations of `steps` points each between two random latents, generated:
    (rows * steps, ...) in row-major order (row r, step s at index r * steps + s).

    mode: "linear" (lerp) or "slerp". cond (conditional models): one class for every sample.
    """
    check_latent_model(model)
    check_literal(mode, Interpolation, "mode", ValueError)
    if rows < 1 or steps < 2:
        raise ValueError(f"need rows >= 1 and steps >= 2, got {rows} and {steps}")
    z0, z1 = prior(model, rows, generator), prior(model, rows, generator)
    t = torch.linspace(0, 1, steps, device=z0.device)
    path = (lerp if mode == "linear" else slerp)(z0, z1, t)      # (steps, rows, d)
    z = path.transpose(0, 1).reshape(rows * steps, -1)
    return _generate(model, z, cond)


# --------------------------------------------------------------------------------------------- arithmetic

def latent_arithmetic(model, z_a: torch.Tensor, z_b: torch.Tensor, z_c: torch.Tensor, *, cond=None,
                      n_variations: int = 0, noise: float = 0.25,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """generate(mean(z_a) - mean(z_b) + mean(z_c)) (Radford et al. 2015, sec. 6.3: averaging a few z
    per concept makes the arithmetic stable). z_* are (n_*, latent_dim) latents of three groups,
    e.g. "smiling woman" - "neutral woman" + "neutral man".

    Returns (1 + n_variations, ...): the result, then n_variations samples at z + noise * N(0, I).
    """
    check_latent_model(model)
    z = z_a.mean(0) - z_b.mean(0) + z_c.mean(0)
    zs = z.unsqueeze(0)
    if n_variations > 0:
        eps = on_device(torch.randn, n_variations, z.numel(), generator=generator, device=z.device)
        zs = torch.cat([zs, z + noise * eps])
    return _generate(model, zs, cond)


# --------------------------------------------------------------------------------------------- class grids

def class_grid(model, n_per_class: int = 8, *, classes=None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """A conditional model's samples, one row per class and n_per_class columns; column j uses the
    same z in every row, so a row shows a class and a column a "style". Returns
    (K * n_per_class, ...) in row-major order."""
    check_latent_model(model)
    k = class_count(model)
    if k <= 0:
        raise GenzooError(f"{model_name(model)} is not conditional: a class grid "
                          "needs a model trained with labels (e.g. cgan, or --set model.conditional=true)")
    classes = list(range(k)) if classes is None else [int(c) for c in classes]
    z = prior(model, n_per_class, generator)
    z = z.repeat(len(classes), 1)
    y = torch.tensor(classes, device=z.device).repeat_interleave(n_per_class)
    return _generate(model, z, y)


# --------------------------------------------------------------------------------------------- control

def _target_score(classifier: Callable, x: torch.Tensor, target: int) -> torch.Tensor:
    out = classifier(x)
    return out[:, target] if out.dim() == 2 else out


def classifier_direction(model, classifier: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor,
                         target: int = 0, *, cond=None) -> torch.Tensor:
    """The unit direction in z that raises the classifier's score of class `target` fastest:
    grad_z c_target(G(z)) / ||.||, per example (N, latent_dim).

    classifier: x -> logits (N, K) (or scores (N,)); it must be differentiable. Only z gets a
    gradient: torch.autograd.grad is taken with respect to z, so no weight's .grad is touched.
    """
    check_latent_model(model)
    z = z.detach().requires_grad_(True)
    with eval_mode(model):
        score = _target_score(classifier, _generate(model, z, cond, grad=True), target)
    (g,) = torch.autograd.grad(score.sum(), z)
    return g / g.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def steer(model, classifier: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, target: int = 0, *,
          steps: int = 10, step_size: float = 0.1, cond=None, return_path: bool = False):
    """Controllable generation (Ctrl-GAN in the lecture notes): gradient ascent on the classifier's
    target score in latent space, z_{k+1} = z_k + step_size * grad / ||grad||, for `steps` steps.

    The generator's weights do not change (it only maps the moving z). Returns the final z, or
    with return_path=True the list [z_0, ..., z_steps] (generate(z_k) shows the feature growing).
    """
    path = [z.detach().clone()]
    for _ in range(steps):
        path.append(path[-1] + step_size * classifier_direction(model, classifier, path[-1], target, cond=cond))
    return path if return_path else path[-1]


def steer_grid(model, classifier: Callable[[torch.Tensor], torch.Tensor], target: int, rows: int = 8,
               steps: int = 8, *, step_size: float = 0.3, cond=None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """`rows` random latents, each steered toward class `target` (see `steer`) for steps - 1 steps:
    (rows * steps, ...) in row-major order, so a row shows one z as the feature grows."""
    path = steer(model, classifier, prior(model, rows, generator), target, steps=steps - 1,
                 step_size=step_size, cond=cond, return_path=True)
    return _generate(model, torch.stack(path, 1).reshape(rows * steps, -1), cond)


def arithmetic_by_class(model, classifier: Callable[[torch.Tensor], torch.Tensor], classes: tuple[int, int, int],
                        per_group: int = 8, *, pool: int = 2048, cond=None,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Latent arithmetic with concepts found by a classifier: among `pool` prior draws, the
    `per_group` latents whose samples it most confidently assigns to each of classes (A, B, C);
    then generate(mean z_A - mean z_B + mean z_C) and per_group - 1 variations (`latent_arithmetic`).

    Returns (4 * per_group, ...): rows A, B, C (the samples averaged), then the result and its variations.
    """
    z = prior(model, pool, generator)
    with torch.no_grad():
        log_p = torch.log_softmax(classifier(_generate(model, z, cond)), dim=1)
    groups = []
    for c in classes:
        if not 0 <= c < log_p.shape[1]:
            raise GenzooError(f"class {c} is out of range: the classifier knows classes 0..{log_p.shape[1] - 1}")
        groups.append(z[log_p[:, c].topk(per_group).indices])
    result = latent_arithmetic(model, *groups, cond=cond, n_variations=per_group - 1, generator=generator)
    return torch.cat([_generate(model, torch.cat(groups), cond), result])


# --------------------------------------------------------------------------------------------- rejection

@dataclass
class RejectionSamples:
    samples: torch.Tensor        # (n, ...): the accepted samples, in data space
    acceptance: float            # accepted / proposed, burn-in not counted
    log_ratio_max: float         # the final estimate of max_x D~(x), the log of the bound M


def parse_percentile(text: str) -> float | None:
    """A percentile for discriminator_rejection_sample from text: a number in [0, 100], or 'none'
    (None: gamma = 0, exact rejection sampling). ValueError otherwise."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"must be a number in [0, 100] or 'none', got '{text}'")
    return value


def discriminator_rejection_sample(model, n: int, *, percentile: float | None = 95.0, burn_in: int = 10_000,
                                   batch_size: int = 1_000, epsilon: float = 1e-6,
                                   generator: torch.Generator | None = None,
                                   max_proposals: int = 10_000_000) -> RejectionSamples:
    """Discriminator rejection sampling (Azadi et al. 2019, arXiv:1810.06758, Algorithm 1).

    D~(x) = model.log_density_ratio(x), the logit of a cross-entropy discriminator, estimates
    log p_data(x) / p_G(x), so rejection sampling with the bound M = max e^D~ turns p_G into p_data.
    D~_M is the largest logit over `burn_in` proposals, raised whenever a larger one appears. Each
    proposal x is kept with probability sigma(F(x)), where

        F(x) = D~(x) - D~_M - log(1 - exp(D~(x) - D~_M - epsilon)) - gamma

    and gamma = 0 gives sigma(F) = e^(D~ - D~_M), exact rejection sampling. The paper's practical
    scheme sets gamma per batch to a `percentile` of F (default 95), so that the strictness no longer
    depends on how loose the bound M is: a higher percentile keeps fewer samples, those with the
    highest ratios. percentile=None: gamma = 0. The generator's and D's weights do not change.
    """
    check_latent_model(model)
    if not isinstance(model, DensityRatio):
        raise GenzooError(f"discriminator rejection sampling needs a GAN's discriminator; {model_name(model)} has none")
    if n < 1 or burn_in < 1 or batch_size < 1:
        raise ValueError(f"n, burn_in and batch_size must be >= 1, got {n}, {burn_in} and {batch_size}")
    if percentile is not None and not 0.0 <= percentile <= 100.0:
        raise ValueError(f"percentile must be in [0, 100] (or None for gamma = 0), got {percentile}")

    def propose(m: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = _generate(model, prior(model, m, generator))
        with eval_mode(model), torch.no_grad():
            return x, model.log_density_ratio(x).float()

    log_m = max(propose(min(batch_size, burn_in - i))[1].max().item() for i in range(0, burn_in, batch_size))
    kept, accepted, proposed = [], 0, 0
    while accepted < n:
        if proposed >= max_proposals:
            raise GenzooError(f"discriminator rejection sampling kept {accepted} of {proposed} proposals, short "
                              f"of {n}; use a lower percentile or fewer samples")
        x, d = propose(batch_size)
        proposed += batch_size
        log_m = max(log_m, d.max().item())
        f = d - log_m - torch.log(-torch.expm1(d - log_m - epsilon))
        if percentile is not None:
            f = f - torch.quantile(f, percentile / 100.0)
        u = on_device(torch.rand, len(f), generator=generator, device=f.device)
        kept.append(x[u <= torch.sigmoid(f)])
        accepted += len(kept[-1])
    return RejectionSamples(torch.cat(kept)[:n], accepted / proposed, log_m)


def grid_columns(n: int) -> int:
    """The width of a square-ish grid of n images (as genzoo.images.save_grid lays them out)."""
    return max(1, math.ceil(math.sqrt(n)))
