"""Exact computations on an RBM small enough to enumerate, for the Boltzmann-machine experiments.

With n visible and m hidden units (2^n and 2^m states) everything a sampler only estimates can be
computed exactly: the model's distribution p(v) = exp(-F(v)) / Z, the block-Gibbs transition
matrix T[v, v'] = sum_h p(h | v) p(v' | h), so a chain's distribution after t steps is q_0 T^t,
and the expectations of the sufficient statistics that the log-likelihood gradient needs.
The RBM itself is genzoo's RBMLayer (models.rbm), whose conditionals these enumerations use.
"""
from __future__ import annotations

import torch

from ..metrics.ais import _bits
from ..models.rbm import RBMLayer


def binary_states(n: int) -> torch.Tensor:
    """All 2^n binary vectors of length n, (2^n, n) float64, in counting order (AIS's exact enumeration's)."""
    return _bits(n, 0, 2 ** n, "cpu", torch.float64)


def bernoulli_probs(p: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """P(state | p) for independent Bernoulli units: rows of p (B, n) by rows of states (S, n) -> (B, S)."""
    return torch.exp(torch.log(p.clamp_min(1e-300)) @ states.T + torch.log((1 - p).clamp_min(1e-300)) @ (1 - states).T)


def random_rbm(n_visible: int, n_hidden: int, weight_std: float, seed: int) -> RBMLayer:
    """An RBM (float64) with weights N(0, weight_std^2) and the biases that centre each unit's input
    (b = -W 1 / 2, c = -W^T 1 / 2), so that no unit is switched off by its bias alone: the weight
    scale alone sets how sharp the modes are, hence how slowly Gibbs sampling mixes."""
    g = torch.Generator().manual_seed(seed)
    rbm = RBMLayer(n_visible, n_hidden).double()
    with torch.no_grad():
        rbm.W.copy_(torch.randn(n_visible, n_hidden, generator=g, dtype=torch.float64) * weight_std)
        rbm.b.copy_(-rbm.W.sum(1) / 2)
        rbm.c.copy_(-rbm.W.sum(0) / 2)
    return rbm


class Enumerated:
    """An RBMLayer's exact distribution, transition matrix and gradient statistics."""

    @torch.no_grad()
    def __init__(self, rbm: RBMLayer):
        self.rbm = rbm
        self.v = binary_states(rbm.n_visible)
        h = binary_states(rbm.n_hidden)
        self.p = torch.softmax(-rbm.free_energy(self.v), 0)            # p(v) = exp(-F(v)) / Z
        self.T = bernoulli_probs(rbm.p_h(self.v), h) @ bernoulli_probs(rbm.visible_mean(h), self.v)
        ph = rbm.p_h(self.v)
        # d log p(v) / d(W, b, c) = -dF/d(W, b, c) = (v p(h|v)^T, v, p(h|v)): one row per visible state
        self.stats = torch.cat([(self.v[:, :, None] * ph[:, None, :]).flatten(1), self.v, ph], 1)

    def index(self, v: torch.Tensor) -> torch.Tensor:
        """The row of each binary vector v (N, n) in the state list."""
        weights = 2 ** torch.arange(v.shape[1] - 1, -1, -1, dtype=torch.float64)
        return (v.double() @ weights).round().long()

    def histogram(self, v: torch.Tensor) -> torch.Tensor:
        """The empirical distribution of the vectors v over the states."""
        return torch.bincount(self.index(v), minlength=len(self.v)).double() / v.shape[0]

    def second_eigenvalue(self) -> float:
        """|lambda_2| of T: the chain's distance to p shrinks about this factor per step in the end."""
        return float(torch.linalg.eigvals(self.T).abs().sort(descending=True).values[1])


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    return float(0.5 * (p - q).abs().sum())


def describe_rbm(n_visible: int, n_hidden: int, seed: int) -> str:
    """random_rbm's RBMs as a protocol records them."""
    return f"genzoo RBMLayer {n_visible} visible x {n_hidden} hidden, W ~ N(0, s^2), b = -W1/2, c = -W^T 1/2, seed {seed}"
