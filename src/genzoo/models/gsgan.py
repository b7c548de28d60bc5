"""Gumbel-softmax GAN (Kusner & Hernández-Lobato 2016): a GAN for sequences of discrete tokens.

A GAN needs d D(G(z)) / d G, but sampling a token is not differentiable. The generator therefore
emits, at each position t, a Gumbel-softmax sample (Jang et al. 2017; Maddison et al. 2017)

    y_t = softmax((h_t + g_t) / tau),   g_t,i = -log(-log u_t,i),  u_t,i ~ U(0, 1)

a point of the simplex that becomes the one-hot Gumbel-max sample onehot(argmax_i (h_t,i + g_t,i))
(an exact sample of softmax(h_t)) as tau -> 0. D sees one-hot sequences of real data and relaxed
sequences of G; tau is annealed, tau_k = max(tau_end, tau_start * (tau_end / tau_start)^(k / T)),
so that the fakes become nearly one-hot. Sampling uses the Gumbel-max sample itself (argmax).
With straight_through=true the forward pass uses the one-hot and the backward pass the
gradient of the relaxation (the straight-through Gumbel estimator of Jang et al. 2017).

Generator "lstm" (the paper's): z -> (h_0, c_0); at step t an LSTM cell reads y_{t-1} (a zero
vector at t = 1) and outputs the logits h_t. Generator "mlp": z -> MLP -> all L x V logits at
once. D: an MLP on the flattened (L x V) one-hot sequence.

Everything else is the one GAN algorithm (gan.py): loss, d_steps, penalty, EMA, instance noise,
PacGAN packing. Data: kind "tokens", e.g. the "arith" grammar of genzoo.data.grammar.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nets import mlp
from ..nets.layers import gumbel_softmax
from .base import Batch, DataSpec, Optimizers, register
from ..nets.mlp import MLPDiscriminator
from .gan import GAN, GANConfig


class GumbelGenerator(nn.Module):
    """z (N, latent_dim) -> a sequence of Gumbel-softmax samples (N, L, V) at temperature `self.tau`.

    forward(z, hard=True) returns exact one-hot Gumbel-max samples (for sampling; no gradient
    of use). The LSTM feeds each step's output back as the next input.
    """

    def __init__(self, latent_dim: int, length: int, vocab: int, kind: str = "lstm", hidden: int = 128,
                 mlp_hidden=(256, 256)):
        super().__init__()
        self.length, self.vocab, self.kind = length, vocab, kind
        self.tau = 1.0             # set by the algorithm at every step (annealed)
        self.straight_through = False
        if kind == "lstm":
            self.init = nn.Linear(latent_dim, 2 * hidden)
            self.cell = nn.LSTMCell(vocab, hidden)
            self.out = nn.Linear(hidden, vocab)
        else:
            self.net = mlp(latent_dim, mlp_hidden, length * vocab)

    def forward(self, z: torch.Tensor, hard: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
        def draw(logits):
            if hard:  # Gumbel-max: an exact categorical sample, as a one-hot
                with torch.no_grad():
                    return gumbel_softmax(logits, 1.0, hard=True, generator=generator).detach()
            return gumbel_softmax(logits, self.tau, hard=self.straight_through, generator=generator)

        if self.kind != "lstm":
            return draw(self.net(z).view(len(z), self.length, self.vocab))
        h, c = torch.tanh(self.init(z)).chunk(2, dim=1)
        y = z.new_zeros(len(z), self.vocab)
        ys = []
        for _ in range(self.length):
            h, c = self.cell(y, (h, c))
            y = draw(self.out(h))
            ys.append(y)
        return torch.stack(ys, dim=1)


@dataclass
class GSGANNets:
    """Architectures of the Gumbel-softmax GAN."""

    generator: Literal["lstm", "mlp"] = "lstm"   # lstm: Kusner & Hernández-Lobato 2016
    hidden: int = 128                     # lstm: hidden units of the cell
    g_hidden: tuple[int, ...] = (256, 256)  # mlp generator: hidden widths
    d_hidden: tuple[int, ...] = (256, 256)  # D (an MLP on the flattened one-hot sequence): hidden widths
    d_dropout: float = 0.0
    spectral_norm: bool = False


@dataclass
class GSGANConfig(GANConfig):
    latent_dim: int = 32
    nets: GSGANNets = field(default_factory=GSGANNets)
    tau_start: float = 5.0            # Gumbel-softmax temperature at step 0
    tau_end: float = 0.5              # ... annealed geometrically to this at tau_anneal_steps, then kept
    tau_anneal_steps: int = 2000
    straight_through: bool = False    # one-hot forward, relaxed backward

    def validate(self) -> None:
        self.validate_game()
        if self.conditional:
            raise ConfigError("the gsgan algorithm is unconditional (model.conditional=false)")
        if not 0 < self.tau_end <= self.tau_start:
            raise ConfigError(f"need 0 < model.tau_end <= model.tau_start, got {self.tau_end} and {self.tau_start}")
        if self.tau_anneal_steps < 0:
            raise ConfigError(f"model.tau_anneal_steps must be >= 0, got {self.tau_anneal_steps}")


@register
class GSGAN(GAN):
    """The GAN algorithm with a Gumbel-softmax generator of token sequences and an MLP discriminator."""

    name = "gsgan"
    Config = GSGANConfig
    data_kinds = ("tokens",)

    def __init__(self, cfg: GSGANConfig, data: DataSpec):
        if data.kind == "tokens" and not data.vocab_size:
            raise ValueError("token data needs a vocab_size")
        super().__init__(cfg, data)

    def build_nets(self):
        cfg, n = self.cfg, self.cfg.nets
        length, vocab = self.data.shape[0], self.data.vocab_size
        G = GumbelGenerator(cfg.latent_dim, length, vocab, kind=n.generator, hidden=n.hidden, mlp_hidden=n.g_hidden)
        G.straight_through = cfg.straight_through
        D = MLPDiscriminator(cfg.pack * length * vocab, n.d_hidden, dropout=n.d_dropout,
                             spectral_norm=n.spectral_norm)
        return G, D

    def temperature(self, step: int) -> float:
        """tau_k = max(tau_end, tau_start (tau_end / tau_start)^(k / T)) (geometric annealing)."""
        c = self.cfg
        if c.tau_anneal_steps == 0:
            return c.tau_end
        frac = min(step / c.tau_anneal_steps, 1.0)
        return c.tau_start * math.exp(frac * math.log(c.tau_end / c.tau_start))

    def to_net(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids (N, L) -> one-hot (N, L, V)."""
        return F.one_hot(x.long(), self.data.vocab_size).float()

    def from_net(self, x: torch.Tensor) -> torch.Tensor:
        """(Relaxed) one-hots (N, L, V) -> token ids (N, L)."""
        return x.argmax(-1)

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """The GAN step (gan.py) with G's temperature set to tau_k first."""
        self.G.tau = self.temperature(step)
        logs = super().train_step(batch, opt, step)
        logs["tau"] = self.G.tau
        return logs

    def generate(self, z: torch.Tensor, cond=None) -> torch.Tensor:
        """Token ids (N, L): the Gumbel-max (exact categorical) samples of G, fed back as one-hots."""
        self.labels(len(z), cond)  # refuses a cond
        return self.from_net(self.sampling_net(z, hard=True))

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator: torch.Generator | None = None) -> torch.Tensor:
        self.labels(n, cond)
        return self.from_net(self.sampling_net(self.prior(n, generator), hard=True, generator=generator))

    def detokenize(self, x: torch.Tensor) -> list[str]:
        """Token ids (N, L) -> strings (the vocabulary of genzoo.data.grammar)."""
        from ..data.grammar import VOCAB, decode
        if self.data.vocab_size != len(VOCAB):
            return [" ".join(map(str, row)) for row in x.tolist()]
        return decode(x)
