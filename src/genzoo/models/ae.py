"""Autoencoders: an encoder f and a decoder g trained to reconstruct, min E_x L(x, g(f(x)))."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nets import ConvDecoder, ConvEncoder, mlp
from .base import Algorithm, Batch, DataSpec, OptimConfig, Optimizers, register


def encoder_decoder(arch: str, data: DataSpec, code_dim: int, latent_dim: int, hidden, width: int,
                    activation: str = "relu") -> tuple[nn.Module, nn.Module]:
    """An encoder x -> (N, code_dim) and a decoder z (N, latent_dim) -> (N, *data.shape) of logits/means.

    arch "mlp": fully connected with the `hidden` widths (mirrored in the decoder);
    arch "conv": strided convolutions / transposed convolutions for any image size.
    """
    if arch == "mlp":
        enc = nn.Sequential(nn.Flatten(), mlp(data.dim, hidden, code_dim, activation=activation))
        dec = nn.Sequential(mlp(latent_dim, tuple(reversed(hidden)), data.dim, activation=activation),
                            nn.Unflatten(1, data.shape))
        return enc, dec
    if arch == "conv":
        if data.kind != "image":
            raise ValueError("conv encoders need images; use model.arch=mlp")
        return ConvEncoder(data.shape, code_dim, width=width), ConvDecoder(latent_dim, data.shape, width=width)
    raise ConfigError(f"model.arch must be 'mlp' or 'conv', got '{arch}'")


@dataclass
class AEConfig:
    arch: str = "mlp"                       # mlp | conv
    latent_dim: int = 32
    hidden: tuple[int, ...] = (512, 256)    # mlp widths
    width: int = 32                         # conv channels
    activation: str = "relu"
    loss: str = "bce"                       # bce (images in [0, 1], sigmoid decoder) | mse
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=1e-3))

    def validate(self) -> None:
        if self.loss not in ("bce", "mse"):
            raise ConfigError(f"model.loss must be 'bce' or 'mse', got '{self.loss}'")
        if self.arch not in ("mlp", "conv"):
            raise ConfigError(f"model.arch must be 'mlp' or 'conv', got '{self.arch}'")


@register
class AE(Algorithm):
    """Deterministic autoencoder. It has no prior, so `sample` decodes draws from a diagonal
    Gaussian fitted to the training codes (running moments kept as buffers)."""

    name = "ae"
    Config = AEConfig

    def __init__(self, cfg: AEConfig, data: DataSpec):
        super().__init__(cfg, data)
        self.encoder, self.decoder = encoder_decoder(cfg.arch, data, cfg.latent_dim, cfg.latent_dim,
                                                     cfg.hidden, cfg.width, cfg.activation)
        self.register_buffer("code_mean", torch.zeros(cfg.latent_dim))
        self.register_buffer("code_var", torch.ones(cfg.latent_dim))

    def configure_optimizers(self):
        return {"ae": self.cfg.optim.build(self.parameters())}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder(z)
        return torch.sigmoid(out) if self.cfg.loss == "bce" else out

    def reconstruction_loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        out = self.decoder(z)
        if self.cfg.loss == "bce":
            loss = F.binary_cross_entropy_with_logits(out, x, reduction="none")
        else:
            loss = (out - x).pow(2)
        return loss.flatten(1).sum(1).mean(), z

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """min_{f, g} E_x L(x, g(f(x))), L = binary cross-entropy or squared error summed over pixels."""
        loss, z = self.reconstruction_loss(batch.x)
        opt.step("ae", loss)
        with torch.no_grad():  # moments of the codes, for sampling
            self.code_mean.lerp_(z.mean(0), 0.01)
            self.code_var.lerp_(z.var(0), 0.01)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator=None) -> torch.Tensor:
        z = torch.randn(n, self.cfg.latent_dim, device=self.device, generator=generator)
        x = self.decode(self.code_mean + z * self.code_var.sqrt())
        return x.clamp(0, 1) if self.data.kind == "image" else x
