"""Generative adversarial networks. One algorithm; the variants are presets.

"wgan-gp" is not a class: it is the Wasserstein loss x the gradient penalty x a critic without
batch norm x Adam(1e-4, betas (0, 0.9)) x 5 critic steps. See src/genzoo/presets/.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import ConfigError
from ..losses import GAN_LOSSES, clip_weights_, get_gan_loss, gradient_penalty, r1_penalty
from ..nets import DCGANDiscriminator, DCGANGenerator, mlp
from .base import Algorithm, Batch, DataSpec, OptimConfig, Optimizers, register


@dataclass
class GANNets:
    """Architectures of G and D."""

    generator: str = "dcgan"          # dcgan | mlp
    discriminator: str = "dcgan"      # dcgan | mlp
    width: int = 64                   # conv nets: channels of D's first layer and G's last hidden layer
    hidden: tuple[int, ...] = (256, 256)  # mlp nets: hidden widths
    discriminator_norm: str = "batch"     # batch | layer | instance | none (WGAN-GP: none)
    spectral_norm: bool = False           # SN-GAN: spectral normalization of every D layer

    def validate(self) -> None:
        for role in ("generator", "discriminator"):
            if getattr(self, role) not in ("dcgan", "mlp"):
                raise ConfigError(f"model.nets.{role} must be 'dcgan' or 'mlp', got '{getattr(self, role)}'")


@dataclass
class Penalty:
    """A regularizer added to the discriminator's cost."""

    kind: str = "none"                # none | gradient (WGAN-GP, two-sided) | r1 (Mescheder et al. 2018)
    weight: float = 10.0              # lambda of WGAN-GP / gamma of R1

    def validate(self) -> None:
        if self.kind not in ("none", "gradient", "r1"):
            raise ConfigError(f"model.penalty.kind must be none, gradient or r1, got '{self.kind}'")


@dataclass
class GANConfig:
    loss: str = "non-saturating"      # minimax | non-saturating | max-likelihood | least-squares | wasserstein | hinge
    latent_dim: int = 100
    d_steps: int = 1                  # k of Goodfellow et al.'s Algorithm 1: D steps per G step
    clip: float | None = None         # WGAN: clip D's weights to [-c, c] after each D step
    penalty: Penalty = field(default_factory=Penalty)
    nets: GANNets = field(default_factory=GANNets)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=2e-4, betas=(0.5, 0.999)))
    d_optim: OptimConfig | None = None  # D's optimizer when it differs from G's (default: same as optim)

    def validate(self) -> None:
        if self.loss not in GAN_LOSSES:
            raise ConfigError(f"model.loss must be one of {', '.join(GAN_LOSSES)}, got '{self.loss}'")
        if self.d_steps < 1:
            raise ConfigError(f"model.d_steps must be >= 1, got {self.d_steps}")
        if self.latent_dim < 1:
            raise ConfigError(f"model.latent_dim must be >= 1, got {self.latent_dim}")
        if self.penalty.kind == "gradient" and self.nets.discriminator_norm == "batch" \
                and self.nets.discriminator == "dcgan":
            raise ConfigError("the gradient penalty is per example and breaks with batch norm in the critic; "
                              "set model.nets.discriminator_norm=none (or layer)")


def _image_net(shape) -> bool:
    return len(shape) == 3


@register
class GAN(Algorithm):
    """Generator G(z) and discriminator D(x) trained by alternating updates."""

    name = "gan"
    Config = GANConfig

    def __init__(self, cfg: GANConfig, data: DataSpec):
        super().__init__(cfg, data)
        if data.kind not in ("image", "points"):
            raise ValueError(f"the gan algorithm works on images or points, not {data.kind}")
        n = cfg.nets
        if n.generator == "dcgan":
            if not _image_net(data.shape):
                raise ValueError("dcgan networks need images; use model.nets.generator=mlp for points")
            self.G = DCGANGenerator(cfg.latent_dim, data.shape, width=n.width)
        else:
            out = "tanh" if data.kind == "image" else None
            self.G = nn.Sequential(mlp(cfg.latent_dim, n.hidden, data.dim, out_activation=out),
                                   nn.Unflatten(1, data.shape))
        if n.discriminator == "dcgan":
            if not _image_net(data.shape):
                raise ValueError("dcgan networks need images; use model.nets.discriminator=mlp for points")
            self.D = DCGANDiscriminator(data.shape, width=n.width, norm=n.discriminator_norm,
                                        spectral_norm=n.spectral_norm)
        else:
            self.D = nn.Sequential(nn.Flatten(), mlp(data.dim, n.hidden, 1, activation="leaky_relu",
                                                     spectral_norm=n.spectral_norm), nn.Flatten(0))
        self.loss = get_gan_loss(cfg.loss)
        self.batches_per_step = cfg.d_steps

    def configure_optimizers(self):
        d_optim = self.cfg.d_optim or self.cfg.optim
        return {"D": d_optim.build(self.D.parameters()), "G": self.cfg.optim.build(self.G.parameters())}

    def prior(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, I)."""
        return torch.randn(n, self.cfg.latent_dim, device=self.device, generator=generator)

    def to_net(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> [-1, 1], the range of G's tanh; points unchanged."""
        return x * 2 - 1 if self.data.kind == "image" else x

    def from_net(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2).clamp(0, 1) if self.data.kind == "image" else x

    def penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | float:
        p = self.cfg.penalty
        if p.kind == "gradient":
            return gradient_penalty(self.D, real, fake, weight=p.weight)
        if p.kind == "r1":
            return r1_penalty(self.D, real, gamma=p.weight)
        return 0.0

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Goodfellow et al. 2014, Algorithm 1, with k = d_steps:

            for k steps:  sample {x} ~ p_data and {z} ~ p(z); descend J(D) + penalty
                          (WGAN: then clip D's weights to [-c, c])
            then:         sample {z} ~ p(z); descend J(G)

        J(D), J(G) come from the configured loss, e.g. minimax J(D) = -E log D(x) - E log(1 - D(G(z))).
        """
        for real in batch.split(self.cfg.d_steps):
            x = self.to_net(real.x)
            fake = self.G(self.prior(len(x))).detach()
            d_loss = self.loss.d(self.D(x), self.D(fake)) + self.penalty(x, fake)
            opt.step("D", d_loss)
            if self.cfg.clip is not None:
                clip_weights_(self.D, self.cfg.clip)
        g_loss = self.loss.g(self.D(self.G(self.prior(len(x)))))
        opt.step("G", g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.from_net(self.G(self.prior(n, generator)))
