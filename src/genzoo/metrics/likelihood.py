"""Importance-sampled negative log-likelihood (Burda et al. 2016; Rezende et al. 2014, appendix E).

    log p(x) ~= log (1/k) sum_{i=1}^k p(x, z_i) / q(z_i | x),   z_i ~ q(z | x)
             = logsumexp_i(lw_i) - log k,                       lw_i = log p(x, z_i) - log q(z_i | x)

The estimate is a stochastic lower bound on log p(x) in expectation (Jensen), tight as k grows;
with the exact posterior q = p(z|x) every lw_i equals log p(x) and the estimate is exact.
The k weights of each example are drawn in chunks and combined with logsumexp, so memory is
O(batch_size x chunk) whatever k is (k = 5000 is the usual protocol).

The data protocol (e.g. MNIST binarization: stochastic or thresholded, which split) is the
caller's responsibility; pass it as `protocol` and it is returned with the number.
"""
from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Callable

import torch

from ._common import MetricError, binarized
from ..models.capabilities import ImportanceWeighted
from .registry import register_metric

if TYPE_CHECKING:
    from .context import Evaluation


@dataclass
class NLLResult:
    nll: float        # mean over examples of -log p(x), nats
    stderr: float     # standard error of that mean over examples (std ddof=1 / sqrt(n))
    k: int
    n: int
    protocol: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@torch.no_grad()
def importance_sampled_log_likelihood(log_weights_fn: Callable[[torch.Tensor, int], torch.Tensor],
                                      x: torch.Tensor, *, k: int = 5000, batch_size: int = 100,
                                      chunk: int = 500, progress: bool = False) -> torch.Tensor:
    """Per-example estimates of log p(x) (float64 tensor of shape (N,)); progress: a bar with its ETA on stderr."""
    from tqdm.auto import tqdm

    if k < 1:
        raise MetricError(f"k (the number of importance samples) must be >= 1; got {k}")
    if chunk < 1 or batch_size < 1:
        raise MetricError(f"chunk and batch_size must be >= 1; got chunk={chunk}, batch_size={batch_size}")
    n = x.shape[0]
    out = torch.empty(n, dtype=torch.float64)
    for s in tqdm(range(0, n, batch_size), desc=f"NLL (k={k})", unit="batch", disable=not progress,
                  file=sys.stderr, dynamic_ncols=True, leave=False):
        xb = x[s:s + batch_size]
        b = xb.shape[0]
        parts = []
        done = 0
        while done < k:
            kc = min(chunk, k - done)
            lw = log_weights_fn(xb, kc)
            if tuple(lw.shape) != (b, kc):
                raise MetricError(f"log_weights_fn(x_batch, {kc}) must return shape ({b}, {kc}); "
                                  f"got {tuple(lw.shape)}")
            parts.append(torch.logsumexp(lw.detach().to(torch.float64).cpu(), dim=1))
            done += kc
        out[s:s + b] = torch.logsumexp(torch.stack(parts, dim=1), dim=1) - math.log(k)
    return out


def importance_sampled_nll(log_weights_fn: Callable[[torch.Tensor, int], torch.Tensor], x: torch.Tensor,
                           *, k: int = 5000, batch_size: int = 100, chunk: int = 500,
                           protocol: dict | None = None, progress: bool = False) -> NLLResult:
    """NLL = -mean_x [ logsumexp_i(lw_i) - log k ] in nats, with its standard error over examples.

    log_weights_fn(x_batch, k_chunk) -> (B, k_chunk): log p(x, z_i) - log q(z_i | x) for
    k_chunk fresh samples z_i ~ q(z | x) per example.
    """
    ll = importance_sampled_log_likelihood(log_weights_fn, x, k=k, batch_size=batch_size, chunk=chunk,
                                           progress=progress)
    n = ll.shape[0]
    if n == 0:
        raise MetricError("importance_sampled_nll needs at least one example")
    if not torch.isfinite(ll).all():
        raise MetricError("log_weights_fn returned non-finite log-weights (NaN or -inf for every sample)")
    se = float(ll.std(unbiased=True) / math.sqrt(n)) if n > 1 else float("nan")
    proto = {"estimator": "importance sampling, log mean exp of k weights", "k": k, "n": n,
             "units": "nats"}
    proto.update(protocol or {})
    return NLLResult(nll=float(-ll.mean()), stderr=se, k=k, n=n, protocol=proto)


# ----------------------------------------------------------------------------- genzoo eval's nll metric

@register_metric("nll", kinds=("image",), protocol="importance-sampled negative log-likelihood (k samples per image)",
                 needs=(ImportanceWeighted,),
                 format=lambda r: f"{r['nll']:.2f} +/- {r['stderr']:.2f} nats (k={r['k']}, n={r['n']})")
def nll(ev: Evaluation) -> dict:
    model, ds, seed = ev.model, ev.split("test"), ev.seed
    x = ds.x[:ev.n].float().div(255)
    bernoulli = model.likelihood == "bernoulli"
    x = binarized(x, seed) if bernoulli else x
    if ds.y is not None and model.num_classes:
        raise MetricError("the NLL of a conditional model needs labels; not supported by genzoo eval yet")
    torch.manual_seed(seed)
    r = importance_sampled_nll(lambda xb, kc: model.log_importance_weights(xb.to(model.device), kc), x, k=ev.k,
                               progress=ev.progress, protocol={"split": f"{ds.source}, test split, first {len(x)} images",
                                         "binarization": f"stochastic, one Bernoulli draw per pixel with seed {seed}"
                                         if bernoulli else "none (Gaussian likelihood on [0, 1] pixels)"})
    return r.to_dict()
