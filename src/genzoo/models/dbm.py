"""Deep Boltzmann machines (Salakhutdinov & Hinton 2009), trained with Algorithm 20.1 of
Goodfellow, Bengio & Courville, Deep Learning (2016): mean-field positive phase, persistent
Gibbs chains (fantasy particles) for the negative phase.

Layers h^(0) = v, h^(1), ..., h^(L), all binary; W^(l) of shape (n_{l-1}, n_l):

    E(v, h) = - sum_l b^(l).h^(l) - sum_{l=1..L} h^(l-1)^T W^(l) h^(l)

Mean field (fixed-point equations of the factorial q(h|v) = prod_l prod_j mu_j^(l)...):

    mu^(l) = sigmoid(mu^(l-1) W^(l) + mu^(l+1) W^(l+1)^T + b^(l)),   mu^(0) = v, no mu^(L+1) term,

updated layer after layer as in the algorithm box (each update maximizes the variational bound
over one layer given the others, so the iteration converges).

Training step (Algorithm 20.1): with V the minibatch and (V~, H~) the persistent chains,

    dW^(l) = 1/m V-side^T H^(l)  [mean-field]  -  1/m H~^(l-1)^T H~^(l)  [after k Gibbs steps]

It is done through the optimizer with the surrogate loss  mean E(V, mu) - mean E(V~, H~)
(states detached). E is linear in each layer's states, so dLoss/dW^(l) = -(<mu^(l-1) mu^(l)T>_data
- <h~^(l-1) h~^(l)T>_chains) = -dW^(l) exactly, and SGD's step is W <- W + lr dW (momentum and
weight decay on the weights are torch.optim.SGD's). Note: the notes' box writes the negative
statistic of W^(1) as V^T H~^(1); the book's intended (and implemented) term is V~^T H~^(1).

Greedy pretraining (Salakhutdinov & Hinton 2009, sec. 3.1), inside the same train_step stream:
with `pretrain_steps = P > 0`, steps [l P, (l+1) P) train the tied-copy RBM of layer l+1 with CD-k
on samples of the layer below (drawn through the already trained RBMs), and at step L P the DBM
takes the RBMs' parameters (`load_rbms`):

    bottom RBM:  p(h1|v) = sigmoid(2 v W1 + c),   p(v|h1) = sigmoid(W1 h1 + b)   (input doubled)
    middle RBMs: p(h|v)  = sigmoid(2 v W + c),    p(v|h)  = sigmoid(2 W h + b)   (doubled both ways)
    top RBM:     p(hL|v) = sigmoid(v WL + c),     p(v|hL) = sigmoid(2 WL hL + b) (downward doubled)

The DBM uses the RBMs' W unchanged: in the DBM each intermediate layer receives input from both
neighbours, which is what the doubled single-neighbour input stood for. Biases: b^(0) = the bottom
RBM's visible bias, b^(L) = the top RBM's hidden bias, and an intermediate layer, which is the
hidden layer of one RBM and the visible layer of the next, takes the average of those two biases
(its DBM input W^T h^(l-1) + W h^(l+1) + b is then the average of the two RBMs' doubled inputs).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from ..errors import ConfigError
from .base import Algorithm, Batch, Binarize, DataSpec, OptimConfig, Optimizers, register
from .rbm import RBMLayer, base_rate_logits, sample_bernoulli, set_momentum, to_visible


def pretraining_copies(n_layers: int) -> list[tuple[int, int]]:
    """(visible copies, hidden copies) of each pretraining RBM, bottom to top."""
    if n_layers == 1:
        return [(1, 1)]
    return [(2, 1)] + [(2, 2)] * (n_layers - 2) + [(1, 2)]


@dataclass
class DBMConfig:
    hidden: tuple[int, ...] = (500, 1000)   # Salakhutdinov & Hinton 2009: 784-500-1000 on MNIST
    binarize: Binarize = "dynamic"          # dynamic (v ~ Bernoulli(x)) | fixed (x > 0.5) | none
    init_std: float = 0.01
    base_rate_init: bool = True             # visible bias log(p/(1-p)) of the first batch
    # greedy layer-wise pretraining: `pretrain_steps` CD-k steps per layer, the first train steps
    pretrain_steps: int = 0
    pretrain_cd_k: int = 1
    pretrain_optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        name="sgd", lr=0.05, momentum=0.9, weight_decay=2e-4))
    # Algorithm 20.1
    mf_steps: int = 10                      # mean-field iterations per minibatch (at most)
    mf_tol: float = 0.0                     # stop earlier when max |mu change| < mf_tol (0: always mf_steps)
    mf_init: Literal["bottom_up", "half"] = "bottom_up"   # bottom_up (one pass with doubled weights) | half (all 0.5)
    gibbs_steps: int = 5                    # k Gibbs steps of the persistent chains per update
    num_chains: int = 100                   # fantasy particles
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(
        name="sgd", lr=0.005, momentum=0.9, weight_decay=2e-4))
    initial_momentum: float = 0.5           # momentum for the first `momentum_warmup_steps` steps of
    momentum_warmup_steps: int = 0          # each phase (each RBM, then the DBM), then optim.momentum
    # inference for features and evaluation, and sampling
    eval_mf_steps: int = 100
    eval_mf_tol: float = 1e-6
    sample_steps: int = 1000

    def validate(self) -> None:
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ConfigError(f"model.hidden must be a non-empty list of positive layer sizes, got {self.hidden}")
        for key in ("mf_steps", "gibbs_steps", "num_chains", "pretrain_cd_k", "eval_mf_steps", "sample_steps"):
            if getattr(self, key) < 1:
                raise ConfigError(f"model.{key} must be a positive integer, got {getattr(self, key)}")
        if self.pretrain_steps < 0 or self.mf_tol < 0 or self.eval_mf_tol < 0:
            raise ConfigError("model.pretrain_steps, model.mf_tol and model.eval_mf_tol must be >= 0")
        for key in ("optim", "pretrain_optim"):
            if getattr(self, key).name != "sgd":
                raise ConfigError(f"model.{key}.name must be sgd (Boltzmann machines are trained with "
                                  "SGD + momentum)")


@register
class DBM(Algorithm):
    """Binary deep Boltzmann machine with 1, 2, 3, ... hidden layers (Algorithm 20.1)."""

    name = "dbm"
    Config = DBMConfig
    #: log Z gives the mean-field variational lower bound on log p(v) (genzoo.models.capabilities.AISModel)
    #: the hidden posteriors are a representation of x (FeatureEncoder)
    has_features = True
    likelihood_bound = True

    def __init__(self, cfg: DBMConfig, data: DataSpec):
        super().__init__(cfg, data)
        cfg.validate()
        self.sizes = [data.dim, *cfg.hidden]
        L = len(cfg.hidden)
        self.W = nn.ParameterList([nn.Parameter(torch.randn(self.sizes[l], self.sizes[l + 1]) * cfg.init_std)
                                   for l in range(L)])
        self.b = nn.ParameterList([nn.Parameter(torch.zeros(n)) for n in self.sizes])
        self.rbms = nn.ModuleList([RBMLayer(self.sizes[l], self.sizes[l + 1], copies=cp, init_std=cfg.init_std)
                                   for l, cp in enumerate(pretraining_copies(L))] if cfg.pretrain_steps else [])
        for l, n in enumerate(self.sizes):  # persistent chains: V~, H~(1), ..., H~(L)
            self.register_buffer(f"chain{l}", torch.zeros(cfg.num_chains, n))
        self.register_buffer("chains_ready", torch.zeros((), dtype=torch.bool))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))
        self.register_buffer("pretrained", torch.zeros((), dtype=torch.bool))

    @property
    def n_layers(self) -> int:
        return len(self.W)

    @property
    def chains(self) -> list[torch.Tensor]:
        return [getattr(self, f"chain{l}") for l in range(len(self.sizes))]

    def configure_optimizers(self):
        wd = self.cfg.optim.weight_decay
        opts = {"dbm": self.cfg.optim.build([{"params": list(self.W), "weight_decay": wd},
                                             {"params": list(self.b), "weight_decay": 0.0}])}
        for l, rbm in enumerate(self.rbms):
            opts[f"pretrain{l}"] = self.cfg.pretrain_optim.build(rbm.param_groups(self.cfg.pretrain_optim.weight_decay))
        return opts

    # -- the model
    def to_visible(self, x: torch.Tensor, stochastic: bool = False) -> torch.Tensor:
        return to_visible(x, self.cfg.binarize, stochastic).to(self.W[0].dtype)

    def energy(self, states: list[torch.Tensor]) -> torch.Tensor:
        """E(v, h^(1), ..., h^(L)) per example; states = [v, h1, ..., hL] (binary or mean-field)."""
        e = -sum(s @ b for s, b in zip(states, self.b))
        for l, W in enumerate(self.W):
            e = e - ((states[l] @ W) * states[l + 1]).sum(-1)
        return e

    def layer_input(self, states: list[torch.Tensor], l: int) -> torch.Tensor:
        """Total input to layer l from its neighbours: h^(l-1) W^(l) + h^(l+1) W^(l+1)^T + b^(l)."""
        a = self.b[l]
        if l > 0:
            a = a + states[l - 1] @ self.W[l - 1]
        if l < self.n_layers:
            a = a + states[l + 1] @ self.W[l].t()
        return a

    @torch.no_grad()
    def mean_field(self, v: torch.Tensor, steps: int | None = None, tol: float | None = None,
                   init: list[torch.Tensor] | None = None) -> tuple[list[torch.Tensor], int]:
        """Fixed-point iteration of the mean-field equations (Algorithm 20.1, inner loop).

        Returns ([mu1, ..., muL], iterations used). Stops after `steps` sweeps or when no
        parameter moved by more than `tol`. Initialization: a bottom-up pass with doubled
        weights (what the pretraining RBMs' posteriors compute), or all 0.5 (cfg.mf_init).
        """
        steps = self.cfg.mf_steps if steps is None else steps
        tol = self.cfg.mf_tol if tol is None else tol
        L = self.n_layers
        if init is not None:
            mu = [v, *[m.clone() for m in init]]
        elif self.cfg.mf_init == "half":
            mu = [v] + [torch.full((len(v), n), 0.5, device=v.device, dtype=v.dtype) for n in self.sizes[1:]]
        else:
            mu = [v]
            for l in range(L):
                scale = 2.0 if l < L - 1 else 1.0
                mu.append(torch.sigmoid(scale * (mu[l] @ self.W[l]) + self.b[l + 1]))
        from_v = v @ self.W[0] + self.b[1]  # v is clamped: its input to h1 is computed once
        it = 0
        for it in range(1, steps + 1):
            delta = 0.0
            for l in range(1, L + 1):
                a = from_v if l == 1 else mu[l - 1] @ self.W[l - 1] + self.b[l]
                if l < L:
                    a = a + mu[l + 1] @ self.W[l].t()
                new = torch.sigmoid(a)
                if tol > 0:
                    delta = max(delta, (new - mu[l]).abs().max().item())
                mu[l] = new
            if tol > 0 and delta < tol:
                break
        return mu[1:], it

    @torch.no_grad()
    def gibbs_step(self, states: list[torch.Tensor], generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """One sweep of the two Gibbs blocks: even layers (v, h2, ...) given the odd ones, then
        odd layers (h1, h3, ...) given the even ones (Algorithm 20.1, "Gibbs block 1 / 2")."""
        states = list(states)
        for parity in (0, 1):
            for l in range(parity, len(states), 2):
                states[l] = sample_bernoulli(torch.sigmoid(self.layer_input(states, l)), generator)
        return states

    @torch.no_grad()
    def hidden_features(self, x: torch.Tensor, layer: int | None = None) -> torch.Tensor:
        """Mean-field posteriors q(h|v) run to convergence: all hidden layers concatenated,
        or only hidden layer `layer` (1..L)."""
        mu, _ = self.mean_field(self.to_visible(x), self.cfg.eval_mf_steps, self.cfg.eval_mf_tol)
        return mu[layer - 1] if layer is not None else torch.cat(mu, dim=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Every hidden layer's mean-field posterior (`hidden_features`): the representation a linear probe reads."""
        return self.hidden_features(x)

    # -- greedy pretraining
    @torch.no_grad()
    def load_rbms(self, rbms) -> None:
        """Set the DBM's parameters from pretrained RBMs (bottom to top; RBMLayer or RBM objects)
        by the rule of the module docstring: W^(l) = RBM_l's W; b^(0) = RBM_1's visible bias;
        b^(L) = RBM_L's hidden bias; intermediate b^(l) = mean(RBM_l's hidden bias, RBM_{l+1}'s visible bias)."""
        layers = [getattr(r, "layer", r) for r in rbms]
        L = self.n_layers
        if len(layers) != L or any(tuple(r.W.shape) != tuple(W.shape) for r, W in zip(layers, self.W)):
            raise ConfigError(f"need {L} RBMs of shapes {[tuple(W.shape) for W in self.W]}, got "
                              f"{[tuple(r.W.shape) for r in layers]}")
        for W, r in zip(self.W, layers):
            W.copy_(r.W)
        self.b[0].copy_(layers[0].b)
        self.b[L].copy_(layers[L - 1].c)
        for l in range(1, L):
            self.b[l].copy_(0.5 * (layers[l - 1].c + layers[l].b))
        self.pretrained.fill_(True)

    def _pretrain_step(self, batch: Batch, opt: Optimizers, l: int, step: int) -> dict:
        """CD-k on the (tied-copy) RBM of layer l+1, data drawn up through the RBMs below."""
        cfg = self.cfg
        x = self.to_visible(batch.x, stochastic=True)
        with torch.no_grad():
            for below in self.rbms[:l]:
                x = sample_bernoulli(below.p_h(x))
            rbm = self.rbms[l]
            vk, _, first = rbm.gibbs(x, cfg.pretrain_cd_k)
        name = f"pretrain{l}"
        set_momentum(opt[name], self.momentum_at(step - l * cfg.pretrain_steps, cfg.pretrain_optim.momentum))
        opt.step(name, rbm.cd_loss(x, vk))
        return {"recon": ((x - first) ** 2).sum(-1).mean().item(), "mf_iters": 0.0, "pretrain_layer": l + 1.0}

    @torch.no_grad()
    def start_from_data(self, batch: Batch) -> None:
        """Visible biases log(p / (1 - p)) of the first batch's marginals (cfg.base_rate_init): those of the
        bottom pretraining RBM, from the very binarization its first CD step trains on, or, without
        pretraining, the DBM's own from the batch's intensities."""
        if self.cfg.base_rate_init and not bool(self.initialized):
            if self.cfg.pretrain_steps:
                cuda = [batch.x.device.index or 0] if batch.x.is_cuda else []
                with torch.random.fork_rng(devices=cuda):   # the random numbers the first step then draws
                    self.rbms[0].b.copy_(base_rate_logits(self.to_visible(batch.x, stochastic=True)))
            else:
                self.b[0].copy_(base_rate_logits(self.to_visible(batch.x)))
        self.initialized.fill_(True)

    # -- training
    def momentum_at(self, phase_step: int, final: float | None = None) -> float:
        """initial_momentum for the first momentum_warmup_steps of a phase, then `final` (default optim.momentum)."""
        final = self.cfg.optim.momentum if final is None else final
        return self.cfg.initial_momentum if phase_step < self.cfg.momentum_warmup_steps else final

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Algorithm 20.1 (after `pretrain_steps` steps of greedy pretraining per layer).

        positive phase: mean field mu(V) on the minibatch
        negative phase: k Gibbs sweeps of the persistent chains (V~, H~)
        update: W^(l) += lr (<mu^(l-1) mu^(l)T>_data - <h~^(l-1) h~^(l)T>_chains), biases alike
        """
        cfg = self.cfg
        L = self.n_layers
        start = L * cfg.pretrain_steps
        if step < start:
            return self._pretrain_step(batch, opt, step // cfg.pretrain_steps, step)
        if cfg.pretrain_steps and not bool(self.pretrained):
            self.load_rbms(self.rbms)
        V = self.to_visible(batch.x, stochastic=True)
        mu, iters = self.mean_field(V)
        with torch.no_grad():
            if not bool(self.chains_ready):  # start the fantasy particles at data (sampled posteriors)
                idx = torch.randint(len(V), (cfg.num_chains,), device=V.device)
                for chain, s in zip(self.chains, [V, *[sample_bernoulli(m) for m in mu]]):
                    chain.copy_(s[idx])
                self.chains_ready.fill_(True)
            states = self.chains
            for _ in range(cfg.gibbs_steps):
                states = self.gibbs_step(states)
            for chain, s in zip(self.chains, states):
                chain.copy_(s)
        set_momentum(opt["dbm"], self.momentum_at(step - start))
        loss = self.energy([V, *mu]).mean() - self.energy(states).mean()
        opt.step("dbm", loss)
        with torch.no_grad():
            recon = ((V - torch.sigmoid(mu[0] @ self.W[0].t() + self.b[0])) ** 2).sum(-1).mean()
        return {"recon": recon.item(), "mf_iters": float(iters), "pretrain_layer": 0.0}

    @property
    def sample_steps(self) -> int:
        """The Gibbs steps `sample` runs by default (the preset's chain length)."""
        return self.cfg.sample_steps

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator: torch.Generator | None = None,
               steps: int | None = None) -> torch.Tensor:
        """`steps` (default cfg.sample_steps) Gibbs sweeps; returns p(v = 1 | h1) of the last sweep
        as images (n, *data.shape).

        The chains start from v ~ Bernoulli(sigmoid(b_v)) and hidden states sampled from the
        bottom-up pass (doubled weights). Started from uniformly random states instead, a
        trained DBM's chains fall into the all-off state and stay there for thousands of sweeps.
        """
        steps = self.cfg.sample_steps if steps is None else steps
        v = sample_bernoulli(torch.sigmoid(self.b[0]).expand(n, -1).contiguous(), generator)
        mu, _ = self.mean_field(v, steps=0)
        states = [v, *[sample_bernoulli(m, generator) for m in mu]]
        for _ in range(max(1, steps)):
            states = self.gibbs_step(states, generator)
        p = torch.sigmoid(self.layer_input(states, 0))
        return p.reshape(n, *self.data.shape)


__all__ = ["DBM", "DBMConfig", "pretraining_copies"]
