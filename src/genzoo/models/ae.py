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

Shared with the VAE and AAE: `encoder_decoder`, the builder of (optionally conditional) encoder
and decoder networks, and `LatentModelMixin` (generate / reconstruct / latent_dim, the protocol
of genzoo.sampling).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..nets import ConvDecoder, ConvEncoder, mlp
from ..sampling import standard_normal
from .base import Algorithm, Batch, DataSpec, OptimConfig, Optimizers, register


class MLPEncoder(nn.Sequential):
    """x (N, *shape) [+ one-hot label] -> (N, out_dim): Flatten, then an MLP. forward(x, y=None)."""

    def __init__(self, in_dim: int, hidden, out_dim: int, activation: str = "relu", num_classes: int = 0,
                 norm: str | None = None):
        super().__init__(nn.Flatten(), mlp(in_dim + num_classes, hidden, out_dim, activation=activation, norm=norm))
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self[0](x)
        if self.num_classes:
            if y is None:
                raise ValueError("this encoder is conditional: pass labels y")
            h = torch.cat([h, F.one_hot(y.long(), self.num_classes).to(h.dtype)], dim=1)
        return self[1](h)


class MLPDecoder(nn.Sequential):
    """z (N, latent_dim) [+ one-hot label] -> (N, *shape): an MLP, then Unflatten. forward(z, y=None)."""

    def __init__(self, latent_dim: int, hidden, shape, activation: str = "relu", num_classes: int = 0,
                 norm: str | None = None):
        dim = 1
        for s in shape:
            dim *= s
        super().__init__(mlp(latent_dim + num_classes, hidden, dim, activation=activation, norm=norm),
                         nn.Unflatten(1, tuple(shape)))
        self.num_classes = num_classes

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.num_classes:
            if y is None:
                raise ValueError("this decoder is conditional: pass labels y")
            z = torch.cat([z, F.one_hot(y.long(), self.num_classes).to(z.dtype)], dim=1)
        return self[1](self[0](z))


def encoder_decoder(arch: str, data: DataSpec, code_dim: int, latent_dim: int, hidden, width: int,
                    activation: str = "relu", num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    """An encoder x -> (N, code_dim) and a decoder z (N, latent_dim) -> (N, *data.shape) of logits/means.

    arch "mlp": fully connected with the `hidden` widths (mirrored in the decoder);
    arch "conv": strided convolutions / transposed convolutions for any image size.
    num_classes > 0: both are conditional (CVAE, Sohn et al. 2015): forward(x, y) / forward(z, y)
    concatenate a one-hot code of the labels y to their input.
    """
    if arch == "mlp":
        return (MLPEncoder(data.dim, hidden, code_dim, activation, num_classes),
                MLPDecoder(latent_dim, tuple(reversed(hidden)), data.shape, activation, num_classes))
    if arch == "conv":
        if data.kind != "image":
            raise ValueError("conv encoders need images; use model.arch=mlp")
        return (ConvEncoder(data.shape, code_dim, width=width, num_classes=num_classes),
                ConvDecoder(latent_dim, data.shape, width=width, num_classes=num_classes))
    raise ConfigError(f"model.arch must be 'mlp' or 'conv', got '{arch}'")


def mlp_layers(net: nn.Sequential) -> list[nn.Sequential]:
    """The layers of an MLP built by `nets.mlp`: each Linear with the modules after it up to the next Linear."""
    layers: list[list[nn.Module]] = []
    for m in net:
        if isinstance(m, nn.Linear):
            layers.append([])
        layers[-1].append(m)
    return [nn.Sequential(*ms) for ms in layers]


class LatentModelMixin:
    """The sampling protocol (genzoo.sampling): `latent_dim`, `generate(z, cond=None)` = decode,
    and `reconstruct(x)`. The class sets `encode_mean(x, y)` and `decode(z, y)`, and
    `num_classes` > 0 when it is conditional on labels."""

    num_classes: int = 0

    def class_labels(self, n: int, cond=None) -> torch.Tensor | None:
        """Labels for n conditional samples: `cond` (a class or n labels), or the classes in turn 0, 1, ...
        None for an unconditional model."""
        if not self.num_classes:
            return None
        if cond is None:
            return torch.arange(n, device=self.device) % self.num_classes
        cond = torch.as_tensor(cond, device=self.device).long()
        return cond.expand(n) if cond.dim() == 0 else cond

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def generate(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """x = decode(z) (the mean of p(x | z)); images clamped to [0, 1]. `cond`: labels of a conditional
        model. Differentiable in z (genzoo.sampling.steer); wrap in torch.no_grad() to just draw."""
        x = self.decode(z, self.class_labels(len(z), cond))
        return x.clamp(0, 1) if self.data.kind == "image" else x

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """decode(encode(x)): the decoder's mean at the encoder's code (the posterior mean for a VAE)."""
        return self.decode_code(self.encode_mean(x, y), y)

    def decode_code(self, code: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images from the encoder's codes (`encode_mean`); = generate except where they differ (ALAE)."""
        return self.generate(code, y)

    @torch.no_grad()
    def interpolate(self, x0: torch.Tensor, x1: torch.Tensor, steps: int = 8,
                    y: torch.Tensor | int | None = None) -> torch.Tensor:
        """Decode the straight line between the codes of two examples x0, x1 (each (*shape)):
        (steps, *shape), from x0's reconstruction to x1's. (Latent walks between prior draws,
        lerp and slerp: genzoo.sampling with `generate`.)"""
        y = None if y is None else torch.as_tensor(y, device=self.device).long().reshape(1)
        c0, c1 = self.encode_mean(x0[None], y), self.encode_mean(x1[None], y)
        t = torch.linspace(0, 1, steps, device=c0.device, dtype=c0.dtype).unsqueeze(1)
        return self.decode_code((1 - t) * c0 + t * c1, None if y is None else y.expand(steps))


@dataclass
class AEConfig:
    arch: str = "mlp"                       # mlp | conv
    latent_dim: int = 32
    hidden: tuple[int, ...] = (512, 256)    # mlp widths ([] = no hidden layer)
    width: int = 32                         # conv channels
    activation: str = "relu"                # identity: a linear autoencoder
    loss: str = "bce"                       # bce (images in [0, 1], sigmoid decoder) | mse
    greedy_steps: int = 0                   # stacked AE: steps of greedy pretraining per layer (0: none)
    corruption: float = 0.0                 # denoising AE: fraction of input values zeroed (masking noise)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=1e-3))

    def validate(self) -> None:
        if self.loss not in ("bce", "mse"):
            raise ConfigError(f"model.loss must be 'bce' or 'mse', got '{self.loss}'")
        if self.arch not in ("mlp", "conv"):
            raise ConfigError(f"model.arch must be 'mlp' or 'conv', got '{self.arch}'")
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

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator=None) -> torch.Tensor:
        return self.generate(self.prior(n, generator=generator))
