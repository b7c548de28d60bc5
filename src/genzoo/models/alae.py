"""Adversarial latent autoencoder, ALAE (Pidhorskyi, Adjeroh & Doretto 2020, CVPR), MLP version.

Four networks: a mapping F: z -> w, a generator G: w -> x, an encoder E: x -> w and a
discriminator D: w -> logit that judges in the latent space W, so the "discriminator" of the
GAN is D o E. Training is the paper's Algorithm 1, three steps per minibatch:

  I.   E, D descend  softplus(D(E(G(F(z))))) + softplus(-D(E(x))) + gamma/2 E_x ||grad_x D(E(x))||^2
  II.  F, G descend  softplus(-D(E(G(F(z)))))
  III. E, G descend  ||F(z) - E(G(F(z)))||_2^2        (the latent autoencoder: w = E(G(w)))

Reconstruction x -> G(E(x)) is never trained directly: it follows from step III and the
adversarial game (the paper's point). Each step has its own optimizer over exactly the
parameters its line of Algorithm 1 names.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import ConfigError
from ..losses import r1_penalty
from ..nets import mlp
from ..nets.random import standard_normal
from .latent import LatentModelMixin
from .base import Algorithm, Batch, DataSpec, OptimConfig, Optimizers, register


@dataclass
class ALAEConfig:
    latent_dim: int = 50                    # z
    w_dim: int = 50                         # the intermediate latent space W
    mapping_hidden: tuple[int, ...] = (256, 256)   # F
    hidden: tuple[int, ...] = (1024, 1024)  # E (G mirrored)
    disc_hidden: tuple[int, ...] = (256, 256)      # D on W
    gamma: float = 10.0                     # R1 weight (Mescheder et al. 2018), gamma/2 ||grad||^2
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=2e-4, betas=(0.0, 0.99)))

    @property
    def differentiates_gradients(self) -> bool:
        """R1 trains E and D on a gradient: a double backward, which torch.compile cannot do."""
        return self.gamma > 0

    def validate(self) -> None:
        if self.latent_dim < 1 or self.w_dim < 1:
            raise ConfigError("model.latent_dim and model.w_dim must be >= 1")
        if self.gamma < 0:
            raise ConfigError(f"model.gamma must be >= 0, got {self.gamma}")


@register
class ALAE(LatentModelMixin, Algorithm):
    """F (z -> w), G (w -> x), E (x -> w), D (w -> logit); Algorithm 1 of Pidhorskyi et al. 2020."""

    name = "alae"
    Config = ALAEConfig

    def __init__(self, cfg: ALAEConfig, data: DataSpec):
        super().__init__(cfg, data)
        out = "sigmoid" if data.kind == "image" else None
        self.F = mlp(cfg.latent_dim, cfg.mapping_hidden, cfg.w_dim, activation="leaky_relu")
        self.G = nn.Sequential(mlp(cfg.w_dim, tuple(reversed(cfg.hidden)), data.dim, activation="leaky_relu",
                                   out_activation=out), nn.Unflatten(1, data.shape))
        self.E = nn.Sequential(nn.Flatten(), mlp(data.dim, cfg.hidden, cfg.w_dim, activation="leaky_relu"))
        self.D = nn.Sequential(mlp(cfg.w_dim, cfg.disc_hidden, 1, activation="leaky_relu"), nn.Flatten(0))

    def configure_optimizers(self):
        o = self.cfg.optim
        params = lambda *nets: [p for n in nets for p in n.parameters()]  # noqa: E731
        return {"ED": o.build(params(self.E, self.D)), "FG": o.build(params(self.F, self.G)),
                "EG": o.build(params(self.E, self.G))}

    def prior(self, n: int, *, generator: torch.Generator | None = None, truncation: float | None = None) -> torch.Tensor:
        """z ~ N(0, I); with truncation=b every |z_i| <= b."""
        return standard_normal(n, self.cfg.latent_dim, truncation=truncation, generator=generator, device=self.device)

    def encoder_net(self) -> nn.Module:
        """E, the encoder x -> w (EncoderNetwork)."""
        return self.E

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """The GAN's discriminator D o E: a logit per example."""
        return self.D(self.E(x))

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Algorithm 1 of Pidhorskyi et al. 2020 (steps I, II, III; softplus losses; R1 on real data)."""
        x, n = batch.x, len(batch.x)
        # Step I: update E and D
        with torch.no_grad():
            fake = self.G(self.F(self.prior(n)))
        adv = nn.functional.softplus(self.discriminate(fake)).mean() \
            + nn.functional.softplus(-self.discriminate(x)).mean()
        r1 = r1_penalty(self.discriminate, x, gamma=self.cfg.gamma) if self.cfg.gamma else torch.zeros(())
        opt.step("ED", adv + r1)
        # Step II: update F and G
        g_loss = nn.functional.softplus(-self.discriminate(self.G(self.F(self.prior(n))))).mean()
        opt.step("FG", g_loss)
        # Step III: update E and G
        with torch.no_grad():
            w = self.F(self.prior(n))
        lae = (w - self.E(self.G(w))).pow(2).sum(1).mean()
        opt.step("EG", lae)
        return {"d_loss": adv.detach(), "r1": r1.detach(), "g_loss": g_loss.detach(), "latent_rec": lae.detach()}

    # ------------------------------------------------------------------ use
    def encode_mean(self, x: torch.Tensor, y=None) -> torch.Tensor:
        """w = E(x)."""
        return self.E(x)

    def decode(self, z: torch.Tensor, y=None) -> torch.Tensor:
        """G(F(z)): the protocol z of `generate` is the prior's z (see `reconstruct` for x -> G(E(x)))."""
        return self.G(self.F(z))

    @torch.no_grad()
    def decode_code(self, w: torch.Tensor, y=None) -> torch.Tensor:
        """G(w) for codes w = E(x) of the latent space W (reconstruct = G(E(x)))."""
        out = self.G(w)
        return out.clamp(0, 1) if self.data.kind == "image" else out

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator=None) -> torch.Tensor:
        return self.generate(self.prior(n, generator=generator))
