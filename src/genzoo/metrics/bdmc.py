"""Likelihood brackets for RBMs and DBMs: estimates from both sides of the truth.

Forward AIS (`genzoo.metrics.ais.ais_log_z`) gives an unbiased estimate Z^ of Z, so by Jensen's inequality
E[log Z^] <= log Z: a stochastic LOWER bound on log Z, and a log-likelihood computed with it is optimistic.
This module adds the other side, with the same annealing path (the same base model, inverse temperatures
and Gibbs transitions T_k, each reversible with respect to p_k):

- `reverse_ais_log_z` (bidirectional Monte Carlo, Grosse, Ghahramani & Adams 2015): the chain runs from
  beta = 1 down to 0, started from EXACT samples of the model. With log w = sum_k log f_k(x_k) - log f_(k-1)(x_k)
  along the reverse chain, E[1 / w] = Z_A / Z, so log Z^_rev = log Z_A - log mean(1 / w) satisfies
  E[log Z^_rev] >= log Z: a stochastic UPPER bound on log Z. It holds only if the start states are exact
  samples (`exact_samples`: enumeration, tiny models only); from approximate samples it is an estimate.
- `raise_log_likelihood` (RAISE, Burda, Grosse & Salakhutdinov 2015): the same reverse chain started at
  each test example v (and, for a DBM, the even hidden layers drawn from the mean-field q(h|v)). The
  forward chain defines a directed "annealing model" p_ann(v) = sum over the chain of p_0(x_1) prod_k
  T_k(x_(k+1) | x_k); the reverse chain is an importance sampler for it, with weight
  f(v, h) / (q(h | v) Z_A w) (f: the model's unnormalized marginal of the even layers), so the estimate's expectation is at most log p_ann(v): a stochastic LOWER
  bound on the annealing model's log-likelihood. p_ann tends to the model as the temperatures grow; the
  estimate is a conservative (lower) estimate of the model's test log-likelihood under the assumption
  that p_ann, an imperfectly annealed copy of the model, does not fit the test data better than the
  model itself (Burda et al.'s argument). For test data drawn from the model itself the assumption holds on
  average (E_p[log p_ann] <= E_p[log p]: Gibbs' inequality); for real test data it is not a theorem.

`log_z_convergence` runs both sides over a growing number of temperatures until the forward estimate
moves by less than a tolerance.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from .ais import (AISError, _base, _checked_betas, _enumerated_states, _enumeration, _layered, _Layered,
                  _log_f_given, _log_f_ratio, _log_z_base, _transition, ais_log_z)


def _gaussian(model) -> bool:
    """Whether `model` is an RBM with Gaussian visible units (standardized data)."""
    from ..models.rbm import RBM

    return isinstance(model, RBM) and model.gaussian


def _gaussian_unready(model) -> bool:
    return _gaussian(model) and not bool(model.initialized)


def _sample_given(lay: _Layered, states: dict[int, torch.Tensor], parity: int, generator) -> dict[int, torch.Tensor]:
    """The layers of parity `parity` drawn given the other class in `states` (they are independent given it)."""
    out = {}
    for l in range(parity, len(lay.sizes), 2):
        a = lay.layer_input(states, l)
        if l == 0 and lay.gaussian:
            out[0] = a + torch.randn(a.shape, generator=generator, device=a.device, dtype=a.dtype)
        else:
            out[l] = torch.bernoulli(torch.sigmoid(a), generator=generator)
    return out


@torch.no_grad()
def exact_samples(model, n: int, generator: torch.Generator | None = None,
                  max_bits: int = 20) -> dict[int, torch.Tensor]:
    """n exact samples of the even layers (v, h2, ...) of a tiny RBM or DBM, as {layer: (n, size)} in the
    model's dtype: the smaller parity class is drawn from its enumerated marginal, the other given it."""
    lay = _layered(model, torch.float64)
    parity, layers, bits = _enumeration(lay, max_bits)
    enum = _enumerated_states(lay, layers, bits, 0, 2 ** bits)
    probs = torch.softmax(_log_f_given(lay, enum, parity), 0)
    idx = torch.multinomial(probs, n, replacement=True, generator=generator)
    states = {l: s[idx] for l, s in enum.items()}
    if parity == 1:
        states.update(_sample_given(lay, states, 0, generator))
    dt = _layered(model).W[0].dtype
    return {l: states[l].to(dt) for l in range(0, len(lay.sizes), 2)}


def _reverse_log_w(lay: _Layered, base: torch.Tensor, x: dict[int, torch.Tensor], bl: list[float],
                   generator) -> torch.Tensor:
    """log w = sum_k log f_k(x_k) - log f_(k-1)(x_k) along the chain started at x (beta = 1), each x_(k-1)
    drawn by T_(k-1) from x_k: the reversal of forward AIS's chain (its Gibbs sweeps are reversible)."""
    odd = list(range(1, len(lay.sizes), 2))
    base_t = base.to(lay.W[0].dtype)
    log_w = torch.zeros(len(x[0]), dtype=torch.float64, device=lay.W[0].device)
    for k in range(len(bl) - 1, 0, -1):
        a = {l: lay.layer_input(x, l) for l in odd}
        log_w += _log_f_ratio(lay, x, a, base, bl[k - 1], bl[k])
        if k > 1:
            x = _transition(lay, x, a, bl[k - 1], base_t, generator)
    return log_w


@dataclass
class ReverseAIS:
    """log Z^_rev = log Z_A - log mean(1 / w): a stochastic upper bound on log Z from exact start states."""

    log_z: float
    log_w_std: float
    n_runs: int
    n_betas: int
    log_z_base: float = 0.0
    log_w: torch.Tensor = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"log_z": self.log_z, "log_w_std": self.log_w_std, "n_runs": self.n_runs, "n_betas": self.n_betas}


@torch.no_grad()
def reverse_ais_log_z(model, start: dict[int, torch.Tensor], *, data: torch.Tensor | None = None,
                      betas: torch.Tensor | int | None = None, generator: torch.Generator | None = None,
                      eps: float = 1e-3) -> ReverseAIS:
    """Reverse AIS from the even-layer states `start` ({0: v, 2: h2, ...}, one run per row), on the same path
    as `ais_log_z` (the same `data` for the base model, the same `betas`). E[result] >= log Z when `start`
    holds exact samples of the model (`exact_samples`); from approximate samples the side is not guaranteed."""
    if _gaussian_unready(model):
        raise AISError("this Gaussian RBM has no data statistics yet (train it or call set_data_statistics)")
    lay = _layered(model)
    even = list(range(0, len(lay.sizes), 2))
    if sorted(start) != even:
        raise AISError(f"start needs the even layers {even} of this model, got {sorted(start)}")
    bl = _checked_betas(betas)
    base = _base(model, lay, data, eps)
    x = {l: start[l].to(device=lay.W[0].device, dtype=lay.W[0].dtype) for l in even}
    log_w = _reverse_log_w(lay, base, x, bl, generator)
    M = len(log_w)
    log_z_base = _log_z_base(lay, base)
    log_z = log_z_base - (torch.logsumexp(-log_w, 0) - math.log(M)).item()
    return ReverseAIS(log_z=log_z, log_w_std=log_w.std().item() if M > 1 else 0.0, n_runs=M, n_betas=len(bl),
                      log_z_base=log_z_base, log_w=log_w.cpu())


@dataclass
class RAISEResult:
    """RAISE: mean over the examples of log p^_ann(v), a stochastic lower bound on the annealing model's mean
    log-likelihood (conservative for the model's under the assumption in the module docstring)."""

    log_likelihood: float
    per_example: torch.Tensor
    log_w_std: float
    n_chains: int
    n_betas: int

    def to_dict(self) -> dict:
        return {"log_likelihood": self.log_likelihood, "log_w_std": self.log_w_std, "n_chains": self.n_chains,
                "n_betas": self.n_betas, "n_examples": len(self.per_example)}


def _raise_start(model, lay: _Layered, v: torch.Tensor, generator) -> tuple[dict[int, torch.Tensor], torch.Tensor]:
    """The chains' start at beta = 1: v, and the even hidden layers drawn from the mean-field q(h|v) (a DBM),
    with log q of the draw (float64)."""
    x, log_q = {0: v}, torch.zeros(len(v), dtype=torch.float64, device=v.device)
    if len(lay.sizes) > 2:
        mu, _ = model.mean_field(v, model.cfg.eval_mf_steps, model.cfg.eval_mf_tol)
        for l in range(2, len(lay.sizes), 2):
            m = mu[l - 1].to(torch.float64).clamp(1e-6, 1 - 1e-6)   # keeps log q finite for saturated units
            h = torch.bernoulli(m, generator=generator)
            log_q += (h * m.log() + (1 - h) * (-m).log1p()).sum(-1)
            x[l] = h.to(v.dtype)
    return x, log_q


@torch.no_grad()
def raise_log_likelihood(model, x: torch.Tensor, *, data: torch.Tensor | None = None,
                         betas: torch.Tensor | int | None = None, n_chains: int = 1, batch: int = 1000,
                         generator: torch.Generator | None = None, eps: float = 1e-3) -> RAISEResult:
    """RAISE estimate of the mean test log-likelihood over the examples x (see the module docstring): per
    example, log mean over `n_chains` reverse chains of f(v, h) / (q(h|v) Z_A w). `data` and `betas` define
    the annealing path as in `ais_log_z`; `batch` chains run at once. Gaussian RBMs: the density of the data
    (the standardization's Jacobian included), as `rbm_log_likelihood`."""
    if _gaussian_unready(model):
        raise AISError("this Gaussian RBM has no data statistics yet (train it or call set_data_statistics)")
    if n_chains < 1 or len(x) == 0:
        raise AISError(f"RAISE needs at least one example and one chain, got {len(x)} and {n_chains}")
    lay, bl = _layered(model), _checked_betas(betas)
    base = _base(model, lay, data, eps)
    v_all = model.to_visible(x.to(lay.W[0].device)).repeat_interleave(n_chains, 0)
    lay64, logs = _layered(model, torch.float64), []
    for i in range(0, len(v_all), batch):
        start, log_q = _raise_start(model, lay, v_all[i:i + batch], generator)
        log_f = _log_f_given(lay64, {l: s.to(torch.float64) for l, s in start.items()}, 0)
        logs.append(log_f - log_q - _reverse_log_w(lay, base, dict(start), bl, generator))
    log_w = torch.cat(logs).view(len(x), n_chains) - _log_z_base(lay, base)
    per = torch.logsumexp(log_w, 1) - math.log(n_chains)
    if _gaussian(model):   # the density of the data: the standardization's Jacobian
        per = per - model.v_std.to(torch.float64).log().sum()
    return RAISEResult(log_likelihood=per.mean().item(), per_example=per.cpu(),
                       log_w_std=log_w.std().item() if log_w.numel() > 1 else 0.0, n_chains=n_chains,
                       n_betas=len(bl))


def log_z_convergence(model, *, data: torch.Tensor | None = None, betas=(100, 300, 1000, 3000, 10000),
                      n_runs: int = 100, tol: float = 0.1, exact: bool = False, test: torch.Tensor | None = None,
                      raise_n: int = 100, seed: int = 0, log=print) -> list[dict]:
    """log Z against the number of temperatures, with its bracket: at each count K in `betas` (increasing),
    forward AIS (`log_z`, E <= log Z) and, where available, the upper side: `exact=True` (tiny models):
    reverse AIS from exact samples (`log_z_rev`, E >= log Z); `test` given: RAISE on its first `raise_n`
    examples (`raise_ll`, conservative) beside the forward estimate's log-likelihood (`ais_ll`, optimistic) on
    the same examples, and `log_z_raise` = mean(-F(v)) - raise_ll, the log Z that RAISE implies (RBMs; a DBM
    has no closed-form free energy: its `ais_ll` is the variational bound with the forward log Z, and it has
    no `log_z_raise`). Stops after the first K whose forward estimate moved by less than `tol` nats from the
    previous one."""
    from .ais import dbm_lower_bound, rbm_log_likelihood
    from ..models.rbm import RBM

    dev = _layered(model).W[0].device
    rows, prev = [], None
    for K in betas:
        t0 = time.perf_counter()
        gen = torch.Generator(device=dev).manual_seed(seed + K)
        row = {"betas": K, "log_z": ais_log_z(model, data=data, betas=K, n_runs=n_runs, generator=gen).log_z}
        if exact:
            start = exact_samples(model, n_runs, torch.Generator(device=dev).manual_seed(seed + K + 1))
            row["log_z_rev"] = reverse_ais_log_z(model, start, data=data, betas=K, generator=gen).log_z
        if test is not None:
            sub = test[:raise_n]
            row["raise_ll"] = raise_log_likelihood(model, sub, data=data, betas=K, generator=gen).log_likelihood
            if isinstance(model, RBM):   # mean(-F) - RAISE: the log Z that RAISE's estimate implies
                row["ais_ll"] = rbm_log_likelihood(model, sub, row["log_z"])
                row["log_z_raise"] = rbm_log_likelihood(model, sub, 0.0) - row["raise_ll"]
            else:
                row["ais_ll"] = dbm_lower_bound(model, sub, row["log_z"])
        row["seconds"] = round(time.perf_counter() - t0, 1)
        log(f"  {K:>7,} temperatures: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "betas"))
        rows.append(row)
        if prev is not None and abs(row["log_z"] - prev) < tol:
            break
        prev = row["log_z"]
    return rows


__all__ = ["RAISEResult", "ReverseAIS", "exact_samples", "log_z_convergence", "raise_log_likelihood",
           "reverse_ais_log_z"]
