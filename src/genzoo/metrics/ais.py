"""Partition functions and log-likelihoods of RBMs and DBMs.

- `ais_log_z`: annealed importance sampling (Neal 2001; Salakhutdinov & Murray 2008) from a
  base-rate model to the RBM or DBM;
- `exact_log_z_rbm`, `exact_log_z_dbm`: enumeration for tiny models (the layers of one parity
  are enumerated, the other parity is summed out analytically);
- `rbm_log_likelihood`: mean log p(v) = mean(-F(v)) - log Z;
- `dbm_lower_bound`: the variational bound  log p(v) >= E_q[-E(v, h)] + H(q) - log Z  with the
  mean-field q(h|v);
- `exact_log_likelihood_gradient`: d mean log p(v) / d theta of a tiny RBM by enumeration.

AIS's Z^ is unbiased, so E[log Z^] <= log Z: a stochastic lower bound on log Z, and likelihoods computed
with it are optimistic. genzoo.metrics.bdmc gives the other side (reverse AIS from exact samples, RAISE).

AIS scheme. The states of a layered Boltzmann machine split into even layers (v, h2, h4, ...)
and odd layers (h1, h3, ...); given the even layers the odd units are independent, so they are
summed out in closed form and the annealing chain runs on the even layers only (for an RBM: on v,
as in Salakhutdinov & Murray 2008; for a 2-layer DBM: on (v, h2), as in Salakhutdinov & Hinton
2009). The intermediate distributions are p_k ~ f_A^(1 - beta_k) f_B^beta_k on the full state,
with f_A(v, h) = exp(b_A.v) (the base-rate model: independent visible units with the data's
marginals, b_A = log(p / (1 - p)), p clipped; uniform hidden units) and f_B = exp(-E) the model.
With the odd layers summed out:

    log f_k(x) = (1 - beta_k) b_A.v + beta_k sum_{even l} b_l.h_l + sum_{odd l} sum_j softplus(beta_k a_lj(x))

where a_l(x) is the odd layer's total input from its even neighbours (Gaussian visible units:
-(1 - beta) ||v - m_A||^2 / 2 - beta ||v - b||^2 / 2 instead of the visible bias terms, with
m_A the data mean). T_k is one Gibbs sweep (odd given even, then even given odd) that leaves p_k
invariant; log w = sum_k log f_k(x_k) - log f_(k-1)(x_k); log Z = log Z_A + log mean w.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from ..errors import GenzooError
from ..models.capabilities import AISModel
from ._common import binarized
from .registry import register_metric, value_text

if TYPE_CHECKING:
    from .context import Evaluation


class AISError(GenzooError):
    """A model or argument AIS/enumeration cannot handle."""


@dataclass
class _Layered:
    """A layered Boltzmann machine: W[l] of shape (n_l, n_(l+1)), biases b[l], Gaussian visible or not."""

    W: list[torch.Tensor]
    b: list[torch.Tensor]
    gaussian: bool = False

    @property
    def sizes(self) -> list[int]:
        return [len(b) for b in self.b]

    def layer_input(self, states: dict[int, torch.Tensor], l: int) -> torch.Tensor:
        a = self.b[l]
        if l > 0:
            a = a + states[l - 1] @ self.W[l - 1]
        if l < len(self.W):
            a = a + states[l + 1] @ self.W[l].t()
        return a

    def bias_term(self, states: dict[int, torch.Tensor], l: int) -> torch.Tensor:
        """The part of -E that involves layer l alone."""
        if l == 0 and self.gaussian:
            return -0.5 * ((states[0] - self.b[0]) ** 2).sum(-1)
        return states[l] @ self.b[l]


def _layered(model, dtype=None) -> _Layered:
    from ..models.dbm import DBM
    from ..models.rbm import RBM, RBMLayer

    if isinstance(model, RBM):
        model = model.layer
    if isinstance(model, RBMLayer):
        if (model.m_v, model.m_h) != (1, 1):
            raise AISError("AIS and enumeration are defined for ordinary RBMs, not tied-copy pretraining RBMs")
        lay = _Layered([model.W], [model.b, model.c], model.visible == "gaussian")
    elif isinstance(model, DBM):
        lay = _Layered(list(model.W), list(model.b))
    else:
        raise AISError(f"expected an RBM or a DBM, got {type(model).__name__}")
    dtype = dtype or lay.W[0].dtype
    return _Layered([w.detach().to(dtype) for w in lay.W], [b.detach().to(dtype) for b in lay.b], lay.gaussian)


# ----------------------------------------------------------------------------- exact enumeration

def _bits(n: int, start: int, stop: int, device, dtype) -> torch.Tensor:
    idx = torch.arange(start, stop, device=device)
    powers = 2 ** torch.arange(n - 1, -1, -1, device=device)
    return ((idx[:, None] & powers) > 0).to(dtype)


def _log_f_given(lay: _Layered, states: dict[int, torch.Tensor], parity: int) -> torch.Tensor:
    """log sum over the layers of the other parity of exp(-E), the `parity` layers given in `states`."""
    L = len(lay.b)
    out = sum(lay.bias_term(states, l) for l in range(parity, L, 2))
    for l in range(1 - parity, L, 2):
        a = lay.layer_input(states, l)
        if l == 0 and lay.gaussian:  # integral over v of exp(-||v - b||^2/2 + v.(a - b))
            D = lay.b[0].numel()
            out = out + 0.5 * D * math.log(2 * math.pi) + 0.5 * ((a ** 2).sum(-1) - (lay.b[0] ** 2).sum())
        else:
            out = out + F.softplus(a).sum(-1)
    return out


def _enumeration(lay: _Layered, max_bits: int) -> tuple[int, list[int], int]:
    """(parity, its layers, its number of units): the parity class with fewer units (the odd one for
    Gaussian visible units), whose 2^n states are enumerated while the other class is summed out."""
    sizes = lay.sizes
    bits = {p: sum(sizes[p::2]) for p in (0, 1)}
    parity = 1 if lay.gaussian or bits[1] <= bits[0] else 0
    n = bits[parity]
    if n > max_bits:
        raise AISError(f"exact enumeration needs 2^{n} states; use a model with at most {max_bits} units "
                       "in its smaller parity class, or AIS")
    return parity, list(range(parity, len(sizes), 2)), n


def _enumerated_states(lay: _Layered, layers: list[int], n: int, start: int, stop: int) -> dict[int, torch.Tensor]:
    """States start..stop-1 of the enumerated layers (binary counting over their n units)."""
    s = _bits(n, start, stop, lay.W[0].device, torch.float64)
    states, off = {}, 0
    for l in layers:
        states[l] = s[:, off:off + lay.sizes[l]]
        off += lay.sizes[l]
    return states


def _exact_log_z(lay: _Layered, max_bits: int = 26, chunk: int = 1 << 16) -> float:
    parity, layers, n = _enumeration(lay, max_bits)
    total = 2 ** n
    logs = [_log_f_given(lay, _enumerated_states(lay, layers, n, start, min(total, start + chunk)), parity)
            for start in range(0, total, chunk)]
    return torch.logsumexp(torch.cat(logs), 0).item()


def exact_log_z_rbm(rbm) -> float:
    """log Z of a small RBM by enumerating its smaller layer (the hidden one for Gaussian units)."""
    return _exact_log_z(_layered(rbm, torch.float64))


def exact_log_z_dbm(dbm) -> float:
    """log Z of a small DBM: enumerate the parity class (even: v, h2, ...; odd: h1, h3, ...) with
    fewer units; the other class is summed out in closed form."""
    return _exact_log_z(_layered(dbm, torch.float64))


def exact_log_likelihood_gradient(rbm, v: torch.Tensor) -> dict[str, torch.Tensor]:
    """d/d theta of mean_n log p(v_n) for a small Bernoulli RBM, by enumeration (float64):

        dW = <v p(h|v)^T>_data - <v h^T>_model,  db = <v>_data - <v>_model,  dc = <p(h|v)>_data - <h>_model
    """
    lay = _layered(rbm, torch.float64)
    if lay.gaussian:
        raise AISError("exact_log_likelihood_gradient is for Bernoulli RBMs")
    W, b, c = lay.W[0], lay.b[0], lay.b[1]
    v = v.reshape(len(v), -1).to(torch.float64)
    ph = torch.sigmoid(v @ W + c)
    D, H = W.shape
    if D > 24 and H > 24:
        raise AISError("exact_log_likelihood_gradient enumerates 2^min(visible, hidden) states; too many")
    if D <= H:   # enumerate v: p(v) ~ exp(-F(v)), E[h | v] = sigmoid(vW + c)
        vs = _bits(D, 0, 2 ** D, W.device, torch.float64)
        p = torch.softmax(vs @ b + F.softplus(vs @ W + c).sum(-1), 0)
        vm, hm = vs, torch.sigmoid(vs @ W + c)
    else:        # enumerate h: p(h) ~ exp(c.h + sum softplus(Wh + b)), E[v | h] = sigmoid(Wh + b)
        hs = _bits(H, 0, 2 ** H, W.device, torch.float64)
        p = torch.softmax(hs @ c + F.softplus(hs @ W.t() + b).sum(-1), 0)
        vm, hm = torch.sigmoid(hs @ W.t() + b), hs
    return {"W": v.t() @ ph / len(v) - (vm * p[:, None]).t() @ hm,
            "b": v.mean(0) - p @ vm,
            "c": ph.mean(0) - p @ hm}


# ----------------------------------------------------------------------------- AIS

def default_betas(n: int = 14500, dtype=torch.float64) -> torch.Tensor:
    """Inverse temperatures 0 = beta_0 < ... < beta_n = 1 spaced like Salakhutdinov & Murray 2008:
    uniform in [0, 0.5] (500 of 14,500 intervals), [0.5, 0.9] (4,000) and [0.9, 1] (10,000);
    `n` rescales the number of intervals keeping these proportions."""
    n1 = max(1, round(n * 500 / 14500))
    n2 = max(1, round(n * 4000 / 14500))
    n3 = max(1, n - n1 - n2)
    return torch.cat([torch.linspace(0, 0.5, n1 + 1, dtype=dtype)[:-1],
                      torch.linspace(0.5, 0.9, n2 + 1, dtype=dtype)[:-1],
                      torch.linspace(0.9, 1.0, n3 + 1, dtype=dtype)])


@dataclass
class AISResult:
    """log Z estimate = log Z_A + log mean(w); bounds log(Z^ -/+ 3 sigma^) as in Salakhutdinov &
    Murray 2008, with sigma^ = std(Z_A w) / sqrt(M); log_w_std: the spread of the log weights;
    log_z_stderr: the standard error of the estimate of log Z, sigma^ / Z^ (the delta method)."""

    log_z: float
    log_z_low: float
    log_z_high: float
    log_w_std: float
    log_z_base: float
    n_runs: int
    n_betas: int
    log_w: torch.Tensor = field(repr=False)
    log_z_stderr: float = float("nan")

    def to_dict(self) -> dict:
        return {"log_z": self.log_z, "log_z_low": self.log_z_low, "log_z_high": self.log_z_high,
                "log_w_std": self.log_w_std, "log_z_base": self.log_z_base, "n_runs": self.n_runs,
                "n_betas": self.n_betas, "log_z_stderr": self.log_z_stderr}


def _base(model, lay: _Layered, data: torch.Tensor | None, eps: float) -> torch.Tensor:
    """b_A (Bernoulli visible: log-odds of the data marginals) or m_A (Gaussian: the data mean)."""
    D = lay.sizes[0]
    if data is None:
        return torch.zeros(D, dtype=torch.float64, device=lay.W[0].device)
    v = model.to_visible(data.to(lay.W[0].device)).to(torch.float64)
    if lay.gaussian:
        return v.mean(0)
    p = v.mean(0).clamp(eps, 1 - eps)
    return torch.log(p) - torch.log1p(-p)


def _checked_betas(betas: torch.Tensor | int | None) -> list[float]:
    """The inverse temperatures as a list rising from 0 to 1 (a number: that many intervals of default_betas;
    None: the paper's 14,500)."""
    if betas is None or isinstance(betas, int):
        betas = default_betas(14500 if betas is None else betas)
    betas = torch.as_tensor(betas, dtype=torch.float64).flatten()
    if len(betas) < 2 or betas[0] != 0 or betas[-1] != 1 or (betas[1:] < betas[:-1]).any():
        raise AISError("betas must rise from 0 to 1")
    return betas.tolist()


def _log_z_base(lay: _Layered, base: torch.Tensor) -> float:
    """log Z_A of the base model: its visible factor times 2 for every hidden unit."""
    sizes = lay.sizes
    vis = 0.5 * sizes[0] * math.log(2 * math.pi) if lay.gaussian else F.softplus(base).sum().item()
    return vis + sum(sizes[1:]) * math.log(2)


def _base_sample(lay: _Layered, base: torch.Tensor, M: int, generator) -> tuple[dict[int, torch.Tensor], float]:
    """x_1 ~ p_0 for M runs (the visible layer from the base model, the other even layers uniform), and log Z_A."""
    dev, dt, sizes = lay.W[0].device, lay.W[0].dtype, lay.sizes
    base_t = base.to(dt)
    if lay.gaussian:
        v = base_t + torch.randn(M, sizes[0], generator=generator, device=dev, dtype=dt)
    else:
        v = torch.bernoulli(torch.sigmoid(base_t).expand(M, -1).contiguous(), generator=generator)
    x = {0: v}
    for l in range(2, len(sizes), 2):
        x[l] = torch.bernoulli(torch.full((M, sizes[l]), 0.5, device=dev, dtype=dt), generator=generator)
    return x, _log_z_base(lay, base)


def _log_f_ratio(lay: _Layered, x: dict[int, torch.Tensor], a: dict[int, torch.Tensor], base: torch.Tensor,
                 b0: float, b1: float) -> torch.Tensor:
    """log f_b1(x) - log f_b0(x) per run (float64), for the even layers x and the odd layers' inputs a."""
    v64 = x[0].to(torch.float64)
    base_term = -0.5 * ((v64 - base) ** 2).sum(-1) if lay.gaussian else v64 @ base
    model_even = sum(lay.bias_term(x, l).to(torch.float64) for l in range(0, len(lay.sizes), 2))
    out = (b1 - b0) * (model_even - base_term)
    for l in range(1, len(lay.sizes), 2):
        a64 = a[l].to(torch.float64)
        out = out + (F.softplus(b1 * a64) - F.softplus(b0 * a64)).sum(-1)
    return out


def _transition(lay: _Layered, x: dict[int, torch.Tensor], a: dict[int, torch.Tensor], b1: float,
                base_t: torch.Tensor, generator) -> dict[int, torch.Tensor]:
    """T_k at inverse temperature b1: the odd layers given the even ones (their inputs `a`), then the even
    layers given the odd ones; returns the new even layers."""
    L = len(lay.sizes)
    full = dict(x)
    for l in range(1, L, 2):
        full[l] = torch.bernoulli(torch.sigmoid(b1 * a[l]), generator=generator)
    for l in range(0, L, 2):
        inp = lay.layer_input(full, l)
        if l == 0 and lay.gaussian:
            mean = (1 - b1) * base_t + b1 * inp
            full[0] = mean + torch.randn(mean.shape, generator=generator, device=base_t.device,
                                        dtype=base_t.dtype)
        elif l == 0:
            full[0] = torch.bernoulli(torch.sigmoid((1 - b1) * base_t + b1 * inp), generator=generator)
        else:
            full[l] = torch.bernoulli(torch.sigmoid(b1 * inp), generator=generator)
    return {l: full[l] for l in range(0, L, 2)}


@torch.no_grad()
def ais_log_z(model, *, data: torch.Tensor | None = None, betas: torch.Tensor | int | None = None,
              n_runs: int = 100, generator: torch.Generator | None = None, eps: float = 1e-3,
              progress: bool = False) -> AISResult:
    """Estimate log Z of an RBM or DBM by annealed importance sampling (see the module docstring).

    data: training data (as given to the model) for the base-rate model; None: uniform base.
    betas: the inverse temperatures (0 ... 1), or a number of intervals for `default_betas`;
    default the paper's 14,500. n_runs: M independent AIS runs (the paper: 100).
    progress: a progress bar over the temperatures, with its ETA, on stderr.
    The estimate is a stochastic lower bound: E[log Z^] <= log Z (Jensen), the gap shrinking as the
    temperatures grow; `genzoo.metrics.bdmc.reverse_ais_log_z` gives the upper side.
    """
    from tqdm.auto import tqdm

    from ..models.rbm import RBM

    if isinstance(model, RBM) and model.gaussian and not bool(model.initialized):
        raise AISError("this Gaussian RBM has no data statistics yet (train it or call set_data_statistics)")
    lay = _layered(model)
    bl = _checked_betas(betas)
    base = _base(model, lay, data, eps)
    odd = list(range(1, len(lay.sizes), 2))
    x, log_z_base = _base_sample(lay, base, n_runs, generator)
    base_t = base.to(lay.W[0].dtype)
    log_w = torch.zeros(n_runs, dtype=torch.float64, device=lay.W[0].device)
    K = len(bl) - 1
    for k in tqdm(range(1, K + 1), desc="AIS log Z", unit="temperature", disable=not progress, file=sys.stderr,
                  dynamic_ncols=True, leave=False):
        a = {l: lay.layer_input(x, l) for l in odd}
        log_w += _log_f_ratio(lay, x, a, base, bl[k - 1], bl[k])
        if k == K:
            break
        x = _transition(lay, x, a, bl[k], base_t, generator)
    return _ais_result(log_w, log_z_base, len(bl))


def _ais_result(log_w: torch.Tensor, log_z_base: float, n_betas: int) -> AISResult:
    """log Z_A + log mean(w), with log(Z^ -/+ 3 sigma^) and the spread of log w."""
    M = len(log_w)
    log_mean = (torch.logsumexp(log_w, 0) - math.log(M)).item()
    m = log_w.max()
    w = torch.exp(log_w - m)
    se = (w.std() / math.sqrt(M)).item() if M > 1 else float("nan")
    mean_w = w.mean().item()
    high = log_z_base + m.item() + math.log(mean_w + 3 * se) if M > 1 else float("nan")
    low = log_z_base + m.item() + math.log(mean_w - 3 * se) if M > 1 and mean_w > 3 * se else float("-inf")
    return AISResult(log_z=log_z_base + log_mean, log_z_low=low, log_z_high=high,
                     log_w_std=log_w.std().item() if M > 1 else 0.0, log_z_base=log_z_base,
                     n_runs=M, n_betas=n_betas, log_w=log_w.cpu(),
                     log_z_stderr=se / mean_w if M > 1 else float("nan"))


# ----------------------------------------------------------------------------- log-likelihoods

@torch.no_grad()
def rbm_log_likelihood(rbm, x: torch.Tensor, log_z: float | AISResult, *, per_example: bool = False):
    """Mean log p(v) = mean(-F(v)) - log Z over the examples x (binary data for Bernoulli RBMs;
    for Gaussian units the density of the data, i.e. with the standardization's Jacobian);
    per_example: each example's log p(v) instead (a float64 tensor on the CPU)."""
    log_z = log_z.log_z if isinstance(log_z, AISResult) else float(log_z)
    v = rbm.to_visible(x.to(rbm.device))
    ll = -rbm.free_energy(v).to(torch.float64).cpu() - log_z
    if rbm.gaussian:
        ll -= rbm.v_std.to(torch.float64).log().sum().item()
    return ll if per_example else ll.mean().item()


@torch.no_grad()
def dbm_lower_bound(dbm, x: torch.Tensor, log_z: float | AISResult, mf_steps: int | None = None,
                    tol: float | None = None, *, per_example: bool = False):
    """Mean variational lower bound on log p(v) with the mean-field q(h|v) (Salakhutdinov & Hinton 2009):

        log p(v) >= E_q[-E(v, h)] + H(q) - log Z = -E(v, mu) + sum_l H(mu_l) - log Z

    per_example: each example's bound instead (a float64 tensor on the CPU)."""
    log_z = log_z.log_z if isinstance(log_z, AISResult) else float(log_z)
    v = dbm.to_visible(x.to(dbm.device))
    mu, _ = dbm.mean_field(v, dbm.cfg.eval_mf_steps if mf_steps is None else mf_steps,
                           dbm.cfg.eval_mf_tol if tol is None else tol)
    lay = _layered(dbm, torch.float64)
    states = {0: v.to(torch.float64), **{l + 1: m.to(torch.float64) for l, m in enumerate(mu)}}
    neg_e = sum(lay.bias_term(states, l) for l in states)
    for l, W in enumerate(lay.W):
        neg_e = neg_e + ((states[l] @ W) * states[l + 1]).sum(-1)
    ent = sum(-(torch.special.xlogy(m, m) + torch.special.xlogy(1 - m, 1 - m)).sum(-1)
              for m in list(states.values())[1:])
    bound = (neg_e + ent).cpu() - log_z
    return bound if per_example else bound.mean().item()


# ----------------------------------------------------------------------------- genzoo eval's loglik metric

@register_metric("loglik", kinds=("image",), protocol="AIS estimate of log Z, then the test log-likelihood "
                                                     "(RBM) or its variational lower bound (DBM)",
                 needs=(AISModel,), format=value_text)
def loglik(ev: Evaluation) -> dict:
    model, ds, seed = ev.model, ev.split("test"), ev.seed
    train_x = ev.split("train").x.float().div(255)
    x = ds.x[:ev.n].float().div(255)
    dynamic = model.cfg.binarize == "dynamic"  # trained on Bernoulli draws: scored on one fixed draw
    x = binarized(x, seed) if dynamic else x
    t = time.time()
    z = ais_log_z(model, data=train_x, betas=ev.ais_betas, n_runs=ev.ais_runs,
                  generator=torch.Generator().manual_seed(seed), progress=ev.progress)
    est = (dbm_lower_bound if model.likelihood_bound else rbm_log_likelihood)(model, x, z, per_example=True)
    return {"value": est.mean().item(), "stderr": _loglik_stderr(est, z.log_z_stderr),
            "stderr_test": est.std().item() / len(est) ** 0.5 if len(est) > 1 else float("nan"),
            "stderr_log_z": z.log_z_stderr,
            "kind": "variational lower bound on log-likelihood" if model.likelihood_bound else "log-likelihood",
            "ais": z.to_dict(), "n_test": len(x), "seconds": round(time.time() - t, 1),
            "binarization": f"stochastic, one Bernoulli draw per pixel with seed {seed}" if dynamic
            else f"the model's own (model.binarize={model.cfg.binarize})",
            "protocol": f"AIS (Salakhutdinov & Murray 2008), base-rate model from the training "
                        f"data, {ev.ais_runs} runs, {ev.ais_betas} temperatures; test split of {ds.source}"
                        + (f", binarized once (x ~ Bernoulli(pixel), seed {seed})" if dynamic else "")
                        + "; stderr combines the test images' standard error with AIS's of log Z (delta method)"}


def _loglik_stderr(per_example: torch.Tensor, log_z_stderr: float) -> float:
    """The standard error of mean log p(v) - log Z: the test mean's and the log Z estimate's, independent."""
    test = per_example.var().item() / len(per_example) if len(per_example) > 1 else 0.0
    return (test + log_z_stderr ** 2) ** 0.5




__all__ = ["AISResult", "AISError", "ais_log_z", "default_betas", "exact_log_z_rbm", "exact_log_z_dbm",
           "exact_log_likelihood_gradient", "rbm_log_likelihood", "dbm_lower_bound"]
