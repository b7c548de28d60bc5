"""Generative adversarial networks. One algorithm; the variants are presets.

"wgan-gp" is not a class: it is the Wasserstein loss x the gradient penalty x a critic without
batch norm x Adam(1e-4, betas (0, 0.9)) x 5 critic steps. See src/genzoo/presets/.

Options every variant shares (GANConfig):
  d_steps      k discriminator steps per generator step, each on a fresh minibatch (Algorithm 1)
  conditional  labels y go into G and D (Mirza & Osindero 2014): one-hot concatenation for MLP
               nets; label code into G and a projection discriminator for conv nets
  pack         PacGAN (Lin et al. 2018): D judges m samples at once, concatenated (features for
               MLPs, channels for conv nets); all real or all fake
  ema          G_ema <- b * G_ema + (1 - b) * G after G step t, b = min(ema, (1 + t) / (10 + t)) (a
               short run's average holds its last steps); sampling uses G_ema
  label_smoothing  one-sided: real target 1 - s in D's cross-entropy (Salimans et al. 2016)
  instance_noise   Gaussian noise of std sigma_t = sigma_0 max(0, 1 - t/T) added to every input
               of D, real and fake (Sonderby et al. 2017; Arjovsky & Bottou 2017)
  penalty      the WGAN-GP gradient penalty or R1; clip: WGAN's weight clipping
  top_k        G's update from the k fakes D scores most realistic, k annealed from the batch
               down to min_fraction of it (Sinha et al. 2020)
  d_optim      D's optimizer when it differs from G's (e.g. the two time-scale update rule)
  ortho_reg    beta of G's orthogonal regularization (Brock et al. 2019, eq. 3), which makes G amenable
               to the truncation trick; 0: off

The latent protocol of genzoo.sampling: `latent_dim`, `prior(n)`, `generate(z, cond=None)`,
`num_classes` (> 0 for a conditional model).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from ..errors import ConfigError, GenzooError
from ..losses import (GanLossName, clip_weights_, get_gan_loss, gradient_penalty, orthogonal_regularization,
                      r1_penalty, top_k_scores)
from ..nets import DCGANDiscriminator, DCGANGenerator
from ..nets.conv import ProjectionNorm, Upsample
from ..nets.layers import Norm2d, moving_average_copy, update_moving_average
from ..nets.mlp import MLPDiscriminator, MLPGenerator
from ..nets.random import eval_mode, standard_normal
from .base import Algorithm, Batch, DataSpec, OptimConfig, Optimizers, check_ema_decay, register

#: the losses whose discriminator cost is the cross-entropy d_loss_minimax (label smoothing applies)
CROSS_ENTROPY_LOSSES = ("minimax", "non-saturating", "max-likelihood")
#: G's and D's architectures: DCGAN conv nets (images) or MLPs (any data)
NetArch = Literal["dcgan", "mlp"]


@dataclass
class GANNets:
    """Architectures of G and D."""

    generator: NetArch = "dcgan"
    discriminator: NetArch = "dcgan"
    width: int = 64                   # conv nets: channels of D's first layer and G's last hidden layer
    fc_width: int = 0                 # conv nets: a hidden fully connected layer after z in G and before
                                      # D's logit (InfoGAN's MNIST nets: 1024; 0: none, as in DCGAN)
    hidden: tuple[int, ...] = (256, 256)  # mlp nets: hidden widths (of G, and of D unless d_hidden is set)
    d_hidden: tuple[int, ...] | None = None  # mlp D: its own hidden widths
    generator_norm: Literal["none", "batch", "layer"] = "none"   # mlp G (PacGAN's toy generator: batch)
    d_dropout: float = 0.0            # mlp D: dropout after each hidden layer (Goodfellow et al. 2014: 0.5)
    discriminator_norm: Norm2d = "batch"  # conv D (WGAN-GP, SN-GAN: none)
    spectral_norm: bool = False           # SN-GAN: spectral normalization of every D layer
    upsample: Upsample = "transposed"     # conv G: resize = nearest 2x then conv 3x3; transposed3: k3 s2 (Odena 2016)
    projection_norm: ProjectionNorm = "channel"  # conv G: batch norm of z's projection per channel after the
                                                 # reshape (DCGAN) or per feature before it (feature: InfoGAN)

    def validate(self) -> None:
        if not 0.0 <= self.d_dropout < 1.0:
            raise ConfigError(f"model.nets.d_dropout must be in [0, 1), got {self.d_dropout}")
        if self.fc_width < 0:
            raise ConfigError(f"model.nets.fc_width is a layer's width (0: no such layer), got {self.fc_width}")


@dataclass
class Penalty:
    """A regularizer added to the discriminator's cost."""

    kind: Literal["none", "gradient", "r1"] = "none"   # gradient: WGAN-GP, two-sided; r1: Mescheder et al. 2018
    weight: float = 10.0              # lambda of WGAN-GP / gamma of R1


@dataclass
class InstanceNoise:
    """Gaussian noise added to D's inputs (real and fake): sigma_t = std * max(0, 1 - t / anneal_steps)."""

    std: float = 0.0                  # sigma_0, in the units of D's inputs (images in [-1, 1]); 0: off
    anneal_steps: int = 0             # T: sigma reaches 0 at step T; 0: constant std

    def validate(self) -> None:
        if self.std < 0 or self.anneal_steps < 0:
            raise ConfigError("model.instance_noise.std and .anneal_steps must be >= 0")

    def at(self, step: int) -> float:
        if self.anneal_steps == 0:
            return self.std
        return self.std * max(0.0, 1.0 - step / self.anneal_steps)


@dataclass
class TopK:
    """Top-k generator update (Sinha et al. 2020): J(G) averages over the k fakes with the highest
    D outputs only, k = round(n * max(decay ** (step // decay_steps), min_fraction)) of n fakes."""

    min_fraction: float = 1.0         # nu, the fraction k anneals down to; 1.0: off (every fake)
    decay: float = 0.99               # gamma, applied once per decay_steps (the paper: once per epoch)
    decay_steps: int = 1000           # steps between decays (an epoch is n_data / batch_size steps)

    def validate(self) -> None:
        if not 0.0 < self.min_fraction <= 1.0:
            raise ConfigError(f"model.top_k.min_fraction must be in (0, 1] (1: off, the paper: 0.5), "
                              f"got {self.min_fraction}")
        if not 0.0 < self.decay <= 1.0 or self.decay_steps < 1:
            raise ConfigError(f"model.top_k.decay must be in (0, 1] and model.top_k.decay_steps >= 1, "
                              f"got {self.decay} and {self.decay_steps}")

    def k(self, n: int, step: int) -> int:
        """How many of n fakes G's update uses at this step (n itself while min_fraction is 1)."""
        return max(1, round(n * max(self.decay ** (step // self.decay_steps), self.min_fraction)))

    def select(self, scores: torch.Tensor, step: int) -> torch.Tensor:
        """D's outputs on the fakes (..., n) -> the k highest along the last dimension, for J(G)."""
        return top_k_scores(scores, self.k(scores.shape[-1], step))


@dataclass
class GANConfig:
    loss: GanLossName = "non-saturating"
    latent_dim: int = 100
    d_steps: int = 1                  # k of Goodfellow et al.'s Algorithm 1: D steps per G step
    clip: float | None = None         # WGAN: clip D's weights to [-c, c] after each D step
    penalty: Penalty = field(default_factory=Penalty)
    nets: GANNets = field(default_factory=GANNets)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="adam", lr=2e-4, betas=(0.5, 0.999)))
    d_optim: OptimConfig | None = None  # D's optimizer when it differs from G's (default: same as optim)
    conditional: bool = False         # cGAN: condition G and D on the data's labels
    pack: int = 1                     # PacGAN: D sees `pack` samples at once (1: a plain GAN)
    ema: float = 0.0                  # decay of the generator's exponential moving average (0: off; e.g. 0.999)
    label_smoothing: float = 0.0      # one-sided: D's target for reals is 1 - label_smoothing (e.g. 0.1)
    instance_noise: InstanceNoise = field(default_factory=InstanceNoise)
    reuse_fakes: bool = False         # G's update reuses the last D step's z (PyTorch-examples DCGAN): one G pass less
    top_k: TopK = field(default_factory=TopK)  # G's update from the fakes D scores highest (off by default)
    ortho_reg: float = 0.0            # beta of G's orthogonal regularization (BigGAN: 1e-4; 0: off)

    @property
    def differentiates_gradients(self) -> bool:
        """A gradient penalty or R1 trains D on a gradient: a double backward, which torch.compile cannot do."""
        return self.penalty.kind != "none"

    def validate(self) -> None:
        self.validate_game()
        if self.penalty.kind == "gradient" and self.nets.discriminator_norm == "batch" \
                and self.nets.discriminator == "dcgan":
            raise ConfigError("the gradient penalty is per example and breaks with batch norm in the critic; "
                              "set model.nets.discriminator_norm=none (or layer)")

    def validate_game(self) -> None:
        """The checks that do not depend on the architecture (shared with GAN variants that have their own nets)."""
        if self.d_steps < 1:
            raise ConfigError(f"model.d_steps must be >= 1, got {self.d_steps}")
        if self.latent_dim < 1:
            raise ConfigError(f"model.latent_dim must be >= 1, got {self.latent_dim}")
        if self.pack < 1:
            raise ConfigError(f"model.pack must be >= 1, got {self.pack}")
        if self.pack > 1 and self.conditional:
            raise ConfigError("model.pack > 1 (PacGAN) is not supported for conditional GANs")
        self.top_k.validate()
        check_ema_decay(self.ema)
        if self.ortho_reg < 0:
            raise ConfigError(f"model.ortho_reg is a penalty's weight beta >= 0 (BigGAN: 1e-4), got {self.ortho_reg}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"model.label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.label_smoothing and self.loss not in CROSS_ENTROPY_LOSSES:
            raise ConfigError(f"model.label_smoothing applies to the cross-entropy losses "
                              f"({', '.join(CROSS_ENTROPY_LOSSES)}), not to '{self.loss}'")


def _image_net(shape) -> bool:
    return len(shape) == 3


@register
class GAN(Algorithm):
    """Generator G(z) and discriminator D(x) trained by alternating updates."""

    name = "gan"
    Config = GANConfig
    moving_averages = ("G_ema",)
    data_kinds: tuple[str, ...] = ("image", "points")

    def __init__(self, cfg: GANConfig, data: DataSpec):
        super().__init__(cfg, data)
        if data.kind not in self.data_kinds:
            raise ValueError(f"the {self.name} algorithm works on {' or '.join(self.data_kinds)}, not {data.kind}")
        if cfg.conditional and not data.num_classes:
            raise ValueError("model.conditional=true needs a labelled dataset (digits, mnist, ring8, ...)")
        self.latent_dim = cfg.latent_dim
        self.num_classes = data.num_classes if cfg.conditional else 0
        self.G, self.D = self.build_nets()
        self.G_ema = moving_average_copy(self.G) if cfg.ema > 0 else None
        self.loss = get_gan_loss(cfg.loss)
        self.batches_per_step = cfg.d_steps

    # ------------------------------------------------------------------ networks

    def build_nets(self) -> tuple[nn.Module, nn.Module]:
        """G: z (N, latent_dim) [, y] -> x in D's input space; D: x (N/pack, pack*C, ...) [, y] -> (N/pack,)."""
        cfg, n, data, k = self.cfg, self.cfg.nets, self.data, self.num_classes
        if n.generator == "dcgan":
            if not _image_net(data.shape):
                raise ValueError("dcgan networks need images; use model.nets.generator=mlp for points")
            G = DCGANGenerator(cfg.latent_dim, data.shape, width=n.width, num_classes=k, upsample=n.upsample,
                               fc_width=n.fc_width, projection_norm=n.projection_norm)
        else:
            G = MLPGenerator(cfg.latent_dim, data.shape, n.hidden, num_classes=k,
                             norm=None if n.generator_norm == "none" else n.generator_norm,
                             out_activation="tanh" if data.kind == "image" else None)
        d_shape = (data.shape[0] * cfg.pack,) + tuple(data.shape[1:])
        if n.discriminator == "dcgan":
            if not _image_net(data.shape):
                raise ValueError("dcgan networks need images; use model.nets.discriminator=mlp for points")
            D = DCGANDiscriminator(d_shape, width=n.width, norm=n.discriminator_norm, num_classes=k,
                                   spectral_norm=n.spectral_norm, fc_width=n.fc_width)
        else:
            D = MLPDiscriminator(math.prod(d_shape), n.d_hidden if n.d_hidden is not None else n.hidden,
                                 num_classes=k, dropout=n.d_dropout, spectral_norm=n.spectral_norm)
        return G, D

    def configure_optimizers(self):
        d_optim = self.cfg.d_optim or self.cfg.optim
        return {"D": d_optim.build(self.D.parameters()), "G": self.cfg.optim.build(self.G.parameters())}

    # ------------------------------------------------------------------ data <-> network space

    def prior(self, n: int, generator: torch.Generator | None = None, truncation: float | None = None) -> torch.Tensor:
        """z ~ N(0, I); with truncation=b every |z_i| <= b (the truncation trick)."""
        return standard_normal(n, self.cfg.latent_dim, truncation=truncation, generator=generator, device=self.device)

    def to_net(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] -> [-1, 1], the range of G's tanh; points unchanged."""
        return x * 2 - 1 if self.data.kind == "image" else x

    def from_net(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2).clamp(0, 1) if self.data.kind == "image" else x

    def _y(self, y: torch.Tensor | None) -> dict:
        """Keyword arguments that pass labels to G and D in a conditional GAN (none otherwise)."""
        if not self.num_classes:
            return {}
        if y is None:
            raise ValueError("a conditional GAN trains on labelled data; this batch has no labels")
        return {"y": y}

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """PacGAN: (N, C, ...) -> (N/m, m*C, ...), m = cfg.pack consecutive samples side by side."""
        m = self.cfg.pack
        if m == 1:
            return x
        if len(x) % m:
            raise ConfigError(f"PacGAN with model.pack={m} needs a batch size divisible by {m}, got {len(x)}")
        return x.reshape(len(x) // m, m * x.shape[1], *x.shape[2:])

    def discriminate(self, x: torch.Tensor, **y) -> torch.Tensor:
        return self.D(self.pack(x), **y)

    def penalty(self, real: torch.Tensor, fake: torch.Tensor, **y) -> torch.Tensor | float:
        p = self.cfg.penalty
        if p.kind == "gradient":
            return gradient_penalty(self.D, self.pack(real), self.pack(fake), weight=p.weight, **y)
        if p.kind == "r1":
            return r1_penalty(self.D, self.pack(real), gamma=p.weight, **y)
        return 0.0

    def update_ema(self, step: int) -> None:
        """theta_ema <- b theta_ema + (1 - b) theta, b = min(ema, (1 + step) / (10 + step)) (buffers, e.g.
        batch-norm statistics, are copied)."""
        if self.G_ema is not None:
            update_moving_average(self.G_ema, self.G, self.cfg.ema, step)

    # ------------------------------------------------------------------ the algorithm box

    def train_step(self, batch: Batch, opt: Optimizers, step: int) -> dict:
        """Goodfellow et al. 2014, Algorithm 1, with k = d_steps:

            for k steps:  sample {x} ~ p_data and {z} ~ p(z); descend J(D) + penalty
                          (WGAN: then clip D's weights to [-c, c])
            then:         sample {z} ~ p(z); descend J(G)
                          (model.top_k: J(G) over the k fakes with the highest D(G(z)) only;
                           model.ortho_reg: + beta sum_W ||W W^T (.) (1 - I)||_F^2 over G's weights)

        J(D), J(G) come from the configured loss, e.g. minimax J(D) = -E log D(x) - E log(1 - D(G(z))).
        A conditional GAN gives the real minibatch's labels y to D and to G (fakes G(z|y)).
        With model.reuse_fakes, G's update takes the last D step's {z} instead of fresh ones, as
        the PyTorch-examples DCGAN loop does: one forward pass of G less per step.
        """
        cfg = self.cfg
        sigma = cfg.instance_noise.at(step)
        noisy = (lambda t: t + sigma * torch.randn_like(t)) if sigma > 0 else (lambda t: t)
        d_kw = {"real_target": 1.0 - cfg.label_smoothing} if cfg.label_smoothing else {}
        for i, real in enumerate(batch.split(cfg.d_steps)):
            y = self._y(real.y)
            x = noisy(self.to_net(real.x))
            keep_graph = cfg.reuse_fakes and i == cfg.d_steps - 1
            with torch.set_grad_enabled(keep_graph):
                g_fake = noisy(self.G(self.prior(len(x)), **y))
            fake = g_fake.detach()
            d_real, d_fake = self.discriminate(x, **y), self.discriminate(fake, **y)
            d_loss = self.loss.d(d_real, d_fake, **d_kw) + self.penalty(x, fake, **y)
            opt.step("D", d_loss)
            if cfg.clip is not None:
                clip_weights_(self.D, cfg.clip)
        if not cfg.reuse_fakes:
            g_fake = noisy(self.G(self.prior(len(x)), **y))
        d_g_fake = self.discriminate(g_fake, **y)
        g_loss = self.loss.g(cfg.top_k.select(d_g_fake, step))
        ortho = orthogonal_regularization(self.G, cfg.ortho_reg) if cfg.ortho_reg else 0.0
        opt.step("G", g_loss + ortho)
        self.update_ema(step)
        logs = {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}
        if sigma > 0:
            logs["noise_std"] = sigma
        if cfg.ortho_reg:
            logs["ortho_reg"] = ortho.detach()
        return logs

    # ------------------------------------------------------------------ sampling (the latent protocol)

    @property
    def sampling_net(self) -> nn.Module:
        """The network that samples: the moving average of G when model.ema > 0, else G."""
        return self.G_ema if self.G_ema is not None else self.G

    def labels(self, n: int, cond=None) -> torch.Tensor | None:
        """Labels for n samples: `cond` (an int, or n ints) as a tensor; for cond=None a class grid
        (row r of a sqrt(n)-wide grid holds class r mod K). None for an unconditional model."""
        if not self.num_classes:
            if cond is not None:
                raise ValueError(f"this {self.name} model is unconditional; it takes no cond (labels)")
            return None
        if cond is None:
            cols = math.ceil(math.sqrt(n))
            return (torch.arange(n, device=self.device) // cols) % self.num_classes
        y = torch.as_tensor(cond, device=self.device, dtype=torch.long)
        y = y.expand(n) if y.dim() == 0 else y
        if y.shape != (n,):
            raise ValueError(f"cond must be one class or {n} classes, got shape {tuple(y.shape)}")
        if (y < 0).any() or (y >= self.num_classes).any():
            raise ValueError(f"classes must be in 0..{self.num_classes - 1}")
        return y

    def generate(self, z: torch.Tensor, cond=None) -> torch.Tensor:
        """x = G(z [| y]) in data space (images in [0, 1], points, ...); differentiable in z."""
        y = self.labels(len(z), cond)
        return self.from_net(self.sampling_net(z, **({"y": y} if y is not None else {})))

    @torch.no_grad()
    def sample(self, n: int, *, cond=None, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generate(self.prior(n, generator), cond=cond)

    def describe_prior(self) -> dict:
        """z ~ N(0, I), as export writes it down."""
        return {"kind": "normal", "mean": [0.0] * self.latent_dim, "std": [1.0] * self.latent_dim}

    @property
    def has_features(self) -> bool:
        """Whether D has a feature layer (a conv D does, an MLP D does not)."""
        return hasattr(self.D, "features")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """D's penultimate layer for x in data space (where has_features)."""
        return self.D.features(self.to_net(x))

    @torch.no_grad()
    def log_density_ratio(self, x: torch.Tensor) -> torch.Tensor:
        """D's logit D~(x) for samples x in data space, (N,). For the cross-entropy losses the optimal
        D is p_data / (p_data + p_G) (Goodfellow et al. 2014, Prop. 1), so D~ estimates log p_data / p_G;
        genzoo.sampling.discriminator_rejection_sample uses it. Refused where D's optimum is another
        function: other losses, label smoothing, instance noise, packing, labels."""
        if self.cfg.loss not in CROSS_ENTROPY_LOSSES:
            raise GenzooError(f"D's output estimates log p_data / p_G only for the cross-entropy losses "
                              f"({', '.join(CROSS_ENTROPY_LOSSES)}); this model's D was trained with "
                              f"'{self.cfg.loss}'")
        if self.cfg.label_smoothing:
            raise GenzooError(f"D was trained with one-sided label smoothing (model.label_smoothing="
                              f"{self.cfg.label_smoothing}): its optimum (1 - s) p_data / (p_data + p_G) does not "
                              f"give log p_data / p_G; train with model.label_smoothing=0 to rejection-sample")
        if self.cfg.instance_noise.std:
            raise GenzooError("D was trained with instance noise (model.instance_noise.std > 0): it estimates the "
                              "ratio of the noised densities, not p_data / p_G; train without it to rejection-sample")
        if self.cfg.pack > 1 or self.num_classes:
            raise GenzooError("D's density ratio is per sample only for an unconditional GAN without packing "
                              "(model.pack=1, model.conditional=false)")
        with eval_mode(self.D):  # no dropout, batch norm with running statistics
            return self.D(self.to_net(x))
