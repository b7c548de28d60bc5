"""Autoencoders: an encoder f and a decoder g trained to reconstruct, min E_x L(x, g(f(x))).

One algorithm, three named models (presets):
- "ae" / "conv-ae": MLP or convolutional encoder and decoder, binary cross-entropy on pixels;
- "linear-ae": identity activations and squared error. Its optimum spans the same subspace as
  the top principal components of the data (Baldi & Hornik 1989): "this is just PCA";
- "stacked-ae" (and "stacked-dae", denoising, Vincent et al. 2010): greedy layer-wise pretraining (Bengio et al. 2007; Hinton & Salakhutdinov
  2006): layer k is first trained alone as a shallow autoencoder of the codes of layers < k
  (frozen), for `greedy_steps` steps each, then the whole stack is fine-tuned end to end. The
  phases are keyed on the step count inside `train_step`; the encoder then serves as the base
  of a classifier (`genzoo finetune`, genzoo.finetune).

The networks are genzoo.nets' (`encoder_decoder`, shared with the VAE); the sampling protocol
is genzoo.models.latent's `LatentModelMixin`, shared with the VAE, AAE and ALAE.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nets.autoencoder import Arch, encoder_decoder
from ..nets.layers import Activation
from ..nets.mlp import mlp_layers
from ..nets.random import standard_normal
from .base import Algorithm, Batch, DataSpec, OptimConfig, Optimizers, register
from .latent import LatentModelMixin


@dataclass
class AEConfig:
    arch: Arch = "mlp"
    latent_dim: int = 32
    hidden: tuple[int, ...] = (512, 256)    # mlp widths ([] = no hidden layer)
    width: int = 32                         # conv channels
    activation: Activation = "relu"         # identity: a linear autoencoder
    loss: Literal["bce", "mse"] = "bce"     # bce (images in [0, 1], sigmoid decoder) | mse
    greedy_steps: int = 0                   # stacked AE: steps of greedy pretraining per layer (0: none)
    corruption: float = 0.0                 # denoising AE: fraction of input values zeroed (masking noise)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=1e-3))

    def validate(self) -> None:
        if self.greedy_steps < 0:
            raise ConfigError(f"model.greedy_steps must be >= 0, got {self.greedy_steps}")
        if not 0.0 <= self.corruption < 1.0:
            raise ConfigError(f"model.corruption must be in [0, 1), got {self.corruption}")
        if self.greedy_steps and self.arch != "mlp":
            raise ConfigError("greedy layer-wise pretraining (model.greedy_steps > 0) needs model.arch=mlp")


@register
class AE(LatentModelMixin, Algorithm):
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

    # ------------------------------------------------------------------ stacked AE
    def layer_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        """(encoder layer k, decoder layer that inverts it) for k = 0 .. L-1: the shallow AEs of
        greedy pretraining. Layer 0 reads pixels, layer L-1 writes the code."""
        enc = mlp_layers(self.encoder[1])
        dec = mlp_layers(self.decoder[0])
        return list(zip(enc, reversed(dec)))

    @property
    def num_layers(self) -> int:
        return len(self.cfg.hidden) + 1

    def phase_at(self, step: int) -> int:
        """0 .. L-1: greedy pretraining of that layer; L: the whole stack (always L without greedy_steps)."""
        if not self.cfg.greedy_steps:
            return self.num_layers
        return min(step // self.cfg.greedy_steps, self.num_layers)

    def configure_optimizers(self):
        opts = {"ae": self.cfg.optim.build(self.parameters())}
        if self.cfg.greedy_steps:
            for k, (enc, dec) in enumerate(self.layer_pairs()):
                opts[f"layer{k}"] = self.cfg.optim.build([*enc.parameters(), *dec.parameters()])
        return opts

    # ------------------------------------------------------------------ the model
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def encode_mean(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor, y=None) -> torch.Tensor:
        out = self.decoder(z)
        return torch.sigmoid(out) if self.cfg.loss == "bce" else out

    def _loss(self, out: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
        """L(x, x_hat) summed over dimensions, averaged over the batch."""
        if kind == "bce":
            loss = F.binary_cross_entropy_with_logits(out, x, reduction="none")
        else:
            loss = (out - x).pow(2)
        return loss.flatten(1).sum(1).mean()

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """Masking noise of the denoising AE (Vincent et al. 2008): each value zeroed with probability
        `corruption`, in training only; the loss compares the reconstruction with the clean x."""
        p = self.cfg.corruption
        if not p or not self.training:
            return x
        return x * (torch.rand_like(x) >= p).to(x.dtype)

    def reconstruction_loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(self.corrupt(x))
        return self._loss(self.decoder(z), x, self.cfg.loss), z

    def layer_loss(self, k: int, x: torch.Tensor) -> torch.Tensor:
        """Greedy pretraining of layer k: a shallow AE on h_k = (layers < k)(x), computed without gradient.
        Layer 0 reconstructs the pixels with the model's loss; deeper layers their input codes with squared
        error. With `corruption`, each shallow AE is a denoising AE of its input (stacked denoising AE)."""
        pairs = self.layer_pairs()
        h = x.flatten(1)
        with torch.no_grad():
            for enc, _ in pairs[:k]:
                h = enc(h)
        enc, dec = pairs[k]
        return self._loss(dec(enc(self.corrupt(h))), h, self.cfg.loss if k == 0 else "mse")

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """min_{f, g} E_x L(x, g(f(x))), L = binary cross-entropy or squared error summed over pixels.

        Stacked AE (greedy_steps > 0): steps [k G, (k+1) G) train layer k alone (see `layer_loss`),
        then from step L*G on the whole stack is fine-tuned with the loss above.
        Denoising (corruption > 0): the encoder reads a masked copy of its input, L compares with the clean x.
        """
        x = batch.x
        phase = self.phase_at(step)
        if phase < self.num_layers:
            loss = self.layer_loss(phase, x)
            opt.step(f"layer{phase}", loss)
            with torch.no_grad():
                z = self.encode(x)
        else:
            loss, z = self.reconstruction_loss(x)
            opt.step("ae", loss)
        with torch.no_grad():  # moments of the codes, for sampling
            if self.cfg.corruption:
                z = self.encode(x)
            z = z.float()   # the moments are fp32 buffers; under bf16 autocast the codes are bf16
            self.code_mean.lerp_(z.mean(0), 0.01)
            self.code_var.lerp_(z.var(0), 0.01)
        logs = {"loss": loss.detach()}
        if self.cfg.greedy_steps:
            logs["layer"] = float(phase)   # which phase the logged loss belongs to (L: the whole stack)
        return logs

    def prior(self, n: int, *, generator: torch.Generator | None = None, truncation: float | None = None) -> torch.Tensor:
        """z ~ N(code_mean, diag code_var): the Gaussian fitted to the training codes; with truncation=b
        each code within b of its standard deviations of the mean."""
        z = standard_normal(n, self.cfg.latent_dim, truncation=truncation, generator=generator, device=self.device)
        return self.code_mean + z * self.code_var.sqrt()

    def describe_prior(self) -> dict:
        """The Gaussian fitted to the training codes (see prior)."""
        return {"kind": "normal", "mean": self.code_mean.tolist(), "std": self.code_var.sqrt().tolist()}

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator=None) -> torch.Tensor:
        return self.generate(self.prior(n, generator=generator))
