"""Restricted Boltzmann machines: contrastive divergence (Hinton 2002) and persistent CD (Tieleman 2008).

Energies (v visible, h binary hidden, W of shape (visible, hidden)):

    Bernoulli-Bernoulli:  E(v, h) = -b.v - c.h - v^T W h                     v in {0, 1}^D
    Gaussian-Bernoulli:   E(v, h) = ||v - b||^2 / 2 - c.h - v^T W h           v in R^D, unit variance
                          (on standardized data: each visible unit has zero mean, unit variance)

Free energy F(v) = -log sum_h exp(-E(v, h)):

    Bernoulli:  F(v) = -b.v           - sum_j softplus(c_j + v^T W_:j)
    Gaussian:   F(v) = ||v - b||^2 / 2 - sum_j softplus(c_j + v^T W_:j)

The log-likelihood gradient is  d log p(v)/d theta = -dF(v)/d theta + E_model[dF/d theta], so the
contrastive-divergence update is obtained through the optimizer with the surrogate loss

    loss = mean_data F(v) - mean_chains F(v~)      (v~ = k Gibbs steps from the data, or the
                                                     persistent chains, detached)

whose gradient is exactly minus the CD-k (or PCD) gradient, e.g. for W:
-(<v p(h|v)^T>_data - <v~ p(h|v~)^T>_chains). Momentum and weight decay (on W only) are
torch.optim.SGD's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..typed import check_literal
from ..errors import ConfigError
from .base import Algorithm, Batch, Binarize, DataSpec, OptimConfig, Optimizers, register

#: visible units: bernoulli, or gaussian (unit variance, on standardized data)
Visible = Literal["bernoulli", "gaussian"]


def to_visible(x: torch.Tensor, binarize: Binarize, stochastic: bool) -> torch.Tensor:
    """Flatten a batch of data to (N, D) visible vectors.

    binarize: "dynamic" -> v ~ Bernoulli(x) when stochastic (training), x itself (the
    probabilities, i.e. the mean-field input) otherwise; "fixed" -> v = [x > 0.5]; "none" -> x.
    """
    v = x.reshape(len(x), -1)
    if not v.is_floating_point():
        v = v.float()
    if binarize == "dynamic":
        return torch.bernoulli(v) if stochastic else v
    if binarize == "fixed":
        return (v > 0.5).to(v.dtype)
    return v


def sample_bernoulli(p: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    return torch.bernoulli(p, generator=generator)


class RBMLayer(nn.Module):
    """The parameters and conditionals of one RBM: W (visible, hidden), visible bias b, hidden bias c.

    `copies = (m_v, m_h)` gives the tied-copy RBMs of Salakhutdinov & Hinton (2009) used to
    pretrain a DBM: m_v copies of the visible layer and m_h copies of the hidden layer, all
    sharing W, with the copies of a layer clamped equal. Then

        p(h | v) = sigmoid(m_v v W + c)      p(v | h) = sigmoid(m_h h W^T + b)
        F(v)     = -m_v b.v - m_h sum_j softplus(m_v v W_:j + c_j)

    (1, 1) is the ordinary RBM; (2, 1) the DBM's bottom RBM ("the input doubled");
    (1, 2) its top RBM (hidden doubled: the downward input doubled); (2, 2) a middle RBM
    (doubled both ways).
    """

    def __init__(self, n_visible: int, n_hidden: int, visible: Visible = "bernoulli",
                 copies: tuple[int, int] = (1, 1), init_std: float = 0.01):
        super().__init__()
        check_literal(visible, Visible, "visible")
        if visible == "gaussian" and tuple(copies) != (1, 1):
            raise ConfigError("tied copies are only defined for Bernoulli visible units")
        self.visible = visible
        self.m_v, self.m_h = (int(c) for c in copies)
        self.W = nn.Parameter(torch.randn(n_visible, n_hidden) * init_std)
        self.b = nn.Parameter(torch.zeros(n_visible))
        self.c = nn.Parameter(torch.zeros(n_hidden))

    @property
    def n_visible(self) -> int:
        return self.W.shape[0]

    @property
    def n_hidden(self) -> int:
        return self.W.shape[1]

    # -- conditionals
    def hidden_logits(self, v: torch.Tensor) -> torch.Tensor:
        return self.m_v * (v @ self.W) + self.c

    def p_h(self, v: torch.Tensor) -> torch.Tensor:
        """p(h_j = 1 | v) = sigmoid(c_j + m_v v^T W_:j)."""
        return torch.sigmoid(self.hidden_logits(v))

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """E[v | h]: sigmoid(b + m_h W h) for Bernoulli units, b + W h for Gaussian ones."""
        a = self.m_h * (h @ self.W.t()) + self.b
        return torch.sigmoid(a) if self.visible == "bernoulli" else a

    def sample_v(self, h: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(sample, mean) of p(v | h)."""
        mean = self.visible_mean(h)
        if self.visible == "bernoulli":
            return sample_bernoulli(mean, generator), mean
        return mean + torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype), mean

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) per example (see the module docstring)."""
        soft = F.softplus(self.hidden_logits(v)).sum(-1)
        if self.visible == "bernoulli":
            return -self.m_v * (v @ self.b) - self.m_h * soft
        return 0.5 * ((v - self.b) ** 2).sum(-1) - soft

    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """E(v, h) per example (ordinary RBM, copies (1, 1))."""
        vis = -(v @ self.b) if self.visible == "bernoulli" else 0.5 * ((v - self.b) ** 2).sum(-1)
        return vis - h @ self.c - ((v @ self.W) * h).sum(-1)

    def gibbs(self, v: torch.Tensor, k: int, generator: torch.Generator | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """k steps of block Gibbs sampling v -> h -> v. Returns (v_k, E[v_k | h_{k-1}], E[v_1 | h_0])."""
        first = mean = None
        for _ in range(k):
            h = sample_bernoulli(self.p_h(v), generator)
            v, mean = self.sample_v(h, generator)
            if first is None:
                first = mean
        return v, mean, first

    def cd_loss(self, v_data: torch.Tensor, v_model: torch.Tensor) -> torch.Tensor:
        """Surrogate whose gradient is minus the CD/PCD gradient: mean F(v_data) - mean F(v_model)."""
        return self.free_energy(v_data).mean() - self.free_energy(v_model.detach()).mean()

    def param_groups(self, weight_decay: float) -> list[dict]:
        """Weight decay on W only (Hinton 2010, A practical guide to training RBMs, sec. 10)."""
        return [{"params": [self.W], "weight_decay": weight_decay},
                {"params": [self.b, self.c], "weight_decay": 0.0}]


def base_rate_logits(v: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """log(p / (1 - p)) of each visible unit's marginal p, clipped to [eps, 1 - eps]."""
    p = v.reshape(len(v), -1).float().mean(0).clamp(eps, 1 - eps)
    return torch.log(p) - torch.log1p(-p)


def set_momentum(opt: torch.optim.Optimizer, momentum: float) -> None:
    for g in opt.param_groups:
        g["momentum"] = momentum


@dataclass
class RBMConfig:
    hidden: int = 500
    visible: Visible = "bernoulli"
    cd_k: int = 1                       # Gibbs steps of the negative phase (CD-k / PCD-k)
    persistent: bool = False            # PCD (Tieleman 2008): chains carried over between updates
    num_chains: int = 100               # PCD fantasy particles
    binarize: Binarize = "dynamic"      # dynamic (v ~ Bernoulli(x) each step) | fixed (x > 0.5) | none
    init_std: float = 0.01              # W ~ N(0, init_std^2); biases 0
    base_rate_init: bool = True         # visible biases log(p/(1-p)) of the first batch (Hinton's guide, sec. 8)
    min_std: float = 0.05               # Gaussian units: floor on each pixel's std when standardizing
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        name="sgd", lr=0.05, momentum=0.9, weight_decay=2e-4))
    initial_momentum: float = 0.5       # momentum for the first `momentum_warmup_steps` steps
    momentum_warmup_steps: int = 0      # then optim.momentum (Hinton's guide: 0.5, then 0.9)
    log_pll: bool = True                # log the stochastic pseudo-log-likelihood (Bernoulli only)
    sample_steps: int = 1000            # Gibbs steps of `sample` from a random start

    def validate(self) -> None:
        for key in ("hidden", "cd_k", "num_chains", "sample_steps"):
            if getattr(self, key) < 1:
                raise ConfigError(f"model.{key} must be a positive integer, got {getattr(self, key)}")
        if self.optim.name != "sgd":
            raise ConfigError("RBMs are trained with SGD + momentum (model.optim.name: sgd); "
                              f"got '{self.optim.name}'")


@register
class RBM(Algorithm):
    """Bernoulli-Bernoulli or Gaussian-Bernoulli RBM trained with CD-k or persistent CD.

    Public methods take data as the trainer gives it (N, *shape) or flattened (N, D); the
    model works on visible vectors `to_visible(x)` (binarized, or standardized for Gaussian
    units). `free_energy(v)` takes such visible vectors.
    """

    name = "rbm"
    Config = RBMConfig
    #: the hidden units sum out: log p(v) = -F(v) - log Z exactly (genzoo.models.capabilities.AISModel)
    #: the hidden posteriors are a representation of x (FeatureEncoder)
    has_features = True
    likelihood_bound = False

    def __init__(self, cfg: RBMConfig, data: DataSpec):
        super().__init__(cfg, data)
        cfg.validate()
        D = data.dim
        self.layer = RBMLayer(D, cfg.hidden, cfg.visible, init_std=cfg.init_std)
        # persistent fantasy particles (PCD) and data statistics: buffers, so checkpoints keep them
        self.register_buffer("chains", torch.zeros(cfg.num_chains if cfg.persistent else 0, D))
        self.register_buffer("chains_ready", torch.zeros((), dtype=torch.bool))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))
        self.register_buffer("v_mean", torch.zeros(D))
        self.register_buffer("v_std", torch.ones(D))

    # -- parameters (views of the layer's)
    @property
    def W(self) -> nn.Parameter:
        return self.layer.W

    @property
    def b(self) -> nn.Parameter:
        return self.layer.b

    @property
    def c(self) -> nn.Parameter:
        return self.layer.c

    @property
    def gaussian(self) -> bool:
        return self.cfg.visible == "gaussian"

    def configure_optimizers(self):
        return {"rbm": self.cfg.optim.build(self.layer.param_groups(self.cfg.optim.weight_decay))}

    # -- data <-> visible units
    def to_visible(self, x: torch.Tensor, stochastic: bool = False) -> torch.Tensor:
        """Data (N, *shape) -> visible vectors (N, D): binarized (Bernoulli) or standardized (Gaussian)."""
        if self.gaussian:
            v = x.reshape(len(x), -1).to(self.v_mean.dtype)
            return (v - self.v_mean) / self.v_std
        return to_visible(x, self.cfg.binarize, stochastic).to(self.W.dtype)

    def from_visible(self, v: torch.Tensor) -> torch.Tensor:
        """Visible means (N, D) -> data (N, *shape); images are clipped to [0, 1]."""
        if self.gaussian:
            v = v * self.v_std + self.v_mean
        x = v.reshape(len(v), *self.data.shape)
        return x.clamp(0, 1) if self.data.kind == "image" else x

    def start_from_data(self, batch: Batch) -> None:
        if not bool(self.initialized):   # a model built with set_data_statistics already has them
            self.set_data_statistics(batch.x)

    @torch.no_grad()
    def set_data_statistics(self, x: torch.Tensor) -> None:
        """Data-dependent initialization from a sample of the training data (the trainer's first batch
        when not called before training): Gaussian units: per-unit mean and std for standardization, and
        b = 0; Bernoulli units: b = log(p / (1 - p)) of the marginals (if base_rate_init)."""
        v = x.reshape(len(x), -1).to(self.v_mean.dtype)
        if self.gaussian:
            self.v_mean.copy_(v.mean(0))
            self.v_std.copy_(v.std(0, unbiased=False).clamp_min(self.cfg.min_std))
        elif self.cfg.base_rate_init:
            self.b.copy_(base_rate_logits(v))
        self.initialized.fill_(True)

    # -- the model
    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) per example, for visible vectors v (N, D) (see the module docstring)."""
        return self.layer.free_energy(v)

    def energy(self, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.layer.energy(v, h)

    @torch.no_grad()
    def hidden_features(self, x: torch.Tensor) -> torch.Tensor:
        """p(h = 1 | v) for data x (probabilities as input for dynamic binarization): features
        for downstream classifiers."""
        return self.layer.p_h(self.to_visible(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden posteriors p(h = 1 | v) (`hidden_features`): the representation a linear probe reads."""
        return self.hidden_features(x)

    @torch.no_grad()
    def gibbs(self, v: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """k block-Gibbs steps v -> h -> v from visible vectors v; returns the last sample."""
        return self.layer.gibbs(v, k, generator)[0]

    @torch.no_grad()
    def reconstruction_error(self, v: torch.Tensor) -> torch.Tensor:
        """Mean over examples of ||v - E[v | h]||^2 with h ~ p(h | v) (one Gibbs half-step)."""
        h = sample_bernoulli(self.layer.p_h(v))
        return ((v - self.layer.visible_mean(h)) ** 2).sum(-1).mean()

    @torch.no_grad()
    def pseudo_log_likelihood(self, v: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Stochastic pseudo-log-likelihood per example (Bernoulli units):
        D * log sigmoid(F(v_flip) - F(v)) with one random unit i flipped per example,
        an unbiased estimate of sum_i log p(v_i | v_-i)."""
        n, D = v.shape
        i = torch.randint(D, (n,), generator=generator, device=v.device)
        flip = v.clone()
        rows = torch.arange(n, device=v.device)
        flip[rows, i] = 1 - flip[rows, i]
        return (D * F.logsigmoid(self.free_energy(flip) - self.free_energy(v))).mean()

    def cd_gradient(self, v0: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
        """The CD-k estimate of d log p / d theta at a batch of visible vectors (for study and
        tests): the gradient of -(mean F(v0) - mean F(v_k)), v_k = k Gibbs steps from v0."""
        with torch.no_grad():
            vk = self.layer.gibbs(v0, k)[0]
        params = [self.W, self.b, self.c]
        grads = torch.autograd.grad(self.layer.cd_loss(v0, vk), params)
        return {name: -g for name, g in zip(("W", "b", "c"), grads)}

    # -- training
    def momentum_at(self, step: int) -> float:
        return self.cfg.initial_momentum if step < self.cfg.momentum_warmup_steps else self.cfg.optim.momentum

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """CD-k (Hinton 2002) or PCD-k (Tieleman 2008):

            v0 ~ data;  v_k = k Gibbs steps from v0 (CD) or from the persistent chains (PCD)
            dW = <v p(h|v)^T>_data - <v p(h|v)^T>_{v_k}, etc.  (as -grad of mean F(v0) - mean F(v_k))
        """
        cfg = self.cfg
        v0 = self.to_visible(batch.x, stochastic=True)
        with torch.no_grad():
            if cfg.persistent:
                if not bool(self.chains_ready):  # fantasy particles start at data points
                    self.chains.copy_(v0[torch.randint(len(v0), (len(self.chains),), device=v0.device)])
                    self.chains_ready.fill_(True)
                vk = self.layer.gibbs(self.chains, cfg.cd_k)[0]
                self.chains.copy_(vk)
                recon = self.reconstruction_error(v0)
            else:
                vk, _, first = self.layer.gibbs(v0, cfg.cd_k)
                recon = ((v0 - first) ** 2).sum(-1).mean()
        set_momentum(opt["rbm"], self.momentum_at(step))
        loss = self.layer.cd_loss(v0, vk)
        opt.step("rbm", loss)
        logs = {"recon": recon.item(), "free_energy_gap": loss.item()}
        if cfg.log_pll and not self.gaussian:
            logs["pll"] = self.pseudo_log_likelihood(v0).item()
        return logs

    @property
    def sample_steps(self) -> int:
        """The Gibbs steps `sample` runs by default (the preset's chain length)."""
        return self.cfg.sample_steps

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator: torch.Generator | None = None,
               steps: int | None = None) -> torch.Tensor:
        """`steps` (default cfg.sample_steps) Gibbs steps from v ~ p(v | h = 0); returns the
        visible means E[v | h] of the last step, as data of shape (n, *data.shape)."""
        steps = self.cfg.sample_steps if steps is None else steps
        h0 = torch.zeros(n, self.cfg.hidden, device=self.device, dtype=self.W.dtype)
        v = self.layer.sample_v(h0, generator)[0]
        _, mean, _ = self.layer.gibbs(v, max(1, steps), generator)
        return self.from_visible(mean)


__all__ = ["RBM", "RBMConfig", "RBMLayer", "to_visible", "base_rate_logits", "sample_bernoulli",
           "set_momentum"]

